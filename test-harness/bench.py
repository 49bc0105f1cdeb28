"""`make bench`: requests per second, latency and proxy CPU per request through one Envoy worker,
for s3-resign and its yardsticks side by side in one run, reported as ratios:

- plain Envoy (no filter): the ceiling of any proxy;
- a do-nothing wasm filter: what any proxy-wasm filter costs a request;
- Envoy's native `aws_request_signing` (C++; it signs and verifies nothing);
- the least-work probe: a wasm filter doing only what verify + re-sign cannot avoid (read four
  headers, two SHA-256 of a canonical request, two HMAC with cached keys, rewrite `:authority`
  and `:path`): the floor for any verifying re-signer;
- s3-resign (and, for the repeated URL, s3-resign with its presigned cache off; with
  `--variants`, also "s3-resign +access log": with `access_log_filter_state` on).

Workloads: 10,000 distinct presigned GETs and 10,000 distinct header-signed GETs (every request
a different key and signature, more than the presigned cache holds: nothing is served from it),
one presigned URL repeated with a `Range` header (a video player), and the distinct presigned
GETs again on one connection, where latency is each request's own time through the proxy rather
than its wait in wrk's queue. wrk on loopback rotates through the requests (a Lua script); every
proxy gets the same bytes. Each setup is one Envoy worker in front of the same upstream (an Envoy
answering 200 itself). Rounds are interleaved and medians taken, since these machines are shared
and noisy; compare within a run.

`--cpu-split` also samples each proxy with `perf record -e cpu-clock` while wrk runs and splits
its CPU time per request by where it ran: Envoy's own code (its binary, which embeds V8's
builtins and the host functions a filter calls), the code V8 compiled (the wasm filters), the
kernel, and the C library. A filter costs a request its own code's time and also what it makes
Envoy's code lose (caches and branch predictors it evicts); instruction counts see only the first.

    python test-harness/bench.py [--seconds 6] [--rounds 3] [--connections 32] [--json out.json]
                                 [--cpu-split]
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import Envoy, filter_config_json, render  # noqa: E402
from harness.clients import RawRequest, presign, sign_header  # noqa: E402
from harness.envoy_config import ORIGIN_KEY, ORIGIN_SECRET, wasm_filter  # noqa: E402
from harness.paths import probe_wasm  # noqa: E402
from harness.programs import free_port  # noqa: E402

# wrk cycles through the distinct requests; more of them than the presigned cache holds by
# default (4096) means every presigned request misses it, as truly distinct traffic would.
DISTINCT = 10_000

PLAIN = "plain envoy"
NOOP = "noop wasm"
NATIVE = "aws_request_signing"
PROBE = "least-work probe"
S3_RESIGN = "s3-resign"
NO_CACHE = "s3-resign no cache"
# With the access log's filter state on (`access_log_filter_state`), as the shipped configs run.
ACCESS_LOG = "s3-resign +access log"
UNLOADED = "distinct presigned GETs on 1 connection"
PACED = "distinct presigned GETs paced"
# Workloads that send the distinct presigned GETs again in another pattern: the benchmarks of
# the filter's work per request (vm_bench, bench_instructions) count those requests once.
REPLAYS = (UNLOADED, PACED)


def upstream_config(port: int) -> dict:
    """An Envoy that answers every request itself: a stand-in origin that costs little."""
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [{
                "name": "upstream",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "upstream",
                        "route_config": {"virtual_hosts": [{
                            "name": "all", "domains": ["*"],
                            "routes": [{"match": {"prefix": "/"},
                                        "direct_response": {"status": 200, "body": {"inline_string": "ok"}}}],
                        }]},
                        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
                    },
                }]}],
            }],
        },
    }


def native_signing_filter(origin_authority: str) -> dict:
    return {
        "name": "envoy.filters.http.aws_request_signing",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.aws_request_signing.v3.AwsRequestSigning",
            "service_name": "s3",
            "region": "us-east-1",
            "host_rewrite": origin_authority,
            "use_unsigned_payload": True,
            "credential_provider": {"inline_credential": {
                "access_key_id": ORIGIN_KEY, "secret_access_key": ORIGIN_SECRET}},
        },
    }


def proxy_config(variant: str, upstream_port: int) -> dict:
    """The shipped envoy/envoy.yaml with the variant's filter in place of s3-resign's."""
    authority = f"127.0.0.1:{upstream_port}"
    if variant in (NOOP, PROBE):
        mode = {NOOP: "noop", PROBE: "least-work"}[variant]
        config = render(origin_host="127.0.0.1", origin_port=upstream_port, filter_config=mode)
        wasm_filter(config)["vm_config"]["code"]["local"]["filename"] = str(probe_wasm())
        return config
    filters = {PLAIN: [], NATIVE: [native_signing_filter(authority)]}.get(variant)
    overrides = {NO_CACHE: {"presigned_cache_entries": 0},
                 ACCESS_LOG: {"access_log_filter_state": True}}.get(variant, {})
    return render(
        origin_host="127.0.0.1",
        origin_port=upstream_port,
        filter_config=filter_config_json(authority, **overrides),
        http_filters=filters,
    )


def workloads(public: str) -> dict[str, list[RawRequest]]:
    """Signed for `public`, fresh (header-signed requests carry the time they were signed)."""
    key = "/bench/photos/{:05d}%20picture.jpg"
    repeated = presign(public, "GET", key.format(0), expires=3600).with_header("Range", "bytes=0-1023")
    presigned = [presign(public, "GET", key.format(i), expires=3600) for i in range(DISTINCT)]
    return {
        "distinct presigned GETs": presigned,
        "distinct header-signed GETs": [
            sign_header(public, "GET", key.format(i), {"Range": "bytes=0-1023"}) for i in range(DISTINCT)
        ],
        "one presigned URL repeated (Range)": [repeated],
        # One connection: no queue, so latency is each request's own time through the proxy.
        UNLOADED: presigned,
        # The benchmark's connections, each pausing a random time between its requests: a load
        # the worker keeps up with, so latency is the proxy's own time plus what queueing at
        # that load adds, not the wait behind a saturated worker.
        PACED: presigned,
    }


def variants_for(workload: str, proxies: dict) -> list[str]:
    """Every proxy, but the cache-less s3-resign only where the cache could help."""
    return [v for v in proxies if v != NO_CACHE or "repeated" in workload]


def lua_string(raw: bytes) -> str:
    escaped = "".join(
        f"\\{b:03d}" if b < 0x20 or b >= 0x7F or b in (0x22, 0x5C) else chr(b) for b in raw
    )
    return f'"{escaped}"'


def wrk_script(requests: list[RawRequest], public: str, mean_delay_ms: int = 0) -> str:
    """A wrk script that sends `requests` in turn, each as raw HTTP/1.1 for Host `public`; with
    `mean_delay_ms`, each connection waits a uniformly random 0 to twice that many milliseconds
    before each request (random, so the connections do not fall into step and arrive in bursts)."""
    raws = []
    for r in requests:
        head = f"{r.method} {r.target} HTTP/1.1\r\nHost: {public}\r\n"
        head += "".join(f"{n}: {v}\r\n" for n, v in r.headers) + "\r\n"
        raws.append(lua_string(head.encode()))
    return (
        "local requests = {\n" + ",\n".join(raws) + "\n}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #requests + 1\n"
        "  return requests[i]\n"
        "end\n"
        + (f"delay = function()\n  return math.random(0, {2 * mean_delay_ms})\nend\n" if mean_delay_ms else "")
    )


def latency_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


# Where a proxy's CPU time goes, by the object perf finds the sampled code in.
CPU_SPLIT = ("envoy", "wasm", "kernel", "libc")


def where(dso: str) -> str:
    if dso.startswith("[JIT]"):  # anonymous executable memory: V8's compiled code
        return "wasm"
    if dso.startswith("[kernel"):
        return "kernel"
    if dso.startswith("lib") or dso == "[vdso]":  # the C library, libm, the vDSO
        return "libc"
    return "envoy"


def cpu_split(samples: Path, cpu_us: float) -> dict:
    """`cpu_us` apportioned by where perf's samples in `samples` fell."""
    if not samples.exists():
        raise RuntimeError("perf recorded nothing: is kernel.perf_event_paranoid above 1 for this user?")
    out = subprocess.run(["perf", "report", "-i", str(samples), "--stdio", "--sort", "dso"],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    shares = dict.fromkeys(CPU_SPLIT, 0.0)
    for line in out.splitlines():
        match = re.fullmatch(r"\s*([\d.]+)%\s+(.+?)\s*", line)
        if match and not line.lstrip().startswith("#"):
            shares[where(match.group(2))] += float(match.group(1)) / 100
    return {f"cpu_{k}_us": v * cpu_us for k, v in shares.items()}


def run_wrk(envoy: Envoy, script: Path, seconds: int, connections: int, sample: bool = False) -> dict:
    samples = envoy.dir / "perf.data"
    perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "2000", "-o", str(samples),
                             "-p", str(envoy.process.pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if sample else None
    cpu_before = envoy.cpu_seconds()
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{envoy.port}/"],
        capture_output=True, text=True, check=True, timeout=seconds + 30,
    ).stdout
    cpu = envoy.cpu_seconds() - cpu_before
    if perf:
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=60)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{non_2xx.group(1)} failed requests:\n{out}\n{envoy.log_text()[-2000:]}")
    run = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency_ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99_ms": latency_ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "cpu_us_per_request": cpu / requests * 1e6,
    }
    if perf:
        run.update(cpu_split(samples, run["cpu_us_per_request"]))
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--paced-rate", type=int, default=1000,
                        help="the paced workload's offered request rate (all connections together)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--variants", help="a comma-separated subset of the proxies, to look closer at some")
    parser.add_argument("--workloads", help="a comma-separated subset of the workloads (name prefixes)")
    parser.add_argument("--compare", type=Path, action="append", default=[],
                        help="another build of the filter (.wasm) to run beside s3-resign (A/B)")
    parser.add_argument("--cpu-split", action="store_true",
                        help="split each proxy's CPU time per request by where it ran (perf)")
    args = parser.parse_args()
    for tool, package in [("wrk", "wrk")] + ([("perf", "linux-perf")] if args.cpu_split else []):
        if not shutil.which(tool):
            print(f"{tool} is needed: apt-get install {package}", file=sys.stderr)
            return 2

    variants = [PLAIN, NOOP, NATIVE, PROBE, S3_RESIGN, NO_CACHE]
    if args.variants:
        variants = [v for v in variants + [ACCESS_LOG] if v in args.variants.split(",")]
    chosen = lambda workload: not args.workloads or any(
        workload.startswith(w) for w in args.workloads.split(","))
    upstream_port = free_port()
    configs = {v: proxy_config(v, upstream_port) for v in variants}
    for wasm in args.compare:
        config = proxy_config(S3_RESIGN, upstream_port)
        wasm_filter(config)["vm_config"]["code"]["local"]["filename"] = str(wasm.resolve())
        configs[f"s3-resign @ {wasm.name}"] = config
    with Envoy(upstream_config(upstream_port)) as _upstream:
        proxies = {v: Envoy(config) for v, config in configs.items()}
        try:
            first = next(iter(proxies.values()))
            workdir = first.dir
            # Every proxy sees the requests under the name they were signed for.
            public = first.authority
            results: dict = {}
            for round_ in range(args.rounds):
                for name, requests in workloads(public).items():
                    if not chosen(name):
                        continue
                    script = workdir / "requests.lua"
                    delay = round(args.connections * 1000 / args.paced_rate) if name == PACED else 0
                    script.write_text(wrk_script(requests, public, delay))
                    order = variants_for(name, proxies)
                    for variant in order if round_ % 2 == 0 else reversed(order):
                        connections = 1 if name == UNLOADED else args.connections
                        run = run_wrk(proxies[variant], script, args.seconds, connections, args.cpu_split)
                        results.setdefault(name, {}).setdefault(variant, []).append(run)
                        print(f"  round {round_ + 1} {name:<40} {variant:<22} {run['rps']:>8.0f} req/s",
                              flush=True)
        finally:
            for envoy in proxies.values():
                envoy.stop()

    summary = report(results, args)
    if args.json:
        write_json(args.json, summary)
    return 0


def machine() -> dict:
    """When and where a run was made, for its `--json` summary."""
    return {
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, {platform.processor() or platform.system()}",
    }


def write_json(path: Path, summary: dict) -> None:
    """A run's summary as strict JSON: a ratio to a proxy the run left out is null, not NaN."""
    def strict(value):
        if isinstance(value, dict):
            return {k: strict(v) for k, v in value.items()}
        return None if isinstance(value, float) and math.isnan(value) else value
    path.write_text(json.dumps(strict(summary), indent=2, allow_nan=False))


def report(results: dict, args) -> dict:
    summary = {
        **machine(),
        "connections": args.connections,
        "rounds": args.rounds,
        "workloads": {},
    }
    print()
    print(f"{'workload':<40} {'proxy':<22} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'+p50 ms':>8} {'+p99 ms':>8}"
          f" {'CPU µs':>7} {'/plain':>7} {'/native':>8} {'/probe':>7}")
    for name, by_variant in results.items():
        medians = {
            variant: {metric: statistics.median(r[metric] for r in runs) for metric in runs[0]}
            for variant, runs in by_variant.items()
        }
        summary["workloads"][name] = medians
        ratio = lambda m, ref: m["rps"] / medians[ref]["rps"] if ref in medians else float("nan")
        for variant, m in medians.items():
            m["vs_plain"] = ratio(m, PLAIN)
            m["vs_native"] = ratio(m, NATIVE)
            m["vs_probe"] = ratio(m, PROBE)
            for p in ("p50", "p99"):
                m[f"{p}_over_noop_ms"] = m[f"{p}_ms"] - medians[NOOP][f"{p}_ms"] if NOOP in medians else float("nan")
            print(f"{name:<40} {variant:<22} {m['rps']:>8.0f} {m['p50_ms']:>7.2f} {m['p99_ms']:>7.2f}"
                  f" {m['p50_over_noop_ms']:>+8.2f} {m['p99_over_noop_ms']:>+8.2f} {m['cpu_us_per_request']:>7.1f}"
                  f" {m['vs_plain']:>7.2f} {m['vs_native']:>8.2f} {m['vs_probe']:>7.2f}")
    if args.cpu_split:
        print(f"\n{'workload':<40} {'proxy':<22} {'CPU µs':>7}" + "".join(f" {k:>7}" for k in CPU_SPLIT))
        for name, medians in summary["workloads"].items():
            for variant, m in medians.items():
                print(f"{name:<40} {variant:<22} {m['cpu_us_per_request']:>7.1f}"
                      + "".join(f" {m[f'cpu_{k}_us']:>7.1f}" for k in CPU_SPLIT))
    print(f"\nMedians of {args.rounds} rounds, wrk -c{args.connections} (-c1 where the workload says so),"
          " one Envoy worker per proxy."
          " +p50, +p99: latency over the do-nothing wasm filter's; CPU µs is the proxy Envoy's"
          " own CPU time per request; /plain, /native, /probe are request rates as ratios."
          + (" The CPU split is µs per request by where perf's samples fell: Envoy's binary (V8's"
             " builtins and the host functions included), the compiled wasm, the kernel, the C library."
             if args.cpu_split else ""))
    return summary


if __name__ == "__main__":
    sys.exit(main())
