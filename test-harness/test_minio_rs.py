"""minio-rs (crates.io `minio` 0.4.0, MinIO's Rust SDK: a SigV4 signer of its own, not the AWS
SDK's nor minio-go's) through the proxy, one process per operation of
test-harness/minio-rs-client (a compatibility sweep, 2026-12-07). It addresses any host but
AWS's path-style, signs every header it sends and the body's SHA-256, lists with
`encoding-type=url`, uploads in parts from `part_size`, and sends aws-chunked bodies with a
trailing checksum when asked (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, or with
`use_signed_streaming` `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`), the trailer declared as
`X-Amz-Checksum-CRC32` (s3s-fs 0.14.1 matches that name case-sensitively and refuses it, sent
directly too). User metadata keys must be given with their `x-amz-meta-` prefix. Without a
region in its `BaseUrl` it asks the bucket's location first; the filter takes a signature for
any region."""

import json
import subprocess

import pytest
import requests

from harness.clients import REGION
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET
from harness.paths import rust_client_binary
from harness.programs import URL_ENCODED_LISTING, environ_without_proxies
from test_post_policy import stored

KEYS = ["a b", "a+b", "a=b&c", "~tilde", "é/ü", "%41", "a//b", "*", "'", "!", "(", "x (1)!*'.txt"]


def minio(endpoint: str, bucket: str, operation: str, *args: str, key: str = CLIENT_KEY, secret: str = CLIENT_SECRET,
          region: str = REGION, token: str | None = None, lookup: bool = False) -> dict:
    env = environ_without_proxies("aws_session_token", "minio_region_lookup")
    env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION=region)
    if token:
        env["AWS_SESSION_TOKEN"] = token
    if lookup:
        env["MINIO_REGION_LOOKUP"] = "1"
    done = subprocess.run([rust_client_binary("minio-rs-client"), endpoint, bucket, operation, *args],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.every_origin
def test_objects(proxy, origin_s3, bucket):
    """PUT with a type and metadata, GET whole and by range, stat and DELETE of keys that need
    encoding."""
    for key in KEYS:
        body = f"body {key}"
        assert minio(proxy.endpoint, bucket, "put", key, body, "text/x-m", "x-amz-meta-c=blue")["status"] == 200, key
        assert stored(origin_s3, bucket, key) == (body.encode(), "text/x-m", {"c": "blue"}), key
        assert minio(proxy.endpoint, bucket, "range", key, "1", "3")["body"] == body[1:4], key
        assert minio(proxy.endpoint, bucket, "get", key)["body"] == body, key
        assert minio(proxy.endpoint, bucket, "stat", key)["metadata"] == {"c": "blue"}, key
        assert minio(proxy.endpoint, bucket, "delete", key)["status"] == 204, key
        assert stored(origin_s3, bucket, key) is None, key


@pytest.mark.every_origin
def test_parts_presigned_get_and_region_lookup(proxy, origin_s3, bucket):
    """An upload in 5 MiB parts, a presigned GET, and a stat after asking the bucket's location
    (it then signs for the origin's region, Garage's `garage`)."""
    size = 5 * 1024 * 1024 + 1000
    assert minio(proxy.endpoint, bucket, "put-big", "big é+", str(size))["status"] == 200
    data = bytes(i % 251 for i in range(size))
    assert stored(origin_s3, bucket, "big é+")[0] == data
    url = minio(proxy.endpoint, bucket, "presign-get", "big é+")["url"]
    r = requests.get(url, timeout=30)
    assert (r.status_code, r.content) == (200, data)
    assert requests.get(url.replace("big%20", "bag%20"), timeout=30).status_code == 403
    assert minio(proxy.endpoint, bucket, "stat", "big é+", lookup=True)["size"] == size


@pytest.mark.every_origin
def test_listings(proxy, origin_s3, bucket, origin_deviation):
    """ListObjectsV2 in pages of two, with `/` as delimiter and recursive (an empty
    `delimiter=`, which s3s-fs 0.14.1 answers by closing the connection, sent directly too)."""
    origin_deviation(URL_ENCODED_LISTING)
    names = ["l/a b", "l/a+b", "l/é", "l/sub/x", "l/~t", "l/=&", "l/%x"]
    for name in names:
        origin_s3.put_object(Bucket=bucket, Key=name, Body=b"x")
    page = minio(proxy.endpoint, bucket, "list", "l/")
    assert (sorted(page["keys"]), page["prefixes"]) == (sorted(n for n in names if "/sub/" not in n), ["l/sub/"]), page
    page = minio(proxy.endpoint, bucket, "list", "l/", "recursive")
    assert sorted(page.get("keys", [])) == sorted(names), page


@pytest.mark.every_origin
@pytest.mark.parametrize("signed", [False, True], ids=["unsigned-trailer", "signed-trailer"])
def test_trailing_checksums_as_the_origin_takes_them(proxy, origin, origin_s3, bucket, signed):
    """An aws-chunked upload with a CRC32 trailer, unsigned or signed: through the proxy it
    ends as it ends sent straight to the origin (Garage refuses correct signed trailers, Ceph 16
    any trailer, s3s-fs 0.14.1 a trailer declared in another case than it is sent)."""
    extra = ["signed"] if signed else []
    straight = minio(origin.endpoint, bucket, "put-trailer", "straight", "70000", *extra,
                     key=origin.access_key, secret=origin.secret_key, region=origin.region)
    proxied = minio(proxy.endpoint, bucket, "put-trailer", "proxied", "70000", *extra)
    assert proxied.get("status") == straight.get("status") and proxied.get("code") == straight.get("code"), (proxied, straight)
    if straight.get("status") == 200:
        assert stored(origin_s3, bucket, "proxied")[0] == bytes(i % 251 for i in range(70000))


def test_a_session_token_is_refused(proxy, origin_s3, bucket):
    r = minio(proxy.endpoint, bucket, "put", "tok", "x", token="FQoGZXIvYXdzE-token")
    assert "invalidtoken" in r["code"].lower(), r
    assert stored(origin_s3, bucket, "tok") is None


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket):
    r = minio(proxy.endpoint, bucket, "put", "w", "x", secret="not-it")
    assert "signaturedoesnotmatch" in r["code"].lower(), r
    assert stored(origin_s3, bucket, "w") is None
