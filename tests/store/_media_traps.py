"""Shared by the media confinement tests: a folder of traps, and the audited subprocess that imports it."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from PIL import Image

import postlens

CHILD = Path(__file__).with_name("_media_audit_child.py")


def run_child(spec: dict[str, Any], tmp_path: Path, timeout: float = 600) -> dict[str, Any]:
    """Run the audited imports in a subprocess (a FIFO opened by mistake would hang it: timeout)."""
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(Path(postlens.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]),
    )
    done = subprocess.run(
        [sys.executable, str(CHILD), str(spec_file)], capture_output=True, text=True, timeout=timeout, env=env
    )
    assert done.returncode == 0, done.stderr[-4000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def jpeg(path: Path, color: str) -> bytes:
    Image.new("RGB", (16, 12), color).save(path, "JPEG")
    return path.read_bytes()


def build_tree(base: Path) -> dict[str, Any]:
    """``outside/`` holds the secrets; ``root/`` holds good media and every kind of trap pointing out."""
    outside, root = base / "outside", base / "root"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    secret = jpeg(outside / "secret.jpg", "blue")
    (outside / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    os.mkfifo(outside / "fifo")
    jpeg(root / "good.jpg", "red")
    jpeg(root / "sub" / "inner.jpg", "green")
    (root / "link.jpg").symlink_to(outside / "secret.jpg")
    (root / "dirlink").symlink_to(outside, target_is_directory=True)
    (root / "inlink.jpg").symlink_to("good.jpg")  # inside -> inside: allowed
    os.mkfifo(root / "pipe.jpg")
    (root / "outpipe.jpg").symlink_to(outside / "fifo")
    (root / "devzero.jpg").symlink_to("/dev/zero")
    (root / "dangling.jpg").symlink_to(base / "nowhere.jpg")
    try:
        os.mknod(root / "chardev.jpg", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError):
        (root / "chardev.jpg").symlink_to("/dev/null")
    return {"outside": outside, "root": root, "secret_sha": hashlib.sha256(secret).hexdigest()}
