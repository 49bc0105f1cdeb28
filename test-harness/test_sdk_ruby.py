"""The AWS SDK for Ruby (aws-sdk-s3, Debian's ruby-aws-sdk-s3) through the proxy
(test-harness/ruby-client/s3.rb, one process per operation): objects, ranges, listing, copy,
`upload_file` in parts, presigned URLs fetched with `requests`, a `presigned_post` form posted
with `requests`, virtual-hosted through Envoy as its HTTP proxy. Asserted from the requests it
sent: every body signed by its SHA-256, with a signed Content-MD5, and `Expect: 100-continue`
(not signed) on every request with a body, which Envoy answers itself and drops."""

import hashlib
import os

import pytest
import requests
from botocore.exceptions import ClientError

from harness.clients import REGION
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.paths import RUBY_CLIENT, ruby_sdk_missing
from harness.programs import run_json_client
from test_post_policy import post, stored
from test_sdk_rust import file_of

_missing = ruby_sdk_missing()
pytestmark = pytest.mark.skipif(
    _missing is not None, reason=f"{_missing}: apt-get install -y ruby-aws-sdk-s3 (the AWS SDK for Ruby)"
)

MIB = 1024 * 1024


def rb(endpoint: str, bucket: str, op: str, *args, http_proxy: str | None = None, key: str = CLIENT_KEY,
       secret: str = CLIENT_SECRET, region: str = REGION, check: bool = True) -> dict:
    """Runs one operation; its JSON: `result` (or `error` and `code`) and the `requests` sent."""
    env = {k: v for k, v in os.environ.items() if k not in ("S3_PROXY", "AWS_CA_BUNDLE")}
    env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION=region,
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    if http_proxy:
        env["S3_PROXY"] = http_proxy
    return run_json_client(["ruby", str(RUBY_CLIENT), endpoint, bucket, op, *map(str, args)], env, op, check)


def puts(out: dict) -> list[dict]:
    return [r for r in out["requests"] if r["method"] == "PUT"]


@pytest.mark.every_origin
def test_objects(proxy, origin, origin_s3, bucket, tmp_path):
    key = "dir/a b&c=d.txt"
    data = b"from the Ruby SDK"
    path = tmp_path / "small.txt"
    path.write_bytes(data)
    e = proxy.endpoint
    out = rb(e, bucket, "put", key, path)
    [put] = puts(out)
    assert (put["sha256"], put["expect"]) == (hashlib.sha256(data).hexdigest(), "100-continue")
    assert put["signed"] == "content-md5;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-m"
    assert stored(origin_s3, bucket, key) == (data, "text/x-ruby", {"m": "1"})
    assert rb(e, bucket, "get", key)["result"]["body"] == data.decode()
    assert rb(e, bucket, "get", key, "bytes=5-7")["result"]["body"] == "the"
    assert rb(e, bucket, "head", key)["result"] == {"length": len(data), "contentType": "text/x-ruby",
                                                    "metadata": {"m": "1"}}
    rb(e, bucket, "copy", key, "dir/copy.txt")
    assert stored(origin_s3, bucket, "dir/copy.txt")[0] == data
    origin_s3.put_object(Bucket=bucket, Key="dir/sub/c.txt", Body=b"x")
    # Two keys a page: the listing is paginated.
    assert rb(e, bucket, "list", "dir/")["result"] == [key, "dir/copy.txt", "dir/sub/c.txt"]
    rb(e, bucket, "delete", "dir/copy.txt")
    with pytest.raises(ClientError):
        origin_s3.head_object(Bucket=bucket, Key="dir/copy.txt")


@pytest.mark.every_origin
def test_upload_file_in_parts(proxy, origin_s3, bucket, tmp_path):
    path = file_of(tmp_path, 11 * MIB + 1)
    data = path.read_bytes()
    out = rb(proxy.endpoint, bucket, "multipart", "multipart.bin", path)
    parts = [r for r in puts(out) if "partNumber=" in r["query"]]
    assert len(parts) == 3
    assert all(len(r["sha256"]) == 64 and r["md5"] and r["expect"] == "100-continue" for r in parts), parts
    obj = origin_s3.get_object(Bucket=bucket, Key="multipart.bin")
    assert obj["ETag"].endswith('-3"')
    assert obj["Body"].read() == data
    got = rb(proxy.endpoint, bucket, "get", "multipart.bin", f"bytes={5 * MIB - 1}-{5 * MIB}")["result"]
    assert got["sha256"] == hashlib.sha256(data[5 * MIB - 1:5 * MIB + 1]).hexdigest()


@pytest.mark.every_origin
def test_presigned_urls(proxy, origin_s3, bucket):
    url = rb(proxy.endpoint, bucket, "presign-put", "presigned.txt")["result"]
    r = requests.put(url, data=b"presigned put", timeout=30)
    assert r.status_code == 200, r.text
    assert stored(origin_s3, bucket, "presigned.txt")[0] == b"presigned put"
    url = rb(proxy.endpoint, bucket, "presign-get", "presigned.txt")["result"]
    r = requests.get(url, timeout=30)
    assert (r.status_code, r.content) == (200, b"presigned put")


@pytest.mark.every_origin
def test_presigned_post(proxy, origin_s3, bucket):
    """`Bucket#presigned_post`: a SigV4 browser form, posted with `requests`."""
    form = rb(proxy.endpoint, bucket, "presign-post")["result"]
    assert form["url"] == f"{proxy.endpoint}/{bucket}"
    assert form["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    r = post(proxy, form, b"posted by a form", extra_fields={"key": "uploads/form.txt"}, content_type="text/plain")
    assert r.status_code == 204, r.text
    assert stored(origin_s3, bucket, "uploads/form.txt")[:2] == (b"posted by a form", "text/plain")
    # Outside the policy's key prefix: refused, nothing stored.
    r = post(proxy, form, b"elsewhere", extra_fields={"key": "other/form.txt"}, content_type="text/plain")
    assert r.status_code == 403, r.text
    assert stored(origin_s3, bucket, "other/form.txt") is None


def test_virtual_hosted_through_envoy_as_http_proxy(proxy, origin_s3, bucket, tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"virtual")
    endpoint = f"http://{PUBLIC_TEST_DOMAIN}"
    out = rb(endpoint, bucket, "put", "v.txt", path, http_proxy=proxy.endpoint)
    assert [r["host"] for r in puts(out)] == [f"{bucket}.{PUBLIC_TEST_DOMAIN}"]
    assert stored(origin_s3, bucket, "v.txt")[0] == b"virtual"
    assert rb(endpoint, bucket, "get", "v.txt", http_proxy=proxy.endpoint)["result"]["body"] == "virtual"


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket, tmp_path):
    path = file_of(tmp_path, 2 * MIB)
    out = rb(proxy.endpoint, bucket, "put", "refused", path, secret="not-the-secret", check=False)
    assert out.get("code") == "SignatureDoesNotMatch", out
    assert stored(origin_s3, bucket, "refused") is None
