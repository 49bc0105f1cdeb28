"""envoy/https-origin.yaml through a real Envoy, in front of an origin behind TLS (a second
Envoy terminating TLS with a certificate from a CA made by the test, in front of s3s-fs):
presigned, header-signed and signed-chunk requests go through; an origin whose certificate
is for another name, or from a CA not trusted, gets nothing (503), not even the request."""

import pytest
from botocore.exceptions import ClientError

from harness import Envoy, filter_config_json, render
from harness.chunked import chunked_put
from harness.clients import presign, s3_client, send, sign_header
from harness.envoy_config import HTTPS_ORIGIN_YAML, with_origin_name
from harness.tls import Authority, tls_front

ORIGIN_NAME = "s3-origin.test"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    trusted = Authority.create(directory, "trusted-ca")
    return {
        "dir": directory,
        "trusted": trusted,
        "unknown": Authority.create(directory, "unknown-ca"),
        "bundle": trusted.bundle_with_system(directory),
    }


def front_for(pki, origin, name: str, ca: str) -> Envoy:
    cert, key = pki[ca].issue(pki["dir"], name)
    return tls_front(cert, key, origin.port)


def https_proxy(pki, front) -> Envoy:
    """envoy/https-origin.yaml pointed at the TLS front, trusting the system's CAs and the
    test CA, for the origin name ORIGIN_NAME."""
    config = render(origin_host="127.0.0.1", origin_port=front.port,
                    filter_config=filter_config_json(f"{ORIGIN_NAME}:{front.port}"), reference=HTTPS_ORIGIN_YAML)
    # Health checks would reach the front too; these tests count what the requests send.
    config["static_resources"]["clusters"][0].pop("health_checks")
    return Envoy(with_origin_name(config, ORIGIN_NAME, str(pki["bundle"])))


def test_signed_requests_reach_an_https_origin(pki, origin, origin_s3, bucket):
    with front_for(pki, origin, ORIGIN_NAME, "trusted") as front, https_proxy(pki, front) as proxy:
        # Header auth (boto3), a presigned URL, and a signed aws-chunked upload.
        s3 = s3_client(proxy.endpoint)
        s3.put_object(Bucket=bucket, Key="over tls", Body=b"header-signed")
        assert origin_s3.get_object(Bucket=bucket, Key="over tls")["Body"].read() == b"header-signed"
        r = send(proxy.authority, presign(proxy.authority, "GET", f"/{bucket}/over%20tls"))
        assert (r.status, r.body) == (200, b"header-signed")
        data = bytes(range(256)) * 400
        r = send(proxy.authority, chunked_put(proxy.authority, f"/{bucket}/chunked", data))
        assert r.status == 200, r.body
        assert origin_s3.get_object(Bucket=bucket, Key="chunked")["Body"].read() == data
        assert proxy.counter("cluster.s3_origin.ssl.handshake") >= 1
        # HTTP/1.1 to the origin.
        assert proxy.counter("cluster.s3_origin.upstream_cx_http1_total") >= 1
        assert proxy.counter("cluster.s3_origin.upstream_cx_http2_total") == 0
        assert front.front_requests() == 3
        # Refusals stay refusals.
        with pytest.raises(ClientError) as e:
            s3_client(proxy.endpoint, secret="wrong").get_object(Bucket=bucket, Key="over tls")
        assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
        assert front.front_requests() == 3


@pytest.mark.parametrize(
    "name, ca, failure",
    [
        ("elsewhere.test", "trusted", "ssl.fail_verify_san"),
        (ORIGIN_NAME, "unknown", "ssl.fail_verify_error"),
    ],
    ids=["certificate-for-another-name", "unknown-ca"],
)
def test_an_origin_that_fails_verification_gets_nothing(pki, origin, origin_s3, bucket, name, ca, failure):
    with front_for(pki, origin, name, ca) as front, https_proxy(pki, front) as proxy:
        requests = [
            sign_header(proxy.authority, "PUT", f"/{bucket}/never", body=b"x"),
            presign(proxy.authority, "GET", f"/{bucket}/never"),
            chunked_put(proxy.authority, f"/{bucket}/never-chunked", b"y" * 70_000),
        ]
        for request in requests:
            assert send(proxy.authority, request).status == 503
        assert proxy.counter(f"cluster.s3_origin.{failure}") >= 1
        assert proxy.counter("cluster.s3_origin.upstream_cx_connect_fail") >= 1
        # Nothing got past the handshake: no request at the front, none at s3s-fs.
        assert front.front_requests() == 0
        assert front.backend_requests() == 0
    for key in ("never", "never-chunked"):
        with pytest.raises(ClientError):
            origin_s3.head_object(Bucket=bucket, Key=key)


def test_the_https_shape_is_the_reference_with_a_tls_cluster():
    """https-origin.yaml differs from envoy.yaml only in the origin: its cluster and the
    filter's origin_authority. Everything else (listener, filter settings) stays in step."""
    import json

    import yaml

    from harness.envoy_config import wasm_filter
    from harness.paths import ENVOY_YAML

    reference, https = (yaml.safe_load(p.read_text()) for p in (ENVOY_YAML, HTTPS_ORIGIN_YAML))
    filters = [json.loads(wasm_filter(c)["configuration"]["value"]) for c in (reference, https)]
    assert filters[1].pop("origin_authority") == "s3.example.com"
    filters[0].pop("origin_authority")
    assert filters[0] == filters[1]
    for config in (reference, https):
        wasm_filter(config)["configuration"]["value"] = ""
        config["static_resources"].pop("clusters")
    assert reference == https
    cluster = yaml.safe_load(HTTPS_ORIGIN_YAML.read_text())["static_resources"]["clusters"][0]
    tls = cluster["transport_socket"]["typed_config"]
    assert tls["sni"] == "s3.example.com"
    assert tls["common_tls_context"]["validation_context"]["match_typed_subject_alt_names"] == [
        {"san_type": "DNS", "matcher": {"exact": "s3.example.com"}}]
    endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert endpoint["address"]["socket_address"] == {"address": "s3.example.com", "port_value": 443}
