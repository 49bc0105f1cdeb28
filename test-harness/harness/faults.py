"""A fault injector standing where the origin would: a tiny HTTP/1.1 server on 127.0.0.1 that
misbehaves on request. It is no S3 (it checks nothing and stores nothing); the tests use it only
to see what Envoy and the filter do when the origin is slow, resets, or is gone.

Each request's path says what it gets:
- `/slow/<seconds>/…`   waits that long (at most 30 s), then answers 200;
- `/stall-body/<seconds>/…` stops reading before the body that long (at most 30 s), as an
                        origin whose disk stalls, then reads it and answers 200;
- `/reset-head/…`       resets the connection (RST) without answering;
- `/reset-partial/…`    sends half a status line, then resets;
- `/reset-body/…`       sends a 200 head announcing 1000 bytes, 10 of them, then resets;
- anything else         200 `ok` at once (health checks to `/` included).
Request bodies are read (by Content-Length) before answering."""

import socket
import socketserver
import struct
import threading
import time

MAX_SLOW_SECONDS = 30


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock: socket.socket = self.request
        sock.settimeout(MAX_SLOW_SECONDS + 5)
        self.server.connections.add(sock)
        buffered = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffered:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffered += data
                head, _, buffered = buffered.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "/"
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip() or 0)
                if path.startswith("/stall-body/"):
                    time.sleep(min(float(path.split("/")[2]), MAX_SLOW_SECONDS))
                while len(buffered) < length:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buffered += data
                buffered = buffered[length:]
                self.server.seen.append(path)
                if not self._answer(sock, path):
                    return
        except OSError:
            return
        finally:
            self.server.connections.discard(sock)

    def _answer(self, sock: socket.socket, path: str) -> bool:
        parts = path.split("/")
        if path.startswith("/slow/"):
            time.sleep(min(float(parts[2]), MAX_SLOW_SECONDS))
        elif path.startswith("/reset-head/"):
            _reset(sock)
            return False
        elif path.startswith("/reset-partial/"):
            sock.sendall(b"HTTP/1.1 20")
            _reset(sock)
            return False
        elif path.startswith("/reset-body/"):
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
            time.sleep(0.2)
            _reset(sock)
            return False
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
        return True


def _reset(sock: socket.socket) -> None:
    """Closes with a TCP reset, as a crashing server does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class FaultyOrigin:
    """The fault injector, on `port` (a free one by default); `stop()` takes it down, `start()`
    brings it back on the same port."""

    def __init__(self, port: int = 0):
        self.port = port
        self.seen: list[str] = []
        self._server = None
        self.start()

    def start(self) -> None:
        self._server = _Server(("127.0.0.1", self.port), _Handler, bind_and_activate=False)
        # A small receive window, as a busy origin's: what it does not read backs up into
        # Envoy, not into the kernel's buffers.
        self._server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self._server.server_bind()
        self._server.server_activate()
        self._server.seen = self.seen
        self._server.connections = set()
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            # Down means down: connections Envoy keeps alive to it go too.
            for sock in list(self._server.connections):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._server = None

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
