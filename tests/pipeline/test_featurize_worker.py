"""The supervised encoder worker: a crash costs a restart and a retry; a poisonous item only takes itself down.

The encoder here is a stand-in written to a module on the path (the worker is a real spawned process
that imports it): it reads a file's first line, and kills its own process with SIGSEGV on a file whose
name says "poison", the way a decoder crash would.
"""

from __future__ import annotations

import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from postlens.encoders.base import Features
from postlens.encoders.registry import EncoderSpec
from postlens.pipeline.featurize_worker import CRASHED, RAISED, SupervisedRun
from postlens.types import Modality

CRASHY = textwrap.dedent("""
    import os
    import signal
    import time
    from pathlib import Path

    from postlens.encoders.base import Features
    from postlens.types import Modality


    class FirstLine:
        name = "first-line"
        version = "1"
        modality = Modality.IMAGE
        dim = 0
        num_threads = 1  # set by the worker from the parent's hint; "threads" items report it

        def encode(self, items):
            out = []
            for item in items:
                name = Path(item).name
                if "poison" in name:
                    os.kill(os.getpid(), signal.SIGSEGV)
                if "hangs" in name:
                    while True:
                        pass
                if "held" in name:  # waits while the test holds the gate (a file beside the item)
                    while (Path(item).parent / "gate").exists():
                        time.sleep(0.01)
                if "raises" in name:
                    raise RuntimeError("broken contract on " + name)
                if "once" in name and not Path(str(item) + ".seen").exists():
                    Path(str(item) + ".seen").write_text("crashed here once")
                    os._exit(3)
                if "threads" in name:
                    out.append(Features(text=f"threads={self.num_threads}"))
                    continue
                out.append(Features(text=Path(item).read_text().splitlines()[0]))
            return out
""")


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EncoderSpec:
    module_dir = tmp_path / "mods"
    module_dir.mkdir()
    (module_dir / "crashy_first_line.py").write_text(CRASHY)
    monkeypatch.syspath_prepend(str(module_dir))  # spawn passes sys.path on to the worker
    return EncoderSpec("first-line", Modality.IMAGE, "crashy_first_line", "FirstLine", "image", "test stand-in")


def _items(folder: Path, names: list[str]) -> list[tuple[str, Any]]:
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_text(f"content of {name}\n")
    return [(name, str(folder / name)) for name in names]


def _run(
    spec: EncoderSpec, items: list[tuple[str, Any]], chunk: int, **options: Any
) -> tuple[dict[str, Features], SupervisedRun]:
    got: dict[str, Features] = {}
    lock = threading.Lock()

    def done(chunk_items: list[tuple[str, Any]], feats: list[Features]) -> None:
        with lock:
            got.update((k, f) for (k, _), f in zip(chunk_items, feats))

    run = SupervisedRun(spec, items, chunk, done, **options).start()
    try:
        run.wait()
    finally:
        run.stop()
    return got, run


def test_poisonous_item_fails_alone_after_two_crashes(spec: EncoderSpec, tmp_path: Path) -> None:
    names = [f"item{i}.txt" for i in range(9)]
    names.insert(5, "poison.txt")
    got, run = _run(spec, _items(tmp_path / "in", names), chunk=4)
    assert set(got) == set(names) - {"poison.txt"}, "every other item comes back, including the poison's chunk-mates"
    assert all(got[n].text == f"content of {n}" for n in got)
    assert [key for key, _ in run.failed] == ["poison.txt"]
    error = run.failed[0][1]
    assert error.startswith(f"{CRASHED}:") and "SIGSEGV" in error and "2 times" in error
    assert run.restarts == 2, "one crash with its chunk, one alone"


def test_item_that_crashes_once_succeeds_on_retry(spec: EncoderSpec, tmp_path: Path) -> None:
    names = ["a.txt", "b.txt", "once.txt", "c.txt", "d.txt"]
    got, run = _run(spec, _items(tmp_path / "in", names), chunk=5)
    assert set(got) == set(names) and run.failed == []
    assert got["once.txt"].text == "content of once.txt"
    assert run.restarts == 1


def test_item_that_hangs_the_worker_fails_alone(spec: EncoderSpec, tmp_path: Path) -> None:
    names = ["a.txt", "hangs.txt", "b.txt"]
    got, run = _run(spec, _items(tmp_path / "in", names), chunk=3, item_timeout=5.0)
    assert set(got) == {"a.txt", "b.txt"}
    assert [k for k, _ in run.failed] == ["hangs.txt"]
    assert "was stopped" in run.failed[0][1] and run.failed[0][1].startswith(f"{CRASHED}:")


def test_encoder_that_raises_is_isolated_and_not_returned(spec: EncoderSpec, tmp_path: Path) -> None:
    names = ["a.txt", "raises.txt", "b.txt"]
    got, run = _run(spec, _items(tmp_path / "in", names), chunk=3)
    assert set(got) == {"a.txt", "b.txt"}
    assert [k for k, _ in run.failed] == ["raises.txt"]
    assert run.failed[0][1].startswith(f"{RAISED}:") and "broken contract" in run.failed[0][1]


def test_stop_terminates_and_joins_the_worker(spec: EncoderSpec, tmp_path: Path) -> None:
    items = _items(tmp_path / "in", ["item0.txt"] + [f"held{i}.txt" for i in range(1, 200)])
    (tmp_path / "in" / "gate").write_text("the worker waits on the held items while this exists")
    first_chunk = threading.Event()
    run = SupervisedRun(spec, items, 1, lambda chunk, feats: first_chunk.set()).start()
    try:
        assert first_chunk.wait(timeout=120), "the worker never answered"
        process = run.worker.process if run.worker is not None else None
    finally:
        run.stop()
    assert run.pending > 0, "stop cancels what was not sent yet"
    assert run.worker is None
    assert process is not None
    with pytest.raises(ValueError):  # closed: it was joined and released
        process.is_alive()


def test_encoder_that_always_crashes_stops_instead_of_restarting_forever(spec: EncoderSpec, tmp_path: Path) -> None:
    from postlens.errors import EncoderError
    from postlens.pipeline.featurize_worker import MAX_CRASHES_IN_A_ROW

    items = _items(tmp_path / "in", [f"poison{i}.txt" for i in range(40)])
    run = SupervisedRun(spec, items, 4, lambda chunk, feats: None).start()
    try:
        with pytest.raises(EncoderError, match=r"crashed .* times in a row"):
            run.wait()
    finally:
        run.stop()
    assert run.restarts == MAX_CRASHES_IN_A_ROW
    assert len(run.failed) + run.pending == len(items), "nothing is lost: failed, or left for a later run"


def test_worker_uses_the_cores_the_parent_lends(spec: EncoderSpec, tmp_path: Path) -> None:
    """featurize lends every core to the OCR worker once its own encoders are done: the hint reaches
    the encoder's ``num_threads`` for the next chunk."""
    got, _ = _run(spec, _items(tmp_path / "one", ["threads-a.txt"]), chunk=1)
    assert got["threads-a.txt"].text == "threads=1"
    got, _ = _run(spec, _items(tmp_path / "lent", ["threads-b.txt"]), chunk=1, threads=3)
    assert got["threads-b.txt"].text == "threads=3"
