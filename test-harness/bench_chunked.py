"""`make bench` (second part): a signed aws-chunked upload (STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
64 KiB chunks) through one Envoy worker with s3-resign, against the same bytes through plain
Envoy and through a wasm filter that only SHA-256-hashes the body with the same `sha2` build
(the ceiling of any filter that verifies the chunks), in one run; throughput and the Envoy
process's peak memory (VmHWM) for two object sizes, to show memory does not grow with the
object. The upstream is a sink that reads and discards the body, so the proxy is what is
measured.

With `--mode unsigned-trailer`, the upload the SDKs send over HTTPS instead
(STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer, 64 KiB chunks), which s3-resign reads
for its framing and trailer without hashing it.

    python test-harness/bench_chunked.py [--gib 1] [--rounds 3] [--mode signed|unsigned-trailer]
                                         [--compare other.wasm ...]
"""

import argparse
import socket
import socketserver
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import Envoy, filter_config_json, render  # noqa: E402
from harness.chunked import SIGNED, UNSIGNED_TRAILER, chunked_put  # noqa: E402
from harness.envoy_config import wasm_filter  # noqa: E402
from harness.paths import probe_wasm  # noqa: E402
from harness.programs import free_port  # noqa: E402

MIB = 1024 * 1024


class Sink(socketserver.ThreadingTCPServer):
    """An HTTP/1.1 origin that reads each request body to its end and answers 200."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int):
        super().__init__(("127.0.0.1", port), SinkHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class SinkHandler(socketserver.BaseRequestHandler):
    def handle(self):
        conn = self.request
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            remaining = length - len(buffer)
            buffer = buffer[length:] if remaining <= 0 else b""
            scratch = bytearray(1 << 20)
            while remaining > 0:
                n = conn.recv_into(scratch, min(len(scratch), remaining))
                if not n:
                    return
                remaining -= n
            conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nETag: "bench"\r\n\r\n')


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def upload(envoy: Envoy, public: str, head: bytes, body: memoryview) -> float:
    """Sends one request; returns MB/s from the first byte sent to the response."""
    with socket.create_connection(("127.0.0.1", envoy.port)) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * MIB)
        start = time.perf_counter()
        s.sendall(head)
        step = 4 * MIB
        for at in range(0, len(body), step):
            s.sendall(body[at:at + step])
        response = s.recv(4096)
        elapsed = time.perf_counter() - start
    if not response.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"{response[:300]!r}\n{envoy.log_text()[-2000:]}")
    return len(body) / elapsed / 1e6


def request_bytes(public: str, size: int, mode: str) -> tuple[bytes, bytes]:
    data = bytes(range(256)) * (MIB // 256)
    data = data * (size // MIB)
    request = chunked_put(public, "/bench/big-object", data, mode, chunk_size=64 * 1024)
    head = f"PUT {request.target} HTTP/1.1\r\nHost: {public}\r\n"
    head += "".join(f"{n}: {v}\r\n" for n, v in request.headers) + "\r\n"
    return head.encode(), request.body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=float, default=1.0, help="the large object's size")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare", type=Path, action="append", default=[],
                        help="another build of the filter (.wasm) to run beside s3-resign (A/B)")
    parser.add_argument("--mode", choices=["signed", "unsigned-trailer"], default="signed",
                        help="signed chunks (default) or unsigned ones with a checksum trailer")
    args = parser.parse_args()
    mode = {"signed": SIGNED, "unsigned-trailer": UNSIGNED_TRAILER}[args.mode]

    sink_port = free_port()
    Sink(sink_port)
    authority = f"127.0.0.1:{sink_port}"
    hashing = render(origin_host="127.0.0.1", origin_port=sink_port, filter_config="hash-body")
    wasm_filter(hashing)["vm_config"]["code"]["local"]["filename"] = str(probe_wasm())
    proxies = {
        "plain envoy": Envoy(render(origin_host="127.0.0.1", origin_port=sink_port,
                                    filter_config=filter_config_json(authority), http_filters=[])),
        "hash-only wasm": Envoy(hashing),
        "s3-resign": Envoy(render(origin_host="127.0.0.1", origin_port=sink_port,
                                  filter_config=filter_config_json(authority))),
    }
    for wasm in args.compare:
        config = render(origin_host="127.0.0.1", origin_port=sink_port, filter_config=filter_config_json(authority))
        wasm_filter(config)["vm_config"]["code"]["local"]["filename"] = str(wasm.resolve())
        proxies[f"s3-resign @ {wasm.name}"] = Envoy(config)
    try:
        public = proxies["s3-resign"].authority
        sizes = [256 * MIB, int(args.gib * 1024) * MIB]
        results: dict = {}
        for size in sizes:
            print(f"  preparing a {args.mode} {size // MIB} MiB body (64 KiB chunks)...", flush=True)
            head, body = request_bytes(public, size, mode)
            view = memoryview(body)
            for round_ in range(args.rounds):
                for kind, envoy in proxies.items():
                    mbps = upload(envoy, public, head, view)
                    results.setdefault((kind, size), []).append(mbps)
                    print(f"  round {round_ + 1} {size // MIB:>5} MiB {kind:<24} {mbps:>7.0f} MB/s  "
                          f"peak RSS {peak_rss_mib(envoy.process.pid):.0f} MiB", flush=True)
            peaks = {kind: peak_rss_mib(envoy.process.pid) for kind, envoy in proxies.items()}
            results[("peak", size)] = peaks
            del body, view
        print(f"\n{'object':>8} {'proxy':<24} {'MB/s (median)':>14} {'vs plain':>9} {'vs hash-only':>13}"
              f" {'Envoy peak RSS':>15}")
        for size in sizes:
            plain = statistics.median(results[("plain envoy", size)])
            ceiling = statistics.median(results[("hash-only wasm", size)])
            for kind in proxies:
                mbps = statistics.median(results[(kind, size)])
                print(f"{size // MIB:>5} MiB {kind:<24} {mbps:>14.0f} {mbps / plain:>9.2f} {mbps / ceiling:>13.2f}"
                      f" {results[('peak', size)][kind]:>12.0f} MiB")
        print("\nOne Envoy worker each. Peak RSS is the process's high-water mark after all uploads of that size;")
        print("equal figures for both sizes mean memory does not grow with the object.")
    finally:
        for envoy in proxies.values():
            envoy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
