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

`--cache-sim` also simulates the worker's caches (callgrind's model of this CPU's L1 and last
level) and counts first-level instruction-cache misses per request, in all and in the code V8
generated (the filters' compiled wasm and the builtins it calls). A request runs each line of a
filter's straight-line code once, and Envoy's own work between two requests evicts it, so these
misses measure how much code a filter runs per request, which instruction counts leave out;
what that costs in time, callgrind's model cannot say (`bench.py --cpu-split` measures it).
`--functions N` adds, for a build of s3-resign that keeps its function names (run beside the
others: a stripped build inlines a few functions differently), the N wasm functions that miss
most.

    python test-harness/bench_instructions.py [--requests 400] [--variants ...] [--compare x.wasm]
                                              [--cache-sim [--functions 25]] [--json out.json]
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench import (  # noqa: E402
    ACCESS_LOG, NATIVE, NOOP, PLAIN, PROBE, REPLAYS, S3_RESIGN, machine, proxy_config, upstream_config, workloads,
    write_json,
)
from harness import Envoy  # noqa: E402
from harness.envoy_config import wasm_filter  # noqa: E402
from harness.paths import ROOT  # noqa: E402
from harness.programs import free_port  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from wasm_unexport import read_leb, sections  # noqa: E402

WARM_UP = 50
NAMED = "s3-resign, named build"
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


def summary(dump: Path) -> dict[str, int]:
    """A callgrind dump's totals, by event (`Ir`, instructions, first)."""
    events: list[str] = []
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("summary:"):
            return dict(zip(events, map(int, line.split()[1:])))
    raise RuntimeError(f"no summary in {dump}")


# Code from no file: what V8 generated (and its builtins, embedded in Envoy's binary but not
# named there).
GENERATED = ("", "???")
NAME_LINE = re.compile(r"^(c?ob|c?fn|c?fl|c?fi|c?fe)=\((\d+)\)(?: (.*))?$")


def costs_by_function(dump: Path) -> dict[tuple[str, str], dict[str, int]]:
    """Each (object, function)'s own events in a callgrind dump (calls' inclusive lines left out)."""
    events: list[str] = []
    names: dict[str, dict[str, str]] = {"ob": {}, "fn": {}}
    ob = fn = ""
    after_calls = False
    costs: dict[tuple[str, str], dict[str, int]] = {}
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
        elif match := NAME_LINE.match(line):
            kind, ident, name = match.groups()
            table = names.get(kind.lstrip("c"))
            if table is not None and name:
                table[ident] = name
            if kind == "ob":
                ob = names["ob"].get(ident, "")
            elif kind == "fn":
                fn = names["fn"].get(ident, ident)
        elif line.startswith("calls="):
            after_calls = True
        elif line and (line[0].isdigit() or line[0] in "+-*"):
            if after_calls:
                after_calls = False
                continue
            own = costs.setdefault((ob, fn), dict.fromkeys(events, 0))
            for event, value in zip(events, line.split()[1:]):
                own[event] += int(value)
    return costs


def wasm_function_names(module: Path) -> list[str]:
    """The names of a module's own (not imported) functions, by index, from its name section."""
    def skip_limits(data: bytes, at: int) -> int:
        flags, at = read_leb(data, at)
        _, at = read_leb(data, at)
        return read_leb(data, at)[1] if flags & 1 else at

    imported, names = 0, {}
    for section, data in sections(module.read_bytes()):
        if section == 2:  # imports: the imported functions take the first indices
            count, pos = read_leb(data, 0)
            for _ in range(count):
                for _module_then_field in range(2):
                    length, pos = read_leb(data, pos)
                    pos += length
                kind, pos = data[pos], pos + 1
                if kind == 0:  # a function: its type
                    imported += 1
                    _, pos = read_leb(data, pos)
                elif kind == 1:  # a table: its element type, then limits
                    pos = skip_limits(data, pos + 1)
                elif kind == 2:  # a memory: limits
                    pos = skip_limits(data, pos)
                else:  # a global: its type and mutability
                    pos += 2
        elif section == 0:
            length, pos = read_leb(data, 0)
            if data[pos:pos + length] != b"name":
                continue
            pos += length
            while pos < len(data):
                subsection = data[pos]
                size, pos = read_leb(data, pos + 1)
                if subsection == 1:  # function names
                    count, q = read_leb(data, pos)
                    for _ in range(count):
                        index, q = read_leb(data, q)
                        length, q = read_leb(data, q)
                        names[index] = data[q:q + length].decode(errors="replace")
                        q += length
                pos += size
    if not names:
        raise RuntimeError(f"{module} has no function names")
    return [names.get(i, f"function {i}") for i in range(imported, max(names) + 1)]


def module_with_names() -> Path:
    """The filter built keeping its function names (the Makefile's `NAMED_WASM`)."""
    named = ROOT / "target" / "wasm-names" / "wasm32-wasip1" / "release" / "s3_resign.wasm"
    subprocess.run(["make", "--no-print-directory", str(named.relative_to(ROOT))], cwd=ROOT, check=True)
    return named


ESCAPES = [("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$C$", ","), ("$RF$", "&"), ("$BP$", "*"),
           ("$u7b$", "{"), ("$u7d$", "}"), ("$u27$", "'"), ("$u5b$", "["), ("$u5d$", "]"), ("..", "::")]


def demangle(symbol: str) -> str:
    """A legacy Rust symbol (`_ZN…E`) as a path, without its hash; other names as they are."""
    if not symbol.startswith("_ZN"):
        return symbol
    parts, at = [], 3
    while at < len(symbol) and symbol[at].isdigit():
        digits = at
        while symbol[at].isdigit():
            at += 1
        length = int(symbol[digits:at])
        parts.append(symbol[at:at + length])
        at += length
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts.pop()
    text = "::".join(part.lstrip("_") if part.startswith("_$") else part for part in parts)
    for escape, char in ESCAPES:
        text = text.replace(escape, char)
    return text


def misses_by_wasm_function(costs: dict, names: list[str]) -> list[tuple[str, float, float]]:
    """The compiled module's functions by their instruction-cache misses: (name, I1 misses, Ir).

    V8 enters a module's functions through its jump table, one 8-byte slot per function in
    index order, so callgrind names each function's code by the address of its slot. The
    table starts at a page boundary below the lowest slot; the function running the most
    instructions (SHA-256's compression) checks the mapping."""
    generated = {int(fn, 16): c for (ob, fn), c in costs.items() if ob in GENERATED and fn.startswith("0x")}
    # V8's code space is mapped far above Envoy's binary, where its builtins are embedded.
    slots = [a for a in generated if a >= 1 << 40]
    if not slots:
        return []
    base = min(slots) & ~0xFFF
    rows = []
    for address, c in generated.items():
        index, offset = divmod(address - base, 8)
        inside = address >= base and index < len(names) and offset == 0
        rows.append((names[index] if inside else "V8 builtin or stub", c["I1mr"], c["Ir"]))
    hottest = max(rows, key=lambda r: r[2])[0]
    if "compress" not in hottest:
        raise RuntimeError(f"the jump-table mapping does not hold: the hottest function is {hottest}")
    merged: dict[str, list[float]] = {}
    for name, misses, instructions in rows:
        total = merged.setdefault(name, [0, 0])
        total[0] += misses
        total[1] += instructions
    return sorted(((n, m, i) for n, (m, i) in merged.items()), key=lambda r: -r[1])


def measure(name: str, config: dict, chosen: list[str], count: int,
            cache_sim: bool = False) -> dict[str, dict]:
    """Per request, for each workload, the worker's instructions and (with `cache_sim`) its
    instruction-cache misses, in all and in generated code; with them, its costs by function."""
    out_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"s3-resign-callgrind-{os.getpid()}"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir()
    wrapper = ["valgrind", "--tool=callgrind", "--smc-check=all-non-file", "--separate-threads=yes",
               f"--callgrind-out-file={out_dir}/callgrind.out"] + (["--cache-sim=yes"] if cache_sim else [])
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
            totals = {dump: summary(dump) for dump in dumps}
            worker = max(totals, key=lambda dump: totals[dump]["Ir"])
            result = {"instructions": totals[worker]["Ir"] / count}
            line = f"  {name:<22} {workload:<40} {result['instructions'] / 1000:8.1f}k instructions/request"
            if cache_sim:
                costs = costs_by_function(worker)
                result["costs"] = {key: {e: v / count for e, v in c.items()} for key, c in costs.items()}
                result["i1_misses"] = totals[worker]["I1mr"] / count
                result["generated_misses"] = sum(c["I1mr"] for (ob, _), c in result["costs"].items()
                                                 if ob in GENERATED)
                line += (f", {result['i1_misses']:,.0f} I1 misses ({result['generated_misses']:,.0f}"
                         " in generated code)")
            results[workload] = result
            print(line, flush=True)
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
    parser.add_argument("--cache-sim", action="store_true",
                        help="also count instruction-cache misses per request (callgrind's cache model)")
    parser.add_argument("--functions", type=int, default=0, metavar="N",
                        help="with --cache-sim: the N wasm functions of s3-resign that miss most")
    parser.add_argument("--json", type=Path, help="also write the counts and ratios here")
    args = parser.parse_args()
    if args.functions and not args.cache_sim:
        parser.error("--functions needs --cache-sim")
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
        named_module = module_with_names() if args.functions else None
        if named_module:
            config = proxy_config(S3_RESIGN, upstream_port)
            wasm_filter(config)["vm_config"]["code"]["local"]["filename"] = str(named_module)
            configs[NAMED] = config
        for name, config in configs.items():
            results[name] = measure(name, config, names, args.requests, args.cache_sim)

    summary = {**machine(), "requests": args.requests, "warm_up": WARM_UP, "workloads": {}}
    print()
    print(f"{'workload':<40} {'proxy':<22} {'instr/req':>10} {'/plain':>7} {'/native':>8} {'/probe':>7}")
    for workload in names:
        counts = {v: r[workload]["instructions"] for v, r in results.items()}
        # As request-rate ratios are: how many of this proxy's requests the reference's cost buys.
        ratio = lambda v, ref: counts[ref] / counts[v] if ref in counts else float("nan")
        for variant, count in counts.items():
            row = {"instructions": count, "vs_plain": ratio(variant, PLAIN), "vs_native": ratio(variant, NATIVE),
                   "vs_probe": ratio(variant, PROBE)}
            if args.cache_sim:
                row["i1_misses"] = results[variant][workload]["i1_misses"]
                row["generated_misses"] = results[variant][workload]["generated_misses"]
            summary["workloads"].setdefault(workload, {})[variant] = row
            print(f"{workload:<40} {variant:<22} {count / 1000:>9.1f}k {row['vs_plain']:>7.3f}"
                  f" {row['vs_native']:>8.3f} {row['vs_probe']:>7.3f}")
    if args.cache_sim:
        print(f"\n{'workload':<40} {'proxy':<22} {'I1 misses/req':>14} {'in generated code':>18}")
        for workload in names:
            for variant, r in results.items():
                print(f"{workload:<40} {variant:<22} {r[workload]['i1_misses']:>14,.0f}"
                      f" {r[workload]['generated_misses']:>18,.0f}")
    if named_module:
        function_names = wasm_function_names(named_module)
        for workload in names:
            rows = misses_by_wasm_function(results[NAMED][workload]["costs"], function_names)
            print(f"\n{NAMED}, {workload}: the wasm functions that miss most (per request)")
            print(f"{'I1 misses':>10} {'instructions':>13}  function")
            for name, misses, instructions in rows[:args.functions]:
                print(f"{misses:>10.1f} {instructions:>13,.0f}  {demangle(name)}")
    print(f"\n{args.requests} requests per workload on one connection after {WARM_UP} to warm up, one Envoy worker,"
          " the worker thread counted. Ratios are the reference's instructions per request over the"
          " proxy's: comparable with make bench's request-rate ratios.")
    if args.json:
        write_json(args.json, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
