"""The AWS SDK for JavaScript v3 through the proxy (test-harness/js-client/s3.mjs, one Node
process per scenario): objects path-style and virtual-hosted, a multipart upload through
lib-storage, presigned URLs fetched with Node's fetch, a createPresignedPost form posted as
FormData. The client runs with its default checksums (a CRC32 on each upload); presigned uploads
are made as the README advises, and the two catches it documents are asserted."""

import pytest
from botocore.exceptions import ClientError

from harness.clients import js_client
from harness.envoy_config import PUBLIC_TEST_DOMAIN
from harness.programs import FORM_TYPED_UPLOAD
from test_post_policy import stored
from test_sdk_rust import file_of

pytestmark = pytest.mark.every_origin

MIB = 1024 * 1024


def js(scenario: str, endpoint: str, bucket: str, arg: str = "", env: dict | None = None) -> dict:
    return js_client("s3.mjs", scenario, endpoint, bucket, arg, env=env)


@pytest.mark.parametrize("style", ["path", "virtual"])
def test_objects(proxy, origin_s3, bucket, style):
    if style == "path":
        seen = js("objects", proxy.endpoint, bucket)
        assert seen.pop("hosts") == ["localhost"]
    else:  # bucket.s3.mydomain.test:port, which the script's agent connects to 127.0.0.1
        seen = js("objects-virtual", f"http://{PUBLIC_TEST_DOMAIN}:{proxy.port}", bucket)
        assert seen.pop("hosts") == [f"{bucket}.{PUBLIC_TEST_DOMAIN}"]
    assert seen == {"body": "from the JS SDK", "contentType": "text/x-js", "metadata": {"m": "1"}, "length": 15,
                    "keys": ["dir/a b+c=d.txt"]}
    assert stored(origin_s3, bucket, "dir/a b+c=d.txt") == (b"from the JS SDK", "text/x-js", {"m": "1"})
    with pytest.raises(ClientError):
        origin_s3.head_object(Bucket=bucket, Key="gone.txt")


@pytest.mark.parametrize("handler", ["node-http", "node-http2"])
def test_objects_over_https_with_h2_offered(h2_proxy, origin_s3, bucket, handler):
    """The default handler (node:http) speaks HTTP/1.1 to a listener that offers h2; the
    SDK's NodeHttp2Handler speaks HTTP/2 and signs `:authority` in place of `host` (its
    host-header middleware sets `:authority` for an h2 handler), as SigV4 over HTTP/2 has
    it. The filter refused that list (400 AuthorizationHeaderMalformed, "a signed header name
    is not a lower-case token"); it now verifies `:authority` and signs the same value as
    `host` for the origin, which Envoy reaches over HTTP/1.1."""
    env = {"NODE_EXTRA_CA_CERTS": h2_proxy.ca_bundle, **({"S3_HTTP2": "1"} if handler == "node-http2" else {})}
    with h2_proxy.speaking("HTTP/2" if handler == "node-http2" else "HTTP/1.1"):
        seen = js("objects", h2_proxy.endpoint, bucket, env=env)
    assert seen.pop("hosts") == ["localhost"]
    assert seen["keys"] == ["dir/a b+c=d.txt"]
    assert stored(origin_s3, bucket, "dir/a b+c=d.txt") == (b"from the JS SDK", "text/x-js", {"m": "1"})


@pytest.mark.parametrize("handler", ["node-http", "node-http2"])
def test_requests_without_a_body(h2_proxy, origin, origin_s3, bucket, handler):
    """Found by compatibility sweeps (CS121, CS123, 2026-12-06): over HTTP/2 the SDK sends a
    request without a body as a head without `content-length`, its end in an empty DATA
    frame after it. The filter, judging the head, refused CreateMultipartUpload of an object
    typed `multipart/form-data` as a form in a signed POST (400 InvalidArgument); and Envoy
    framed every such request for the HTTP/1 origin as an empty chunked body, which s3s-fs
    answers 411 and Ceph 411 or 501. Such a head now waits for its body: an empty one goes on
    with `content-length: 0` (`test_security.py::test_a_head_that_says_nothing_of_its_body_waits_for_it`;
    `test_post_policy.py::test_a_signed_post_cannot_carry_a_form` holds the refusal of a byte)."""
    env = {"NODE_EXTRA_CA_CERTS": h2_proxy.ca_bundle, **({"S3_HTTP2": "1"} if handler == "node-http2" else {})}
    with h2_proxy.speaking("HTTP/2" if handler == "node-http2" else "HTTP/1.1"):
        seen = js("bodiless", h2_proxy.endpoint, bucket, env=env)
    expected = {"putEmpty": 200, "copy": 200, "get": 200, "body": "", "create": 200, "createAbort": 204,
                "createFormTyped": 200, "createFormTypedAbort": 204, "delete": 204}
    if FORM_TYPED_UPLOAD in origin.deviations:  # the origin's refusal, not the filter's
        del expected["createFormTypedAbort"]
        expected["createFormTyped"] = "MalformedPOSTRequest"
    assert seen == expected
    assert origin_s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""


def test_multipart_upload_through_lib_storage(proxy, origin_s3, bucket, tmp_path):
    path = file_of(tmp_path, 12 * MIB + 1)
    seen = js("multipart", proxy.endpoint, bucket, str(path))
    assert seen["parts"] == [1, 2, 3]
    obj = origin_s3.get_object(Bucket=bucket, Key="multipart.bin")
    assert obj["ETag"].endswith('-3"')
    assert obj["Body"].read() == path.read_bytes()


def test_presigned_urls(proxy, origin, origin_s3, bucket):
    seen = js("presigned", proxy.endpoint, bucket)
    assert (seen["putStatus"], seen["getStatus"], seen["body"]) == (200, 200, "presigned put")
    assert stored(origin_s3, bucket, "presigned.txt")[0] == b"presigned put"

    # ChecksumAlgorithm "SHA256" signs the SHA-256 of an empty body into the URL: the filter
    # refuses any other body before the origin sees it.
    sha256 = seen["catches"]["sha256"]
    assert "x-amz-checksum-sha256" in sha256["query"]
    assert sha256["status"] == 400 and "<Code>BadDigest</Code>" in sha256["body"], sha256
    assert stored(origin_s3, bucket, "catch-sha256.txt") is None

    # The default requestChecksumCalculation presigns a CRC32 of the empty body, passed to the
    # origin as signed: Garage compares it (400 InvalidDigest), s3s-fs 0.14.1 and Ceph 16.2 do
    # not (Ceph compares no x-amz-checksum-*).
    crc32 = seen["catches"]["defaultCrc32"]
    assert "x-amz-checksum-crc32" in crc32["query"]
    if origin.kind in ("s3s-fs", "ceph"):
        assert crc32["status"] == 200
    else:
        assert crc32["status"] == 400 and "InvalidDigest" in crc32["body"], crc32
        assert stored(origin_s3, bucket, "catch-defaultCrc32.txt") is None


def test_presigned_post(proxy, origin_s3, bucket):
    seen = js("post", proxy.endpoint, bucket)
    assert seen["url"] == f"{proxy.endpoint}/{bucket}"
    assert seen["status"] == 201 and "<Key>uploads/form.txt</Key>" in seen["body"], seen
    assert stored(origin_s3, bucket, "uploads/form.txt")[:2] == (b"posted by a form", "text/plain")
