"""Two stand-alone SigV4 signers for `requests`, each its own implementation, through the proxy
(a compatibility sweep, 2026-12-07):

- requests-aws4auth 1.4.0 (`AWS4Auth`, used by OpenSearch and S3 scripts) signs `host`,
  `content-type`, every `x-amz-*` header and the body's SHA-256. It decodes the path,
  normalises it (`a//b` becomes `a/b`) and encodes it again with `/` and `~` left as they are.
- aws-requests-auth 0.4.3 (`AWSRequestsAuth`) signs `host` and `x-amz-date` only, sends the
  body's SHA-256 unsigned, and encodes the already encoded path a second time (SigV4's rule for
  services other than S3), so only keys of `[A-Za-z0-9/_.~-]` verify, as at every origin.

Virtual-hosted requests go to Envoy as to an HTTP proxy (`requests`' `proxies`), the bucket in
the URL's host."""

from urllib.parse import quote, urlencode

import pytest
import requests
from aws_requests_auth.aws_auth import AWSRequestsAuth
from requests_aws4auth import AWS4Auth

from harness.clients import REGION, listed_in_pages, xml_texts
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from test_post_policy import stored

# Keys each signer must encode as S3 does; a trailing `/` too (s3s-fs keeps such a key as a
# folder, which it does not give back as an object).
KEYS = ["a b", "a+b", "a=b&c", "~tilde", "é/ü", "%41", "trail/", "*", "'", "!", "(", "dir/x (1)!*'.txt"]


def aws4auth(secret: str = CLIENT_SECRET) -> AWS4Auth:
    return AWS4Auth(CLIENT_KEY, secret, REGION, "s3")


def url(proxy, bucket: str, key: str = "", query: str = "", virtual: bool = False) -> str:
    path = quote(key, safe="/~")
    base = f"http://{bucket}.{PUBLIC_TEST_DOMAIN}/{path}" if virtual else f"{proxy.endpoint}/{bucket}/{path}"
    return base + (f"?{query}" if query else "")


def call(proxy, method: str, target: str, auth, virtual: bool = False, **kwargs) -> requests.Response:
    return requests.request(method, target, auth=auth, timeout=30,
                            proxies={"http": proxy.endpoint} if virtual else None, **kwargs)


@pytest.mark.every_origin
@pytest.mark.parametrize("virtual", [False, True], ids=["path", "virtual"])
def test_aws4auth_objects(proxy, origin_s3, bucket, virtual):
    """PUT with a type and metadata, GET with a `Range`, HEAD and DELETE of keys that need
    encoding, path-style and virtual-hosted."""
    auth = aws4auth()
    for key in KEYS:
        folder = key.endswith("/")
        body = b"" if folder else f"body {quote(key)}".encode()
        target = url(proxy, bucket, key, virtual=virtual)
        r = call(proxy, "PUT", target, auth, virtual, data=body,
                 headers={"Content-Type": "text/x-a", "x-amz-meta-c": "blue"})
        assert r.status_code == 200, (key, r.content)
        if not folder:
            assert stored(origin_s3, bucket, key)[:2] == (body, "text/x-a"), key
            r = call(proxy, "GET", target, auth, virtual, headers={"Range": "bytes=1-3"})
            assert (r.status_code, r.content) == (206, body[1:4]), key
            assert call(proxy, "HEAD", target, auth, virtual).headers.get("x-amz-meta-c") == "blue", key
        assert call(proxy, "DELETE", target, auth, virtual).status_code == 204, key


@pytest.mark.every_origin
def test_aws4auth_lists_in_pages_and_uploads_in_parts(proxy, origin_s3, bucket):
    """ListObjectsV2 with a prefix, a delimiter and continuation tokens (which it encodes
    itself), then a two-part upload."""
    auth = aws4auth()
    names = ["l/a b", "l/a+b", "l/é", "l/sub/x", "l/~t", "l/=&"]
    for name in names:
        origin_s3.put_object(Bucket=bucket, Key=name, Body=b"x")

    def page(params):
        r = call(proxy, "GET", url(proxy, bucket, query=urlencode(params, quote_via=quote, safe="")), auth)
        assert r.status_code == 200, r.content
        return r.content

    assert sorted(listed_in_pages(page, "l/")) == sorted([n for n in names if "/sub/" not in n] + ["l/sub/"])

    key = "mp/a b+c"
    r = call(proxy, "POST", url(proxy, bucket, key, "uploads"), auth)
    upload_id = xml_texts(r.content, "UploadId")[0]
    parts = [b"A" * (5 << 20), b"B" * 1000]
    etags = [call(proxy, "PUT", url(proxy, bucket, key, urlencode({"partNumber": n, "uploadId": upload_id},
                                                                  quote_via=quote)), auth, data=part).headers["ETag"]
             for n, part in enumerate(parts, 1)]
    listing = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>" for n, etag in enumerate(etags, 1))
    r = call(proxy, "POST", url(proxy, bucket, key, urlencode({"uploadId": upload_id}, quote_via=quote)), auth,
             data=f"<CompleteMultipartUpload>{listing}</CompleteMultipartUpload>".encode())
    assert r.status_code == 200, r.content
    assert stored(origin_s3, bucket, key)[0] == b"".join(parts)


def test_aws4auth_signs_a_double_slash_as_one_and_is_refused(proxy, origin_s3, bucket):
    """It signs `/a/b` for a request to `/a//b`: refused here, as by every origin straight."""
    r = call(proxy, "PUT", url(proxy, bucket, "a//b"), aws4auth(), data=b"x")
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content
    assert stored(origin_s3, bucket, "a//b") is None and stored(origin_s3, bucket, "a/b") is None


def test_aws_requests_auth_and_what_it_leaves_unsigned(proxy, origin_s3, bucket):
    """Its requests verify for keys it encodes as S3 does; what it does not sign cannot change
    the request: an `x-amz-meta-*` header is refused (as S3 and Garage refuse it; s3s-fs and
    Ceph would store it), and so is a body other than the one whose SHA-256 it sent."""
    auth = AWSRequestsAuth(aws_access_key=CLIENT_KEY, aws_secret_access_key=CLIENT_SECRET,
                           aws_host=proxy.authority, aws_region=REGION, aws_service="s3")
    target = url(proxy, bucket, "plain.txt")
    assert call(proxy, "PUT", target, auth, data=b"ara").status_code == 200
    assert call(proxy, "GET", target, auth, headers={"Range": "bytes=1-2"}).content == b"ra"
    r = call(proxy, "PUT", url(proxy, bucket, "meta"), auth, data=b"m", headers={"x-amz-meta-c": "blue"})
    assert r.status_code == 403 and b"<HeadersNotSigned>x-amz-meta-c</HeadersNotSigned>" in r.content
    assert stored(origin_s3, bucket, "meta") is None
    # A key that needs encoding is encoded twice in its canonical request.
    assert call(proxy, "PUT", url(proxy, bucket, "a b"), auth, data=b"x").status_code == 403
    swapped = requests.Request("PUT", url(proxy, bucket, "swapped"), data=b"hello", auth=auth).prepare()
    swapped.body = b"HELLO"
    r = requests.Session().send(swapped, timeout=30)
    assert r.status_code == 400 and b"XAmzContentSHA256Mismatch" in r.content
    assert stored(origin_s3, bucket, "swapped") is None
    assert call(proxy, "DELETE", target, auth).status_code == 204


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket):
    r = call(proxy, "PUT", url(proxy, bucket, "w"), aws4auth("not-it"), data=b"x")
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content
    assert stored(origin_s3, bucket, "w") is None
