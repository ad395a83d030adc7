"""A real HTTP server on 127.0.0.1 for connector tests: routes are plain functions, faults are scripted.

``ApiServer.route(method, path, handler)``: ``handler(request) -> Reply``. ``script(path, [reply, ...])``
queues one-shot replies (a 429, a 500, a page that is not JSON) served before the route's own
answer. Every request is logged (method, path, query, headers) so tests can assert what was sent.
"""

from __future__ import annotations

import io
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from PIL import Image


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, orjson.dumps(value), {"Content-Type": "application/json", **(headers or {})})


Handler = Callable[[Request], Reply]


class ApiServer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.scripted: dict[str, deque[Reply]] = defaultdict(deque)
        self.log: list[Request] = []
        self.chunks_sent: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method,
                    parts.path,
                    {k: v[-1] for k, v in parse_qs(parts.query).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                reply = server.answer(request)
                try:
                    self._send(reply, parts.path)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _send(self, reply: Reply, path: str) -> None:
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if isinstance(reply.body, bytes):
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in reply.body:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                    server.chunks_sent[path] += 1
                self.wfile.write(b"0\r\n\r\n")

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._http.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def start(self) -> ApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def script(self, path: str, replies: Iterable[Reply]) -> None:
        self.scripted[path].extend(replies)

    def answer(self, request: Request) -> Reply:
        with self._lock:
            self.log.append(request)
            queued = self.scripted.get(request.path)
            if queued:
                return queued.popleft()
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return Reply.json({"error": f"no route {request.method} {request.path}"}, 404)
        return handler(request)

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.log if r.path == path]


def png_bytes(seed: int, size: int = 8) -> bytes:
    """A small real PNG, different per seed (so each is stored as its own file)."""
    image = Image.new("RGB", (size, size), ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def endless(chunk: int = 64 * 1024, total: int = 64 * 1024 * 1024, head: bytes = b"") -> Iterator[bytes]:
    """A streamed body of ``total`` bytes (a PNG signature first, so it looks like media)."""
    yield head + b"\0" * (chunk - len(head))
    sent = chunk
    while sent < total:
        yield b"\0" * chunk
        sent += chunk
