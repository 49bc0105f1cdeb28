"""requests-auth-aws-sigv4 0.7 (PyPI; `AWSSigV4`, a third stand-alone SigV4 signer for
`requests`) through the proxy (a compatibility sweep, 2026-12-07). It signs `host` (set to the
URL's host name without its port: the request goes out with that `Host`) and every `x-amz-*`
header, the body's SHA-256 (always the empty body's for a GET), not `content-type`, which it
adds as `application/x-www-form-urlencoded; charset=utf-8` when the request has none (an
unsigned standard header, stored as the object's type, as S3 does). It takes the path and the
query as sent for its canonical request, so it verifies only when the caller encodes them as
SigV4 does (`quote(key, safe="/~")`, `%20` in the query): a raw `(` or a space sent as `+` is
refused, as at Garage and Ceph (s3s-fs 0.14.1 takes a raw `(`). It fails itself on a parameter
without `=` and on a streamed body; a session token is signed as `x-amz-security-token`:
refused (400 InvalidToken). Virtual-hosted requests go to Envoy as to an HTTP proxy."""

from urllib.parse import quote

import pytest
import requests

from harness.clients import REGION
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from test_post_policy import stored

sigv4 = pytest.importorskip("requests_auth_aws_sigv4",
                            reason="requests-auth-aws-sigv4 (PyPI requests-auth-aws-sigv4 0.7) is not installed")

KEYS = ["a b", "a+b", "a=b&c", "~tilde", "é/ü", "%41", "a//b", "*", "'", "!", "(", "dir/x (1)!*'.txt"]


def auth(secret: str = CLIENT_SECRET, **kwargs):
    return sigv4.AWSSigV4("s3", aws_access_key_id=CLIENT_KEY, aws_secret_access_key=secret, region=REGION, **kwargs)


def session(proxy, virtual: bool = False, **kwargs) -> requests.Session:
    s = requests.Session()
    s.auth = kwargs.pop("auth", None) or auth()
    if virtual:
        s.proxies = {"http": proxy.endpoint.replace("localhost", "127.0.0.1")}
    s.base = (lambda b: f"http://{b}.{PUBLIC_TEST_DOMAIN}") if virtual else (lambda b: f"{proxy.endpoint}/{b}")
    return s


@pytest.mark.every_origin
@pytest.mark.parametrize("virtual", [False, True], ids=["path", "virtual"])
def test_objects(proxy, origin_s3, bucket, virtual):
    """PUT with a type and metadata, and without a type; GET with a `Range`, HEAD and DELETE of
    keys that need encoding, path-style and virtual-hosted."""
    with session(proxy, virtual) as s:
        for key in KEYS:
            url, body = f"{s.base(bucket)}/{quote(key, safe='/~')}", f"body {key}".encode()
            r = s.put(url, data=body, headers={"content-type": "text/x-s", "x-amz-meta-c": "blue"}, timeout=30)
            assert r.status_code == 200, (key, r.content)
            assert stored(origin_s3, bucket, key) == (body, "text/x-s", {"c": "blue"}), key
            r = s.get(url, headers={"range": "bytes=1-3"}, timeout=30)
            assert (r.status_code, r.content) == (206, body[1:4]), key
            assert s.head(url, timeout=30).headers.get("x-amz-meta-c") == "blue", key
            assert s.delete(url, timeout=30).status_code == 204, key
            assert stored(origin_s3, bucket, key) is None, key
        assert s.put(f"{s.base(bucket)}/untyped", data=b"u", timeout=30).status_code == 200
        assert stored(origin_s3, bucket, "untyped")[1] == "application/x-www-form-urlencoded; charset=utf-8"


@pytest.mark.every_origin
def test_queries_it_signs_as_sent(proxy, origin_s3, bucket):
    """ListObjectsV2 and GetBucketLocation with the query encoded as SigV4 encodes it; a space
    sent as `+` (requests' `params`) is refused, as at every origin."""
    for name in ["l/a b", "l/é/x", "l/é/y", "m"]:
        origin_s3.put_object(Bucket=bucket, Key=name, Body=b"x")
    with session(proxy) as s:
        r = s.get(f"{s.base(bucket)}?list-type=2&prefix=l%2Fa%20", timeout=30)
        assert r.status_code == 200 and b"<Key>l/a b</Key>" in r.content, r.content
        r = s.get(f"{s.base(bucket)}?list-type=2&prefix=l%2F%C3%A9%2F&delimiter=%2F", timeout=30)
        assert r.status_code == 200 and r.content.count(b"<Key>") == 2, r.content
        assert s.get(f"{s.base(bucket)}?location=", timeout=30).status_code == 200
        r = s.get(s.base(bucket), params={"list-type": "2", "prefix": "l/a "}, timeout=30)
        assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content


def test_what_it_signs_wrong_or_cannot_sign_is_refused(proxy, origin_s3, bucket):
    """A raw `(` in the path (Garage and Ceph refuse it too), a session token (400
    InvalidToken), a wrong secret: nothing stored."""
    with session(proxy) as s:
        r = s.put(f"{s.base(bucket)}/p(1)", data=b"x", timeout=30)
        assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content
    with session(proxy, auth=auth(aws_session_token="FQoGZXIvYXdzE-token")) as s:
        r = s.put(f"{s.base(bucket)}/tok", data=b"x", timeout=30)
        assert r.status_code == 400 and b"<Code>InvalidToken</Code>" in r.content
    with session(proxy, auth=auth("not-it")) as s:
        r = s.put(f"{s.base(bucket)}/w", data=b"x", timeout=30)
        assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content
    assert all(stored(origin_s3, bucket, k) is None for k in ("p(1)", "tok", "w"))
