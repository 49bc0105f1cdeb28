"""rust-s3 0.37.2 (crates.io `rust-s3`, the `s3` crate: a SigV4 signer of its own over reqwest,
not the AWS SDK's) through the proxy (test-harness/rust-s3-client, one process per operation;
a compatibility sweep, 2026-12-07). It signs every header it sends (a body's `content-md5`,
`content-length`, `content-type`, `range`) and the body's SHA-256, encodes the key itself, and
goes multipart from 8 MiB in `put_object_stream`. Virtual-hosted requests name the bucket in
the host and reach Envoy as an HTTP proxy (`HTTP_PROXY`)."""

import json
import subprocess

import pytest
import requests

from harness.clients import REGION
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import environ_without_proxies
from harness.paths import rust_client_binary
from test_post_policy import stored

# Keys it must encode as S3 does; a trailing `/` too (s3s-fs keeps such a key as a folder,
# which it does not give back as an object).
KEYS = ["a b", "a+b", "a=b&c", "~tilde", "é/ü", "%41", "a//b", "trail/", "*", "'", "!", "(", "x (1)!*'.txt"]


def rust_s3(proxy, bucket: str, operation: str, *args: str, virtual: bool = False,
            secret: str = CLIENT_SECRET) -> dict:
    env = environ_without_proxies()
    env.update(AWS_ACCESS_KEY_ID=CLIENT_KEY, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION=REGION)
    if virtual:
        endpoint, style = f"http://{PUBLIC_TEST_DOMAIN}", "virtual"
        env["HTTP_PROXY"] = proxy.endpoint.replace("localhost", "127.0.0.1")
    else:
        endpoint, style = proxy.endpoint, "path"
    done = subprocess.run([rust_client_binary("rust-s3-client"), endpoint, bucket, style, operation, *args],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.every_origin
@pytest.mark.parametrize("virtual", [False, True], ids=["path", "virtual"])
def test_objects(proxy, origin_s3, bucket, virtual):
    """PUT with a type and metadata, GET whole and by range, HEAD and DELETE of keys that need
    encoding, path-style and virtual-hosted."""
    for key in KEYS:
        folder = key.endswith("/")
        body = "" if folder else f"body {key}"
        assert rust_s3(proxy, bucket, "put", key, body, "text/x-r", "c=blue", virtual=virtual)["status"] == 200, key
        if not folder:
            assert stored(origin_s3, bucket, key) == (body.encode(), "text/x-r", {"c": "blue"}), key
            assert rust_s3(proxy, bucket, "range", key, "1", "3", virtual=virtual)["body"] == body[1:4], key
            assert rust_s3(proxy, bucket, "get", key, virtual=virtual)["body"] == body, key
            assert rust_s3(proxy, bucket, "head", key, virtual=virtual)["metadata"] == {"c": "blue"}, key
        assert rust_s3(proxy, bucket, "delete", key, virtual=virtual)["status"] == 204, key


@pytest.mark.every_origin
def test_listing_parts_and_presigned_urls(proxy, origin_s3, bucket):
    """ListObjectsV2 in pages with a delimiter, an upload in parts, presigned GET (with a
    `response-content-type`), PUT and DELETE URLs, and a multi-object delete."""
    names = ["l/a b", "l/a+b", "l/é", "l/sub/x", "l/~t", "l/=&"]
    for name in names:
        origin_s3.put_object(Bucket=bucket, Key=name, Body=b"x")
    listed, token = [], "-"
    for _ in range(10):
        page = rust_s3(proxy, bucket, "list-page", "l/", "/", "2", token)
        assert page["status"] == 200, page
        listed += page["keys"] + page["prefixes"]
        token = page["next"]
        if not token:
            break
    assert sorted(listed) == sorted([n for n in names if "/sub/" not in n] + ["l/sub/"])

    size = 8 * 1024 * 1024 + 12345
    assert rust_s3(proxy, bucket, "stream", "multi a+b", str(size))["status"] == 200
    assert stored(origin_s3, bucket, "multi a+b")[0] == bytes(i % 251 for i in range(size))

    key = "p é+x (1).txt"
    put = rust_s3(proxy, bucket, "presign-put", key)["url"]
    assert requests.put(put, data=b"presigned", timeout=30).status_code == 200
    get = rust_s3(proxy, bucket, "presign-get", key, "text/html; charset=utf-8")["url"]
    r = requests.get(get, timeout=30)
    assert (r.content, r.headers["Content-Type"]) == (b"presigned", "text/html; charset=utf-8")
    assert requests.delete(rust_s3(proxy, bucket, "presign-delete", key)["url"], timeout=30).status_code == 204
    assert rust_s3(proxy, bucket, "delete-many", "l/a b", "l/a+b", "l/é") == {"deleted": 3, "errors": 0}


def test_white_space_it_does_not_fold_is_refused(proxy, origin_s3, bucket):
    """It trims a header value but keeps inner runs of white space in its canonical request,
    where SigV4 folds them: refused, as by every origin straight."""
    assert rust_s3(proxy, bucket, "put", "m", "x", "", "v=a  b")["status"] == 403
    assert stored(origin_s3, bucket, "m") is None


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket):
    assert rust_s3(proxy, bucket, "put", "w", "x", secret="not-it")["status"] == 403
    assert stored(origin_s3, bucket, "w") is None
