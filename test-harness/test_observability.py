"""What operators see: the filter's Prometheus counters after known traffic, and its log
lines (one per rejection; the canonical request at debug level; never a secret)."""

import re

import pytest
from botocore.exceptions import ClientError

from harness import Envoy, filter_config_json, render
from harness.clients import RawRequest, presign, s3_client, send, sign_header
from harness.envoy_config import CLIENT_SECRET, ORIGIN_SECRET


def prometheus(envoy) -> dict[str, int]:
    """The filter's series from /stats/prometheus: {'name{label="v"}': value}."""
    series = {}
    for line in envoy.admin_get("/stats/prometheus").decode().splitlines():
        if line.startswith("s3_resign_"):
            name, value = line.rsplit(" ", 1)
            series[name.removesuffix("{}")] = int(value)
    return series


def test_counters_after_known_traffic(make_proxy, bucket):
    envoy = make_proxy()
    ok = s3_client(envoy.endpoint)
    ok.put_object(Bucket=bucket, Key="a", Body=b"1")
    ok.put_object(Bucket=bucket, Key="b", Body=b"2")
    url = presign(envoy.authority, "GET", f"/{bucket}/a")
    assert send(envoy.authority, url).status == 200
    for _ in range(3):
        with pytest.raises(ClientError):
            s3_client(envoy.endpoint, secret="wrong").get_object(Bucket=bucket, Key="a")
    with pytest.raises(ClientError):
        s3_client(envoy.endpoint, key="NOBODY").get_object(Bucket=bucket, Key="a")
    assert send(envoy.authority, RawRequest("GET", f"/{bucket}/a")).status == 403

    got = prometheus(envoy)
    assert got['s3_resign_requests_total{kind="header_v4"}'] == 2
    assert got['s3_resign_requests_total{kind="presigned_v4"}'] == 1
    assert got['s3_resign_requests_total{kind="anonymous"}'] == 0
    assert got['s3_resign_requests_total{kind="chunked_v4"}'] == 0
    assert got['s3_resign_rejections_total{code="SignatureDoesNotMatch"}'] == 3
    assert got['s3_resign_rejections_total{code="InvalidAccessKeyId"}'] == 1
    assert got['s3_resign_rejections_total{code="AccessDenied"}'] == 1
    assert got['s3_resign_rejections_total{code="NotImplemented"}'] == 0
    # One configuration load per VM: Envoy's main thread, its base VM and the one worker.
    assert got['s3_resign_config_reloads_total{result="ok"}'] >= 2
    assert got['s3_resign_config_reloads_total{result="invalid"}'] == 0
    # Every series the README documents exists, at zero or more.
    codes = {m.group(1) for k in got if (m := re.match(r's3_resign_rejections_total\{code="(\w+)"\}', k))}
    assert len(codes) == 14


def test_anonymous_forwards_are_counted(make_proxy, bucket):
    envoy = make_proxy(anonymous="forward")
    send(envoy.authority, RawRequest("GET", f"/{bucket}/public"))
    assert prometheus(envoy)['s3_resign_requests_total{kind="anonymous"}'] == 1


def test_rejection_log_lines(origin, bucket):
    config = render(
        origin_host="127.0.0.1",
        origin_port=origin.port,
        filter_config=filter_config_json(origin.authority, log_level="debug"),
    )
    with Envoy(config, log_level="debug") as envoy:
        bad = sign_header(envoy.authority, "PUT", f"/{bucket}/logged%20key", {"X-Amz-Meta-A": "1"}, b"x",
                          secret="wrong-secret")
        assert send(envoy.authority, bad).status == 403
        good = sign_header(envoy.authority, "GET", f"/{bucket}?list-type=2")
        assert send(envoy.authority, good).status == 200
        log = envoy.log_text()
    rejected = [line for line in log.splitlines() if "rejected PUT" in line]
    assert len(rejected) == 1
    assert "[info]" in rejected[0]
    assert f"rejected PUT /{bucket}/logged%20key (access key CLIENTKEY): SignatureDoesNotMatch" in rejected[0]
    # At debug level: what the filter signed, for comparison with the client's own.
    assert "canonical request:\nPUT\n/" + bucket + "/logged%20key\n" in log
    assert "x-amz-meta-a:1\n" in log
    assert "string to sign:\nAWS4-HMAC-SHA256\n" in log
    # Accepted requests are not logged per request at info.
    assert "rejected GET" not in log
    for secret in (CLIENT_SECRET, ORIGIN_SECRET, "wrong-secret"):
        assert secret not in log
    assert bad.header("Authorization").rsplit("=", 1)[1] not in log


def test_the_filter_log_level_holds_back_the_detail(origin, bucket):
    """Envoy lets debug lines through; the filter's own default level (info) does not emit them."""
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=filter_config_json(origin.authority))
    with Envoy(config, log_level="debug") as envoy:
        bad = sign_header(envoy.authority, "GET", f"/{bucket}/k", secret="wrong-secret")
        assert send(envoy.authority, bad).status == 403
        log = envoy.log_text()
    assert "SignatureDoesNotMatch" in log
    assert "canonical request" not in log
