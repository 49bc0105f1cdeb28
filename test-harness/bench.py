"""`make bench`: requests per second and proxy CPU per request, through Envoy with the
s3-resign filter, against plain Envoy and Envoy's native aws_request_signing filter, in one
run, reported as ratios. Each setup is one Envoy worker in front of the same upstream (an
Envoy answering 200 itself, so the proxy is what is measured). The load comes from wrk on
loopback, a bounded number of seconds per round; rounds are interleaved and the median taken,
because these machines are shared and noisy.

    python test-harness/bench.py [--seconds 8] [--rounds 3] [--connections 16]
"""

import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import Envoy, filter_config_json, render  # noqa: E402
from harness.clients import RawRequest, presign, sign_header  # noqa: E402
from harness.envoy_config import ORIGIN_KEY, ORIGIN_SECRET  # noqa: E402
from harness.programs import free_port  # noqa: E402


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


def proxy_config(kind: str, upstream_port: int) -> dict:
    authority = f"127.0.0.1:{upstream_port}"
    filters = {"plain envoy": [], "aws_request_signing": [native_signing_filter(authority)], "s3-resign": None}[kind]
    return render(
        origin_host="127.0.0.1",
        origin_port=upstream_port,
        filter_config=filter_config_json(authority),
        http_filters=filters,
    )


WRK_SCRIPT = """
wrk.method = "{method}"
{headers}
"""


def latency_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2

    kinds = ["plain envoy", "aws_request_signing", "s3-resign"]
    upstream_port = free_port()
    with Envoy(upstream_config(upstream_port)) as _upstream:
        proxies = {kind: Envoy(proxy_config(kind, upstream_port)) for kind in kinds}
        try:
            workdir = proxies["s3-resign"].dir
            public = proxies["s3-resign"].authority
            # The same signed requests go to every proxy; only s3-resign checks them.
            requests = {
                "presigned GET": presign(public, "GET", "/bench/photos/a%20picture.jpg", expires=3600),
                "header-signed GET": sign_header(public, "GET", "/bench/photos/a%20picture.jpg",
                                                 {"Range": "bytes=0-1023"}),
            }
            results = {name: {kind: [] for kind in kinds} for name in requests}
            for round_ in range(args.rounds):
                for name, request in requests.items():
                    # Every proxy sees the request under the public name it was signed for.
                    for kind in (kinds if round_ % 2 == 0 else reversed(kinds)):
                        results[name][kind].append(
                            run_wrk(proxies[kind], public, request, args.seconds, args.connections, workdir))
                        print(f"  round {round_ + 1} {name:<18} {kind:<20} "
                              f"{results[name][kind][-1]['rps']:>9.0f} req/s", flush=True)
        finally:
            for envoy in proxies.values():
                envoy.stop()

    summary = report(results, kinds)
    if args.json:
        args.json.write_text(json.dumps({"date": datetime.datetime.now().isoformat(), "results": summary}, indent=2))
    return 0


def run_wrk(envoy: Envoy, public: str, request: RawRequest, seconds: int, connections: int, workdir: Path):
    """wrk against `envoy`, sending Host: `public` (what the request was signed for)."""
    script = workdir / "request.lua"
    lines = [f'wrk.headers["{n}"] = "{v}"' for n, v in request.headers]
    lines.append(f'wrk.headers["Host"] = "{public}"')
    script.write_text(WRK_SCRIPT.format(method=request.method, headers="\n".join(lines)))
    cpu_before = process_cpu_seconds(envoy.process.pid)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{envoy.port}{request.target}"],
        capture_output=True, text=True, check=True, timeout=seconds + 30,
    ).stdout
    cpu = process_cpu_seconds(envoy.process.pid) - cpu_before
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{non_2xx.group(1)} failed requests:\n{out}\n{envoy.log_text()[-2000:]}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency_ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99_ms": latency_ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "cpu_us_per_request": cpu / requests * 1e6,
    }


def report(results: dict, kinds: list[str]) -> dict:
    summary = {}
    print()
    print(f"{'request':<18} {'proxy':<20} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'CPU µs/req':>10}"
          f" {'req/s vs plain':>15} {'vs native':>10}")
    for name, by_kind in results.items():
        medians = {
            kind: {metric: statistics.median(r[metric] for r in runs) for metric in runs[0]}
            for kind, runs in by_kind.items()
        }
        summary[name] = medians
        for kind in kinds:
            m = medians[kind]
            vs_plain = m["rps"] / medians["plain envoy"]["rps"]
            vs_native = m["rps"] / medians["aws_request_signing"]["rps"]
            print(f"{name:<18} {kind:<20} {m['rps']:>9.0f} {m['p50_ms']:>7.2f} {m['p99_ms']:>7.2f}"
                  f" {m['cpu_us_per_request']:>10.1f} {vs_plain:>15.2f} {vs_native:>10.2f}")
    print("\nMedians of the rounds. CPU µs/req is the proxy Envoy's own CPU time per request.")
    return summary


if __name__ == "__main__":
    sys.exit(main())
