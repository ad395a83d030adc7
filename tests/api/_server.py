"""A real ``postlens serve`` in a subprocess on a free 127.0.0.1 port (used by the API tests and bench/api.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SRC = Path(__file__).resolve().parents[2] / "src"
MAX_UPLOAD = 2_000_000
"""The tests' server limits: small, so that they can be hit cheaply."""
MAX_IMAGE = 1_000_000


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ApiServer:
    """``postlens serve`` with ``args``; ``key`` goes in through the environment as a user would set it."""

    def __init__(self, workspace: Path, *args: str, key: str | None, log: Path, ready_seconds: float = 600) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k != "POSTLENS_API_KEY"}
        env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
        if key is not None:
            env["POSTLENS_API_KEY"] = key
        self.log = log
        self._log_handle = open(log, "wb")  # noqa: SIM115 - open for the server's life, closed in stop()
        command = [
            sys.executable,
            "-c",
            "from postlens.serve.cli import main; main()",
            "serve",
            "--workspace",
            str(workspace),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *args,
        ]
        self.process = subprocess.Popen(command, env=env, stdout=self._log_handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + ready_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postlens serve exited with {self.process.returncode}: {self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"postlens serve did not answer /healthz within {ready_seconds} s: {self.output()}")

    def output(self) -> str:
        self._log_handle.flush()
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None and httpx.get(f"{self.url}/healthz", timeout=30).status_code == 200

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_handle.close()
