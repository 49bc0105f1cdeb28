"""`make demo`: the whole stack on this machine. An S3 origin (s3s-fs) that knows only the
origin key pair, Envoy with the s3-resign filter in front of it running envoy/envoy.yaml, a
bucket and an object, and a presigned URL for the public host that works through the proxy.

    python test-harness/demo.py          serve until Ctrl-C
    python test-harness/demo.py --check  show it working, then stop (used by the tests)
"""

import argparse
import shlex
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import Envoy, S3sFs, render  # noqa: E402
from harness.clients import s3_client  # noqa: E402
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, ORIGIN_KEY, ORIGIN_SECRET  # noqa: E402


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def port_or_any(preferred: int) -> int:
    """The preferred port when it is free, else 0 (any)."""
    with socket.socket() as s:
        # As Envoy binds: connections of a previous run in TIME_WAIT do not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="show the presigned URL working, then stop")
    args = parser.parse_args()

    step("starting the origin: s3s-fs, which accepts only the origin key pair "
         f"({ORIGIN_KEY} / {ORIGIN_SECRET})")
    with S3sFs() as origin:
        step(f"origin listening on {origin.endpoint}")
        step("starting Envoy with the s3-resign filter (envoy/envoy.yaml; secrets from the environment)")
        config = render(
            origin_host="127.0.0.1",
            origin_port=origin.port,
            filter_config=None,
            listen_port=port_or_any(10000),
            admin_port=port_or_any(9901),
        )
        env = {"S3_RESIGN_CLIENT_SECRET": CLIENT_SECRET, "S3_RESIGN_ORIGIN_SECRET": ORIGIN_SECRET}
        with Envoy(config, env=env) as envoy:
            step(f"public endpoint {envoy.endpoint} (admin http://{envoy.admin})")

            step("creating bucket 'demo' and object 'hello.txt' at the origin, with the origin keys")
            direct = s3_client(origin.endpoint, ORIGIN_KEY, ORIGIN_SECRET)
            direct.create_bucket(Bucket="demo")
            direct.put_object(Bucket="demo", Key="hello.txt", Body=b"Hello from the origin, through s3-resign!\n",
                              ContentType="text/plain")

            step(f"presigning a GET for the public host with the client keys ({CLIENT_KEY} / {CLIENT_SECRET})")
            public = s3_client(envoy.endpoint)
            url = public.generate_presigned_url("get_object", Params={"Bucket": "demo", "Key": "hello.txt"},
                                                ExpiresIn=3600)
            print(f"\n    {url}\n", flush=True)
            with urllib.request.urlopen(url) as r:
                body = r.read()
                print(f"    GET -> {r.status}: {body.decode().strip()}\n", flush=True)
            origin_hits = envoy.origin_requests()

            step("the same request with one signature digit changed never reaches the origin:")
            tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
            try:
                urllib.request.urlopen(tampered)
            except urllib.error.HTTPError as e:
                code = e.read().decode().split("<Code>")[1].split("</Code>")[0]
                print(f"    GET -> {e.code} {code}; origin requests still {envoy.origin_requests()}"
                      f" (was {origin_hits})\n", flush=True)

            metrics_url = f"http://{envoy.admin}/stats/prometheus"
            step(f"where to look: the metrics, {metrics_url} (the filter's series are s3_resign_*):")
            filter_series = [line for line in envoy.admin_get("/stats/prometheus").decode().splitlines()
                             if line.startswith("s3_resign_") and not line.endswith(" 0")]
            print("\n" + "\n".join(f"    {line}" for line in filter_series) + "\n", flush=True)
            print(f"    curl -s {metrics_url} | grep ^s3_resign_\n"
                  f"    dashboard: deploy/grafana/s3-resign-dashboard.json (Grafana, over Prometheus)\n"
                  f"    access log: one JSON line per request (s3_auth_kind, s3_access_key_id, s3_error_code)"
                  f" in Envoy's output, here {envoy.log}\n", flush=True)

            cli = (f"AWS_ACCESS_KEY_ID={CLIENT_KEY} AWS_SECRET_ACCESS_KEY={CLIENT_SECRET} "
                   f"AWS_DEFAULT_REGION=us-east-1 .tools/venv/bin/aws --endpoint-url {envoy.endpoint}")
            step("try it with the AWS CLI (installed in .tools/venv by make):")
            print(f"\n    {cli} s3 ls s3://demo\n    {cli} s3 cp s3://demo/hello.txt -\n"
                  f"    curl {shlex.quote(url)}\n", flush=True)
            if args.check:
                step("demo check passed; stopping")
                return 0
            step("serving; press Ctrl-C to stop and clean up")

            def interrupt(*_):
                raise KeyboardInterrupt

            # Explicitly: a shell starting us in the background would have us ignore SIGINT.
            signal.signal(signal.SIGINT, interrupt)
            signal.signal(signal.SIGTERM, interrupt)
            try:
                while envoy.process.poll() is None and origin.process.poll() is None:
                    time.sleep(0.5)
                step("a process exited; stopping")
                return 1
            except KeyboardInterrupt:
                print()
                step("stopping Envoy and the origin")
                return 0


if __name__ == "__main__":
    sys.exit(main())
