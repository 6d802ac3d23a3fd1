"""Fixtures for the data tests: the shared real MNIST test set and a local HTTP server."""

from __future__ import annotations

import builtins
import errno
import http.server
import socketserver
import threading
from pathlib import Path

import pytest

# CI clones the repository next to shared/, so the data lives at <repo>/../shared/data/mnist.
MNIST_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"shared MNIST data not found at {MNIST_DIR}")
    return MNIST_DIR


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` (name -> bytes) under a few mirror prefixes that misbehave on purpose.

    /missing/NAME   404
    /good/NAME      the file
    /short/NAME     Content-Length of the whole file, but only half the body, then the socket closes
    /cut/NAME       no Content-Length, only half the body (a cut-off stream)
    /wrong/NAME     a whole, well-formed response whose bytes are not the file's
    /drip/NAME      the headers, then one byte every ``server.drip`` seconds (each read is quick,
                    the whole would take hours)
    /stall/NAME     the headers, then nothing until the test ends
    """

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.server.requests.append(self.path)
        prefix, _, name = self.path.strip("/").partition("/")
        body = self.server.files.get(name)
        if body is None or prefix == "missing":
            self.send_error(404)
            return
        if prefix == "wrong":
            body = body[::-1]
        self.send_response(200)
        if prefix != "cut":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if prefix in ("drip", "stall"):
            self.wfile.flush()
            self.trickle(body if prefix == "drip" else b"")
            return
        if prefix in ("short", "cut"):
            body = body[: len(body) // 2]
        self.wfile.write(body)
        self.close_connection = True

    def trickle(self, body: bytes) -> None:
        """A byte per ``server.drip`` seconds (none for an empty body) until the client goes away
        or the test ends (``server.stopping``)."""
        self.close_connection = True
        for i in range(len(body) or 1):
            if self.server.stopping.wait(self.server.drip):
                return
            if not body:
                continue
            try:
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
            except OSError:   # the client gave up, as it should
                return
        self.server.stopping.wait()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server(mnist_dir):
    """A server on 127.0.0.1 (random port) serving the shared MNIST files; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.files = {p.name: p.read_bytes() for p in mnist_dir.glob("*.gz")}
    server.requests = []
    server.drip, server.stopping = 0.05, threading.Event()
    server.daemon_threads = False   # so server_close() joins every handler thread
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


class NotHttp(socketserver.BaseRequestHandler):
    """Answers any request with a line that is not an HTTP status line, then hangs up."""

    def handle(self):
        self.request.recv(4096)
        self.request.sendall(b"SSH-2.0-OpenSSH_9.6 hello\r\n\r\n")


@pytest.fixture
def not_http_server():
    """A TCP server on 127.0.0.1 that does not speak HTTP; yields its base URL."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), NotHttp)
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class HalfThenDiskFull:
    """A file opened for writing that stores half of the first chunk, then fails like a full disk."""

    def __init__(self, path, mode):
        self.file = builtins.open(path, mode)

    def write(self, data):
        self.file.write(bytes(data)[: len(data) // 2])
        self.file.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def flush(self):
        self.file.flush()

    def close(self):
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


@pytest.fixture
def disk_full(monkeypatch):
    """``disk_full(module)``: from now on, files that ``module`` opens for writing fail half-way
    through their first write, as on a full disk (files opened for reading are left alone)."""
    def patch(module):
        def fake_open(path, mode="r", *args, **kwargs):
            if "w" in mode:
                return HalfThenDiskFull(path, mode)
            return builtins.open(path, mode, *args, **kwargs)
        monkeypatch.setattr(module, "open", fake_open, raising=False)
    return patch
