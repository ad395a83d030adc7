"""A crashed OCR worker is restarted within the same run and its items are retried, with real OCR.

One test kills the worker from outside (SIGKILL) partway through; by the end of that same run every
image has OCR output. Another runs an OCR that segfaults on one image every time: that image is
recorded failed (not cached, so a later run retries it) and every other image is read.
"""

from __future__ import annotations

import os
import signal
import textwrap
import threading
from pathlib import Path

import psutil
import pytest

from _featurize_fixtures import WORDS, caption_image, image_workspace
from postlens.encoders.identity import installed_identity
from postlens.encoders.image.ocr import OCREncoder
from postlens.encoders.registry import SPECS, EncoderSpec
from postlens.pipeline.featurize import featurize
from postlens.pipeline.featurize_worker import CRASHED
from postlens.encoders.base import cache_key
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace

pytestmark = pytest.mark.slow


def _worker_pids() -> list[int]:
    """Spawned multiprocessing workers of this process (not the resource tracker)."""
    return [p.pid for p in psutil.Process().children(recursive=True)
            if "spawn_main" in " ".join(p.cmdline())]


def _image_keys(ws_path: Path) -> dict[str, str]:
    with Workspace(ws_path, read_only=True) as ws:
        return dict(ws.db.execute("SELECT sha256, post_id FROM media WHERE status = 'stored'").fetchall())


def test_worker_killed_midway_every_image_still_gets_ocr(tmp_path: Path) -> None:
    ws_path = image_workspace(tmp_path, 12)
    killed: list[int] = []
    first_done = threading.Event()

    def progress(name: str, done: int, total: int) -> None:
        if name == "ocr" and 0 < done < total:
            first_done.set()

    def killer() -> None:
        if first_done.wait(timeout=600):
            for pid in _worker_pids():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    summary = featurize(ws_path, encoders=["ocr"], batch_size=8, progress=progress)  # chunks of 2 images
    thread.join(timeout=5)
    assert killed, "the worker was never killed: the test did not test anything"
    run = next(r for r in summary.runs if r.encoder == "ocr")
    assert run.restarts >= 1 and run.errors == 0
    keys = _image_keys(ws_path)
    cache = FeatureCache(ws_path / "features")
    feats = cache.read(installed_identity("ocr").key)
    assert set(feats) == set(keys), "every image has an OCR row by the end of the same run"
    assert all(f.error is None for f in feats.values())
    read = " ".join((f.text or "").lower() for f in feats.values())
    assert sum(word in read for word in WORDS[:12]) >= 10, read
    with Workspace(ws_path, read_only=True) as ws:
        assert ws.db.execute("SELECT count(*) FROM feature_errors").fetchone() == (0,)
        ocr_fields = ws.db.execute("SELECT count(*) FROM text_fields WHERE field = 'ocr'").fetchone()
    assert ocr_fields is not None and ocr_fields[0] >= 10


CRASHY_OCR = textwrap.dedent('''
    import os
    import signal
    from pathlib import Path

    from postlens.encoders.image.ocr import OCREncoder


    class CrashyOCR(OCREncoder):
        """Real OCR, except that a file named in POISON_LIST segfaults the process (a decoder crash)."""

        name = "crashy-ocr"

        def encode(self, items):
            poison = Path(os.environ["POISON_LIST"]).read_text().split()
            for item in items:
                if Path(item).resolve().name in poison:
                    os.kill(os.getpid(), signal.SIGSEGV)
            return super().encode(items)
''')


def test_image_that_crashes_ocr_every_time_fails_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws_path = image_workspace(tmp_path, 8)
    keys = _image_keys(ws_path)
    with Workspace(ws_path, read_only=True) as ws:
        poison_sha, poison_path = ws.db.execute(
            "SELECT sha256, path FROM media WHERE post_id = 'posts:p003'").fetchone()
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "crashy_ocr.py").write_text(CRASHY_OCR)
    poison_list = tmp_path / "poison.txt"
    poison_list.write_text(Path(poison_path).name)
    monkeypatch.syspath_prepend(str(mods))  # spawn hands sys.path and the environment to the worker
    monkeypatch.setenv("POISON_LIST", str(poison_list))
    monkeypatch.setitem(SPECS, "ocr", EncoderSpec("ocr", SPECS["ocr"].modality, "crashy_ocr", "CrashyOCR", "image", "test"))
    crashy_key = cache_key(SPECS["ocr"].build())  # "crashy-ocr@<OCR's settings version>"

    crashy_key = f"crashy-ocr@{OCREncoder().version}"  # CrashyOCR keeps OCR's settings, hence its version
    summary = featurize(ws_path, encoders=["ocr"], batch_size=16)  # chunks of 4: the poison has 3 chunk-mates
    run = next(r for r in summary.runs if r.encoder == "ocr")
    assert run.restarts == 2 and run.errors == 1
    feats = FeatureCache(ws_path / "features").read(crashy_key)
    assert set(feats) == set(keys) - {poison_sha}, "the poison is not cached: a later run retries it"
    assert all(f.error is None for f in feats.values())
    with Workspace(ws_path, read_only=True) as ws:
        rows = ws.db.execute("SELECT key, encoder, post_id, error FROM feature_errors").fetchall()
    assert len(rows) == 1
    key, encoder, post_id, error = rows[0]
    assert (key, encoder, post_id) == (poison_sha, crashy_key, "posts:p003")
    assert error.startswith(f"{CRASHED}:") and "SIGSEGV" in error

    poison_list.write_text("")  # the decoder got fixed: the next run retries the item and clears its error
    again = featurize(ws_path, encoders=["ocr"], batch_size=16)
    run = next(r for r in again.runs if r.encoder == "ocr")
    assert (run.computed, run.errors, run.restarts) == (1, 0, 0)
    assert set(FeatureCache(ws_path / "features").read(crashy_key)) == set(keys)
    with Workspace(ws_path, read_only=True) as ws:
        assert ws.db.execute("SELECT count(*) FROM feature_errors").fetchone() == (0,)


def test_caption_fixture_is_readable(tmp_path: Path) -> None:
    """Guards the tests above: the fixture's images carry words OCR can read."""
    from postlens.encoders.image.ocr import OCREncoder

    path = caption_image(tmp_path / "x.png", "harbour")
    assert "harbour" in (OCREncoder(num_threads=1).encode([path])[0].text or "").lower()
