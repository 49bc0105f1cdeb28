"""aws4fetch 1.0.20 (npm `aws4fetch`: `AwsClient` and `AwsV4Signer`, the SigV4 signer of
Cloudflare Workers and browser code, on Node 20's `fetch` here) through the proxy
(test-harness/js-client/aws4fetch.mjs, one Node process per batch of requests; a compatibility
sweep, 2026-12-07). It signs `UNSIGNED-PAYLOAD` unless the caller sets `x-amz-content-sha256`,
and every header given but `content-type`, `content-length`, `range`, `user-agent`, `expect`
and `connection` (all of them with `allHeaders`); it reads a raw `+` in a path as a space, signs
only the first of repeated query parameters, and presigns for a day."""

import json
import os
import subprocess
from urllib.parse import quote

import pytest
import requests

from harness.clients import REGION
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.paths import js_client_script
from test_post_policy import stored

# Keys as the URL carries them (aws4fetch signs the path as given: a `+` must be written `%2B`).
KEYS = ["a b", "a+b", "a=b&c", "~tilde", "é/ü", "%41", "a//b", "*", "'", "!", "(", "x (1)!*'.txt"]


def encoded(key: str) -> str:
    return "/".join(quote(segment, safe="~") for segment in key.split("/"))


def aws4fetch(proxy, batch: list[dict]) -> list[dict]:
    """Signs and sends each request of `batch` in order (see the script for their fields)."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": CLIENT_KEY, "AWS_SECRET_ACCESS_KEY": CLIENT_SECRET,
           "AWS_REGION": REGION}
    done = subprocess.run(["node", js_client_script("aws4fetch.mjs"), proxy.authority.replace("localhost", "127.0.0.1")],
                          input=json.dumps(batch), env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def target(proxy, bucket: str, path: str, virtual: bool = False) -> str:
    return f"http://{bucket}.{PUBLIC_TEST_DOMAIN}/{path}" if virtual else f"{proxy.endpoint}/{bucket}/{path}"


@pytest.mark.every_origin
@pytest.mark.parametrize("mode", ["unsigned-payload", "sha256", "virtual", "fetch"])
def test_objects(proxy, origin_s3, bucket, mode):
    """PUT with a type and metadata, GET with a `Range`, HEAD and DELETE of keys that need
    encoding: `UNSIGNED-PAYLOAD` or the body's SHA-256, path-style or virtual-hosted, or sent as
    applications send with `AwsClient.fetch`."""
    how = {"sha256": mode == "sha256", "fetch": mode == "fetch"}
    batch = []
    for key in KEYS:
        url = target(proxy, bucket, encoded(key), virtual=mode == "virtual")
        batch += [{"method": "PUT", "url": url, "body": f"body {key}", **how,
                   "headers": {"content-type": "text/x-f", "x-amz-meta-c": "blue"}},
                  {"method": "GET", "url": url, "headers": {"range": "bytes=1-3"}, **how},
                  {"method": "HEAD", "url": url, **how}]
    results = aws4fetch(proxy, batch)
    for n, key in enumerate(KEYS):
        put, get, head = results[3 * n:3 * n + 3]
        assert (put["status"], get["status"], get["body"], head["status"]) == (200, 206, f"body {key}"[1:4], 200), \
            (key, put, get, head)
        assert stored(origin_s3, bucket, key) == (f"body {key}".encode(), "text/x-f", {"c": "blue"}), key
    url = target(proxy, bucket, "", virtual=mode == "virtual")
    listing, *deleted = aws4fetch(proxy, [{"method": "GET", "url": url + "?list-type=2", **how}] + [
        {"method": "DELETE", "url": target(proxy, bucket, encoded(key), virtual=mode == "virtual"), **how}
        for key in KEYS])
    assert listing["status"] == 200 and listing["body"].count("<Key>") == len(KEYS), listing
    assert [d["status"] for d in deleted] == [204] * len(KEYS)


@pytest.mark.every_origin
def test_presigned(proxy, origin_s3, bucket):
    """Presigned PUT and GET; the URL's expiry and a header it signs are enforced."""
    key = "p é+x (1).txt"
    put, get, meta = (r["url"] for r in aws4fetch(proxy, [
        {"method": "PUT", "url": target(proxy, bucket, encoded(key)), "presign": True},
        {"method": "GET", "url": target(proxy, bucket, encoded(key)), "presign": True},
        {"method": "PUT", "url": target(proxy, bucket, "m"), "headers": {"x-amz-meta-c": "blue"}, "presign": True}]))
    assert "X-Amz-Expires=86400" in put
    assert requests.put(put, data=b"presigned", timeout=30).status_code == 200
    assert requests.get(get, timeout=30).content == b"presigned"
    assert requests.get(get.replace("X-Amz-Expires=86400", "X-Amz-Expires=86399"), timeout=30).status_code == 403
    assert requests.put(meta, data=b"m", timeout=30).status_code == 403
    assert requests.put(meta, data=b"m", headers={"x-amz-meta-c": "red"}, timeout=30).status_code == 403
    assert stored(origin_s3, bucket, "m") is None
    assert requests.put(meta, data=b"m", headers={"x-amz-meta-c": "blue"}, timeout=30).status_code == 200


def test_what_it_signs_otherwise_is_refused(proxy, origin_s3, bucket):
    """A raw `+`, which it signs as a space, and repeated query parameters, of which it signs
    the first only: refused (the first as by every origin straight), nothing reaching the
    origin. Its `Content-Type`, never signed, is stored as sent, as at S3 (SECURITY.md)."""
    origin_s3.put_object(Bucket=bucket, Key="l/a", Body=b"x")
    base = target(proxy, bucket, "")
    plus, *listings, typed = aws4fetch(proxy, [
        {"method": "PUT", "url": target(proxy, bucket, "a+b"), "body": "x"},
        *({"method": "GET", "url": base + query} for query in (
            "?list-type=2&prefix=l/&prefix=z/", "?list-type=2&max-keys=1&max-keys=1000", "?list-type=2&=x&prefix=l/")),
        {"method": "PUT", "url": target(proxy, bucket, "ct"), "body": "<b>", "headers": {"content-type": "text/html"}}])
    assert plus["status"] == 403, plus
    assert stored(origin_s3, bucket, "a+b") is None and stored(origin_s3, bucket, "a b") is None
    assert [r["status"] for r in listings] == [403] * 3, listings
    assert typed["status"] == 200 and stored(origin_s3, bucket, "ct")[1] == "text/html"


def test_every_header_signed(proxy, origin_s3, bucket):
    """With `allHeaders` it signs `Range`, `User-Agent` and `Expect` too, which verify; and
    `Connection`, which Envoy consumes before any filter reads it: refused, naming the header
    (README, *Headers Envoy consumes*)."""
    origin_s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    url = target(proxy, bucket, "r")
    ranged, expecting, connection = aws4fetch(proxy, [
        {"method": "GET", "url": url, "headers": {"range": "bytes=2-4", "user-agent": "u/1"}, "allHeaders": True},
        {"method": "PUT", "url": target(proxy, bucket, "e"), "body": "x", "sha256": True,
         "headers": {"expect": "100-continue"}, "allHeaders": True},
        {"method": "GET", "url": url, "headers": {"connection": "keep-alive"}, "allHeaders": True}])
    assert (ranged["status"], ranged["body"]) == (206, "234") and "range" in ranged["signedHeaders"], ranged
    assert expecting["status"] == 200 and "expect" in expecting["signedHeaders"], expecting
    assert connection["status"] == 403, connection
    assert "the signed header &apos;connection&apos; is not in the request" in connection["body"], connection


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket):
    [out] = aws4fetch(proxy, [{"method": "PUT", "url": target(proxy, bucket, "w"), "body": "x", "secret": "not-it"}])
    assert out["status"] == 403 and "SignatureDoesNotMatch" in out["body"], out
    assert stored(origin_s3, bucket, "w") is None
