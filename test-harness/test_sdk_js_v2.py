"""The AWS SDK for JavaScript v2 (npm `aws-sdk`, test-harness/js-client/sdk_v2.mjs, one Node
process per scenario) through the proxy: its own SigV4 signer (and its SigV2 one), objects
path-style and virtual-hosted, a ranged get, a server-side copy, a multi-object delete, a
ManagedUpload in parts, presigned URLs and a createPresignedPost form sent with Node's fetch,
and a wrong secret refused."""

import pytest

from harness.clients import js_client
from harness.envoy_config import PUBLIC_TEST_DOMAIN
from test_post_policy import stored

pytestmark = pytest.mark.every_origin

MIB = 1024 * 1024


def sdk_v2(scenario: str, endpoint: str, bucket: str, signer: str = "v4") -> dict:
    return js_client("sdk_v2.mjs", scenario, endpoint, bucket, signer)


@pytest.mark.parametrize("style", ["path", "virtual"])
def test_objects(proxy, origin_s3, bucket, style):
    if style == "path":
        seen = sdk_v2("objects", proxy.endpoint, bucket)
        assert seen.pop("hosts") == ["localhost"]
    else:  # bucket.s3.mydomain.test:port, which the script's agent connects to 127.0.0.1
        seen = sdk_v2("objects-virtual", f"http://{PUBLIC_TEST_DOMAIN}:{proxy.port}", bucket)
        assert seen.pop("hosts") == [f"{bucket}.{PUBLIC_TEST_DOMAIN}"]
    key = "dir/a b+c=d.txt"
    assert seen == {"body": "from the JS SDK v2", "range": "the", "contentType": "text/x-js2", "metadata": {"m": "1"},
                    "keys": [key], "deleted": ["gone-1.txt", "gone-2.txt"]}
    assert stored(origin_s3, bucket, key) == (b"from the JS SDK v2", "text/x-js2", {"m": "1"})
    assert stored(origin_s3, bucket, "copy.txt")[0] == b"from the JS SDK v2"
    assert stored(origin_s3, bucket, "gone-1.txt") is None and stored(origin_s3, bucket, "gone-2.txt") is None


def test_objects_signed_with_sigv2(origin, make_proxy, origin_s3, bucket):
    """The SDK's SigV2 signer (`signatureVersion: "s3"`): SigV2 at the origin where it takes it,
    upgraded to SigV4 for Garage, which does not."""
    proxy = make_proxy(origin_signature_version="v4" if origin.kind == "garage" else "same")
    seen = sdk_v2("objects", proxy.endpoint, bucket, signer="s3")
    assert seen["body"] == "from the JS SDK v2" and seen["deleted"] == ["gone-1.txt", "gone-2.txt"]
    assert stored(origin_s3, bucket, "dir/a b+c=d.txt") == (b"from the JS SDK v2", "text/x-js2", {"m": "1"})


def test_multipart(proxy, origin_s3, bucket):
    assert sdk_v2("multipart", proxy.endpoint, bucket) == {"key": "multipart.bin"}
    assert stored(origin_s3, bucket, "multipart.bin")[0] == b"u" * (6 * MIB)


def test_presigned_urls_and_a_post_form(proxy, origin_s3, bucket):
    assert_presigned_and_posted(sdk_v2("presigned", proxy.endpoint, bucket), origin_s3, bucket, "the JS SDK v2")


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket):
    assert_wrong_secret_refused(lambda: sdk_v2("wrong-secret", proxy.endpoint, bucket), proxy, origin_s3, bucket)


def assert_presigned_and_posted(seen: dict, origin_s3, bucket: str, client: str):
    """A JavaScript client's `presigned` scenario: a presigned PUT and GET and a form post of
    `text/x-form`, each stored as the client sent it."""
    assert seen == {"putStatus": 200, "getStatus": 200, "getType": "text/x-presigned",
                    "getBody": f"presigned by {client}", "postStatus": 204}
    assert stored(origin_s3, bucket, "presigned.txt")[0] == f"presigned by {client}".encode()
    assert stored(origin_s3, bucket, "form.txt")[:2] == (f"posted by {client}".encode(), "text/x-form")


def assert_wrong_secret_refused(run, proxy, origin_s3, bucket: str):
    """A JavaScript client's `wrong-secret` scenario, `run`: refused, the origin never asked."""
    origin_requests = proxy.origin_requests()
    assert run() == {"code": "SignatureDoesNotMatch"}
    assert proxy.origin_requests() == origin_requests
    assert stored(origin_s3, bucket, "never.txt") is None
