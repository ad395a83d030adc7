"""`postlens featurize` as a user runs it: Ctrl-C and SIGTERM stop it and a re-run resumes; `stats` works meanwhile.

Each test starts a real `postlens featurize` subprocess (OCR in its worker) on a real workspace and
acts once the first OCR results are in the feature cache, i.e. while models are working.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest
from _featurize_fixtures import child_env, held_ocr_env, image_workspace, postlens_command

pytestmark = pytest.mark.slow

N_IMAGES = 30
N_IMAGES_READERS = 40


@pytest.fixture(scope="module")
def workspace_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return image_workspace(tmp_path_factory.mktemp("signals"), N_IMAGES)


@pytest.fixture
def ws_path(workspace_template: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(workspace_template, tmp_path / "ws"))


@pytest.fixture(scope="module")
def large_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Posts for the readers to count; the OCR worker holds after its first batch until the test stops it."""
    return image_workspace(tmp_path_factory.mktemp("readers"), N_IMAGES_READERS)


def _default_sigint() -> None:
    """A terminal's child gets Ctrl-C's default action; a test runner's worker may ignore SIGINT, and an
    ignored signal is inherited (Python then never installs its KeyboardInterrupt handler)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_featurize(ws_path: Path) -> subprocess.Popen[str]:
    """OCR only, four images per worker call, in its own session (so a signal can go to the whole group).

    After its first batch the OCR worker holds (``held_ocr_env``) until the test is done acting: on a
    busy machine featurize could otherwise finish before the signal or the readers arrive."""
    env, _ = held_ocr_env(ws_path.parent / "hold")
    return subprocess.Popen(
        postlens_command("featurize", "--workspace", str(ws_path), "--encoders", "ocr", "--batch-size", "4"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
        preexec_fn=_default_sigint,
    )


def _parts(ws_path: Path) -> list[Path]:
    return sorted((ws_path / "features").glob("rapidocr@*/part-*.parquet"))


def _wait_for_model_work(proc: subprocess.Popen[str], ws_path: Path) -> list[int]:
    """Block until the first OCR result is cached; return the worker pids (spawned children)."""
    deadline = time.monotonic() + 600
    while not _parts(ws_path):
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"featurize ended before any OCR result: {proc.returncode}\n{out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("no OCR result after 600 s")
        time.sleep(0.1)
    return [c.pid for c in psutil.Process(proc.pid).children(recursive=True) if "spawn_main" in " ".join(c.cmdline())]


def _cached_keys(ws_path: Path) -> list[str]:
    return [k for part in _parts(ws_path) for k in pq.read_table(part, columns=["key"]).column("key").to_pylist()]


@pytest.mark.parametrize(
    ("sig", "exit_code", "said"), [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_signal_stops_featurize_and_a_rerun_resumes(
    ws_path: Path, sig: signal.Signals, exit_code: int, said: str
) -> None:
    proc = _start_featurize(ws_path)
    workers = _wait_for_model_work(proc, ws_path)
    assert workers, "OCR runs in a worker process"
    os.killpg(proc.pid, sig)  # as a terminal's Ctrl-C does: the whole process group gets it
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"featurize did not stop within 120 s of {sig.name}")
    assert proc.returncode == exit_code, (out, err)
    assert f"featurize stopped ({said})" in out and "saved in the feature cache" in out
    assert "leaked" not in err and "Traceback" not in err, err
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in workers
    ), "the worker was terminated"
    saved = _cached_keys(ws_path)
    assert 0 < len(saved) < N_IMAGES, "stopped partway, with what was done kept"
    said_saved = re.search(r"the ([\d,]+) items computed before it are saved", " ".join(out.split()))
    assert said_saved and int(said_saved.group(1).replace(",", "")) == len(saved), "the message tells the truth"

    rerun = subprocess.run(
        postlens_command("featurize", "--workspace", str(ws_path), "--encoders", "ocr", "--batch-size", "4"),
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=900,
    )
    assert rerun.returncode == 0, rerun.stderr
    keys = _cached_keys(ws_path)
    assert len(set(keys)) == N_IMAGES, "the re-run completed the job"
    assert len(keys) == N_IMAGES, "and computed only what was missing (no item twice)"


def test_stats_and_sql_work_while_featurize_runs(large_workspace: Path) -> None:
    ws_path = large_workspace
    proc = _start_featurize(ws_path)
    try:
        _wait_for_model_work(proc, ws_path)
        stats = subprocess.run(
            postlens_command("stats", "--workspace", str(ws_path)),
            capture_output=True,
            text=True,
            env=child_env(),
            timeout=300,
        )
        sql = subprocess.run(
            postlens_command("sql", "select count(*) as n from posts", "--workspace", str(ws_path)),
            capture_output=True,
            text=True,
            env=child_env(),
            timeout=300,
        )
        still_running = proc.poll() is None
        os.killpg(proc.pid, signal.SIGINT)  # the readers are what this test is about: stop it here
        _out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert still_running, "featurize finished before the readers ran: the test did not test anything"
    assert stats.returncode == 0, stats.stderr
    assert f"{N_IMAGES_READERS} posts" in stats.stdout
    assert sql.returncode == 0, sql.stderr
    assert str(N_IMAGES_READERS) in sql.stdout
    assert proc.returncode == 130, err
