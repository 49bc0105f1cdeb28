"""`make bench-vm`: the request-head phase of s3-resign and its wasm yardsticks in V8, without
Envoy around them: microseconds per request and host calls per request, side by side.

make bench's request rates move ±10–20% between runs on a shared machine, more than a change to
the filter's own code; this isolates that code. Node's V8 runs the modules (TurboFan only, as
Envoy's proxy-wasm runtime does) behind a minimal proxy-wasm host (vm_bench.mjs) fed the same
request heads as make bench, with the headers Envoy adds. Host calls are cheap here and dearer in
Envoy, so they are counted rather than timed.

    python test-harness/vm_bench.py [--rounds 7] [--passes 3] [--compare other.wasm ...]
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench import DISTINCT, REPLAYS, workloads  # noqa: E402
from harness import filter_config_json  # noqa: E402
from harness.paths import WASM, probe_wasm  # noqa: E402

PUBLIC = "localhost:10000"
ORIGIN = "127.0.0.1:9000"
HERE = Path(__file__).parent


def envoy_head(request, public: str) -> list[list[str]]:
    """The header map a filter sees for `request`: pseudo-headers, the client's, and what
    Envoy's connection manager adds before the filters run."""
    path = request.target
    return (
        [[":authority", public], [":path", path], [":method", request.method], [":scheme", "http"]]
        + [[n.lower(), v] for n, v in request.headers]
        + [["x-forwarded-proto", "http"], ["x-request-id", "a3c5b0f4-4a49-4c1e-9b7e-2f0d7c1d9e11"]]
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--compare", type=Path, action="append", default=[],
                        help="another build of the filter (.wasm) to time beside s3-resign (A/B)")
    args = parser.parse_args()

    config = filter_config_json(ORIGIN)
    filters = [
        {"name": "noop wasm", "wasm": str(probe_wasm()), "config": "noop"},
        {"name": "least-work probe", "wasm": str(probe_wasm()), "config": "least-work"},
        {"name": "s3-resign", "wasm": str(WASM), "config": config},
    ] + [{"name": f"s3-resign @ {w.name}", "wasm": str(w.resolve()), "config": config} for w in args.compare]
    chosen = {k: v for k, v in workloads(PUBLIC).items() if k not in REPLAYS}
    heads = {name: [envoy_head(r, PUBLIC) for r in requests] for name, requests in chosen.items()}
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "input.json"
        spec.write_text(json.dumps({"filters": filters, "workloads": heads,
                                    "rounds": args.rounds, "passes": args.passes}))
        out = subprocess.run(["node", "--no-liftoff", str(HERE / "vm_bench.mjs"), str(spec)],
                             capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        print(out.stderr, file=sys.stderr)
        return 1
    results = json.loads(out.stdout)
    print(f"{'workload':<36} {'filter':<28} {'µs/req':>7} {'/probe':>7} {'noop+':>7}  host calls per request")
    for workload, by_filter in results.items():
        best = {name: min(r["samples"]) for name, r in by_filter.items()}
        for name, r in by_filter.items():
            calls = ", ".join(f"{k} {v:g}" for k, v in sorted(r["calls"].items()))
            print(f"{workload:<36} {name:<28} {best[name]:>7.2f} {best[name] / best['least-work probe']:>7.2f}"
                  f" {best[name] - best['noop wasm']:>7.2f}  {calls}")
    print(f"\nBest of {args.rounds} interleaved rounds of {args.passes} passes over {DISTINCT:,} requests"
          " (1 for the repeated URL); µs of V8 time per request head, including the host shim;"
          " /probe: over the least-work probe's; noop+: over the do-nothing filter's.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
