"""`make bench-instructions`: the instructions one Envoy worker executes per request, counted by
valgrind's callgrind, for s3-resign and its yardsticks: the same proxies, requests and ratios as
`make bench`, in a measure that holds still on a shared machine.

Request rates through Envoy move by ±10–20% between runs here, as much as the gaps being
measured. Instructions do not depend on what else the machine runs: each proxy runs under
callgrind (V8's generated code included), takes some requests to warm up, then has its counters
zeroed, serves N requests on one connection and dumps them. Everything the worker thread executed
is counted: Envoy, V8, the filter, the allocator (the main thread, whose timers fire more or less
often as valgrind slows it down, is left out). Instructions are not time (a cache miss costs more
than an add), so this complements `make bench`, it does not replace it.

    python test-harness/bench_instructions.py [--requests 400] [--variants ...] [--compare x.wasm]
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench import ACCESS_LOG, NATIVE, NOOP, PLAIN, PROBE, REPLAYS, S3_RESIGN, proxy_config, upstream_config, workloads  # noqa: E402
from harness import Envoy  # noqa: E402
from harness.envoy_config import wasm_filter  # noqa: E402
from harness.programs import free_port  # noqa: E402

WARM_UP = 50
# V8 compiles the modules under callgrind: a start takes a minute or two.
STARTUP_SECONDS = 900


class Connection:
    """One keep-alive HTTP/1.1 connection sending raw request heads, reading whole answers."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.pending = b""

    def send(self, head: bytes) -> int:
        self.sock.sendall(head)
        while b"\r\n\r\n" not in self.pending:
            self.pending += self._recv()
        head, _, rest = self.pending.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in lines[1:]
                       if line.lower().startswith(b"content-length:")), 0)
        while len(rest) < length:
            rest += self._recv()
        self.pending = rest[length:]
        return int(lines[0].split()[1])

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise RuntimeError("the proxy closed the connection")
        return data

    def close(self):
        self.sock.close()


def raw_heads(requests, public: str, count: int) -> list[bytes]:
    heads = []
    for i in range(count):
        r = requests[i % len(requests)]
        head = f"{r.method} {r.target} HTTP/1.1\r\nHost: {public}\r\n"
        head += "".join(f"{n}: {v}\r\n" for n, v in r.headers) + "\r\n"
        heads.append(head.encode())
    return heads


def total_instructions(dump: Path) -> int:
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise RuntimeError(f"no summary in {dump}")


def measure(name: str, config: dict, chosen: list[str], count: int) -> dict[str, float]:
    """Instructions per request of one proxy, for each workload."""
    out_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"s3-resign-callgrind-{os.getpid()}"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir()
    wrapper = ["valgrind", "--tool=callgrind", "--smc-check=all-non-file", "--separate-threads=yes",
               f"--callgrind-out-file={out_dir}/callgrind.out"]
    envoy = Envoy(config, wrapper=wrapper, startup_seconds=STARTUP_SECONDS)
    results = {}
    try:
        public = envoy.authority
        signed = workloads(public)
        for workload in chosen:
            heads = raw_heads(signed[workload], public, WARM_UP + count)
            conn = Connection(envoy.port)
            for head in heads[:WARM_UP]:
                status = conn.send(head)
                if status != 200:
                    raise RuntimeError(f"{name}, {workload}: status {status}\n{envoy.log_text()[-2000:]}")
            subprocess.run(["callgrind_control", "--zero", str(envoy.process.pid)], check=True,
                           capture_output=True, timeout=300)
            for head in heads[WARM_UP:]:
                conn.send(head)
            before = set(out_dir.iterdir())
            subprocess.run(["callgrind_control", "--dump", str(envoy.process.pid)], check=True,
                           capture_output=True, timeout=300)
            # One file per thread: the worker's is the one that served the requests.
            dumps = set(out_dir.iterdir()) - before
            conn.close()
            counts = {dump.name: total_instructions(dump) for dump in dumps}
            results[workload] = max(counts.values()) / count
            print(f"  {name:<22} {workload:<40} {results[workload] / 1000:8.1f}k instructions/request",
                  flush=True)
    finally:
        envoy.stop()
        shutil.rmtree(out_dir, ignore_errors=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400, help="requests counted per workload")
    parser.add_argument("--variants", help="a comma-separated subset of the proxies")
    parser.add_argument("--workloads", help="a comma-separated subset of the workloads (name prefixes)")
    parser.add_argument("--compare", type=Path, action="append", default=[],
                        help="another build of the filter (.wasm) to count beside s3-resign (A/B)")
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_control"):
        if not shutil.which(tool):
            print(f"{tool} is needed: apt-get install valgrind", file=sys.stderr)
            return 2

    names = [w for w in workloads("localhost") if w not in REPLAYS]
    if args.workloads:
        names = [w for w in names if any(w.startswith(p) for p in args.workloads.split(","))]
    # s3-resign as configured by default, and as the shipped configurations run it (their
    # access log reads the filter state it then writes).
    variants = [PLAIN, NOOP, NATIVE, PROBE, S3_RESIGN, ACCESS_LOG]
    if args.variants:
        variants = [v for v in variants if v in args.variants.split(",")]
    results: dict[str, dict[str, float]] = {}
    upstream_port = free_port()
    with Envoy(upstream_config(upstream_port)) as _upstream:
        configs = {v: proxy_config(v, upstream_port) for v in variants}
        for wasm in args.compare:
            config = proxy_config(S3_RESIGN, upstream_port)
            wasm_filter(config)["vm_config"]["code"]["local"]["filename"] = str(wasm.resolve())
            configs[f"s3-resign @ {wasm.name}"] = config
        for name, config in configs.items():
            results[name] = measure(name, config, names, args.requests)

    print()
    print(f"{'workload':<40} {'proxy':<22} {'instr/req':>10} {'/plain':>7} {'/native':>8} {'/probe':>7}")
    for workload in names:
        counts = {v: r[workload] for v, r in results.items()}
        # As request-rate ratios are: how many of this proxy's requests the reference's cost buys.
        ratio = lambda v, ref: counts[ref] / counts[v] if ref in counts else float("nan")
        for variant, count in counts.items():
            print(f"{workload:<40} {variant:<22} {count / 1000:>9.1f}k {ratio(variant, PLAIN):>7.3f}"
                  f" {ratio(variant, NATIVE):>8.3f} {ratio(variant, PROBE):>7.3f}")
    print(f"\n{args.requests} requests per workload on one connection after {WARM_UP} to warm up, one Envoy worker,"
          " the worker thread counted. Ratios are the reference's instructions per request over the"
          " proxy's: comparable with make bench's request-rate ratios.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
