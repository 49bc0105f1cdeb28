"""HTTP/3: the filter behind a QUIC listener (Envoy's `codec_type: HTTP3`) as behind TCP, and
requests sent in TLS early data (0-RTT), which whoever captured them could replay: only those
that change nothing go on (a sweep found Envoy takes 0-RTT by default, CS127, 2026-12-06)."""

import tempfile
from pathlib import Path

import pytest

from conftest import certificates
from harness import Envoy, filter_config_json, render
from harness.clients import RawRequest, presign, send_h3, sign_header
from harness.envoy_config import ALPN_H2, with_quic, with_tls


@pytest.fixture(scope="module")
def h3_proxy(origin):
    """The proxy on TLS (h2, http/1.1) and, beside it, on QUIC (h3), 0-RTT taken."""
    with tempfile.TemporaryDirectory(prefix="s3-resign-h3-") as tmp:
        ca, cert, key = certificates(Path(tmp))
        config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=filter_config_json(origin))
        config = with_quic(with_tls(config, str(cert), str(key), ALPN_H2), str(cert), str(key))
        with Envoy(config) as envoy:
            envoy.ca_bundle, envoy.h3_port = str(ca), envoy.quic_port()
            yield envoy


def over_h3(envoy, *requests: RawRequest, **kwargs):
    return send_h3(envoy.h3_port, envoy.ca_bundle, authority(envoy), list(requests), **kwargs)


def authority(envoy) -> str:
    return f"localhost:{envoy.h3_port}"


def put(envoy, target: str, body: bytes) -> RawRequest:
    signed = sign_header(authority(envoy), "PUT", target, {"Content-Length": str(len(body))}, body)
    return RawRequest(signed.method, signed.target, signed.headers, body)


def test_signed_requests_over_http3(h3_proxy, origin_s3, bucket):
    stored = over_h3(h3_proxy, put(h3_proxy, f"/{bucket}/k", b"over h3")).responses[0]
    assert stored.status == 200, stored
    assert origin_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"over h3"
    url = presign(authority(h3_proxy), "GET", f"/{bucket}/k")
    tampered = RawRequest("GET", url.target.replace(f"/{bucket}/k", f"/{bucket}/K"), url.headers)
    got, refused = over_h3(h3_proxy, url, tampered).responses
    assert (got.status, got.body) == (200, b"over h3"), got
    assert refused.status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in refused.body, refused


def test_only_a_request_that_changes_nothing_goes_on_in_early_data(h3_proxy, origin_s3, bucket):
    """A `PUT` and a `DELETE` sent in 0-RTT are answered 425 `TooEarly` (RFC 8470), nothing
    having gone on; a `GET` beside them is served. Each goes on once the handshake is done."""
    origin_s3.put_object(Bucket=bucket, Key="kept", Body=b"kept")
    tickets = []
    over_h3(h3_proxy, presign(authority(h3_proxy), "GET", f"/{bucket}/kept"), tickets=tickets)
    assert tickets, "no session ticket to resume with"
    write = put(h3_proxy, f"/{bucket}/early", b"early")
    delete = sign_header(authority(h3_proxy), "DELETE", f"/{bucket}/kept")
    read = presign(authority(h3_proxy), "GET", f"/{bucket}/kept")
    before = h3_proxy.origin_requests()
    early = over_h3(h3_proxy, write, delete, read, session_ticket=tickets[-1])
    assert early.early_data_accepted, "the requests did not go in early data"
    stored, deleted, got = early.responses
    for answer in (stored, deleted):
        assert answer.status == 425 and b"<Code>TooEarly</Code>" in answer.body, answer
    assert (got.status, got.body) == (200, b"kept"), got
    assert h3_proxy.origin_requests() == before + 1
    assert "early" not in [o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    later = over_h3(h3_proxy, write, delete)
    assert not later.early_data_accepted
    assert [r.status for r in later.responses] == [200, 204], later
    assert origin_s3.get_object(Bucket=bucket, Key="early")["Body"].read() == b"early"
