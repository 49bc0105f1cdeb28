"""MinIO's JavaScript client (npm `minio`, test-harness/js-client/minio.mjs, one Node process
per scenario) through the proxy, with its own SigV4 signer: objects path-style (the bucket's
region asked first, GET ?location) and virtual-hosted, a ranged get, a server-side copy,
a multipart upload (the bucket's incomplete uploads listed first), a multi-object delete, presigned GET and PUT URLs and a POST policy
form sent with Node's fetch, and a wrong secret refused."""

import pytest

from harness.clients import js_client
from harness.envoy_config import PUBLIC_TEST_DOMAIN
from harness.programs import LISTED_UPLOADS
from test_post_policy import stored
from test_sdk_js_v2 import assert_presigned_and_posted, assert_wrong_secret_refused

pytestmark = pytest.mark.every_origin

MIB = 1024 * 1024


def minio_js(scenario: str, endpoint: str, bucket: str) -> dict:
    return js_client("minio.mjs", scenario, endpoint, bucket)


@pytest.mark.parametrize("style", ["path", "virtual"])
def test_objects(proxy, origin_s3, bucket, style):
    if style == "path":
        seen = minio_js("objects", proxy.endpoint, bucket)
        assert seen.pop("hosts") == ["localhost"]
    else:  # bucket.s3.mydomain.test:port, which the script's agent connects to 127.0.0.1
        seen = minio_js("objects-virtual", f"http://{PUBLIC_TEST_DOMAIN}:{proxy.port}", bucket)
        assert seen.pop("hosts") == [f"{bucket}.{PUBLIC_TEST_DOMAIN}"]
    key = "dir/a b&c=d.txt"
    assert seen == {"body": "from minio-js", "range": "minio", "contentType": "text/x-minio", "metadata": "1",
                    "keys": [key]}
    assert stored(origin_s3, bucket, key) == (b"from minio-js", "text/x-minio", {"m": "1"})
    assert stored(origin_s3, bucket, "copy.txt")[0] == b"from minio-js"
    assert stored(origin_s3, bucket, "gone-1.txt") is None and stored(origin_s3, bucket, "gone-2.txt") is None


def test_multipart(proxy, origin_s3, bucket, origin_deviation):
    origin_deviation(LISTED_UPLOADS)
    assert minio_js("multipart", proxy.endpoint, bucket) == {"size": 6 * MIB}
    assert stored(origin_s3, bucket, "multipart.bin")[0] == b"m" * (6 * MIB)


def test_presigned_urls_and_a_post_policy_form(proxy, origin_s3, bucket):
    assert_presigned_and_posted(minio_js("presigned", proxy.endpoint, bucket), origin_s3, bucket, "minio-js")


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket):
    assert_wrong_secret_refused(lambda: minio_js("wrong-secret", proxy.endpoint, bucket), proxy, origin_s3, bucket)
