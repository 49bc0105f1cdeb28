"""httpx-auth 0.23.1 (PyPI; `httpx_auth.AWS4Auth`, a SigV4 signer of its own for httpx, ported
from requests-aws4auth) through the proxy (a compatibility sweep, 2026-12-07). It signs `host`,
`content-type`, every `x-amz-*` header and the body's SHA-256 (it reads the whole body first,
a streamed one too, which httpx then sends with `Transfer-Encoding: chunked`), keeps `//` in
an S3 path, encodes the query's names and values itself, and trims a header value without
folding inner runs of white space (refused, as at every origin). A `security_token` is signed
as `x-amz-security-token`: refused (400 InvalidToken). Virtual-hosted requests go to Envoy as
to an HTTP proxy (httpx's `proxy`), the bucket in the URL's host."""

import ssl
from urllib.parse import quote

import pytest

from harness.clients import REGION, listed_in_pages, xml_texts
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from test_post_policy import stored

httpx = pytest.importorskip("httpx", reason="httpx-auth (PyPI httpx-auth 0.23.1) is not installed")
httpx_auth = pytest.importorskip("httpx_auth", reason="httpx-auth (PyPI httpx-auth 0.23.1) is not installed")

KEYS = ["a b", "a+b", "a=b&c", "~tilde", "é/ü", "%41", "a//b", "*", "'", "!", "(", "dir/x (1)!*'.txt"]


def auth(secret: str = CLIENT_SECRET, **kwargs):
    return httpx_auth.AWS4Auth(CLIENT_KEY, secret, REGION, "s3", **kwargs)


def client(proxy, virtual: bool = False, **kwargs):
    """An httpx client signing with the client pair; `base(bucket)` its bucket's URL."""
    c = httpx.Client(auth=kwargs.pop("auth", None) or auth(), timeout=30,
                     proxy=proxy.endpoint.replace("localhost", "127.0.0.1") if virtual else None)
    c.base = (lambda b: f"http://{b}.{PUBLIC_TEST_DOMAIN}") if virtual else (lambda b: f"{proxy.endpoint}/{b}")
    return c


@pytest.mark.every_origin
@pytest.mark.parametrize("virtual", [False, True], ids=["path", "virtual"])
def test_objects(proxy, origin_s3, bucket, virtual):
    """PUT with a type and metadata, GET with a `Range`, HEAD and DELETE of keys that need
    encoding, path-style and virtual-hosted."""
    with client(proxy, virtual) as c:
        for key in KEYS:
            url, body = f"{c.base(bucket)}/{quote(key, safe='/~')}", f"body {key}".encode()
            r = c.put(url, content=body, headers={"content-type": "text/x-h", "x-amz-meta-c": "blue"})
            assert r.status_code == 200, (key, r.content)
            assert stored(origin_s3, bucket, key) == (body, "text/x-h", {"c": "blue"}), key
            r = c.get(url, headers={"range": "bytes=1-3"})
            assert (r.status_code, r.content) == (206, body[1:4]), key
            assert c.head(url).headers.get("x-amz-meta-c") == "blue", key
            assert c.delete(url).status_code == 204, key
            assert stored(origin_s3, bucket, key) is None, key


@pytest.mark.every_origin
def test_listing_with_query_parameters(proxy, origin_s3, bucket):
    """ListObjectsV2 with a prefix, a delimiter, `start-after` and continuation tokens it
    encodes itself, and GetBucketLocation (a parameter without a value)."""
    names = ["l/a b", "l/a+b", "l/é", "l/sub/x", "l/~t", "l/=&"]
    for name in names:
        origin_s3.put_object(Bucket=bucket, Key=name, Body=b"x")
    with client(proxy) as c:
        def page(params):
            r = c.get(c.base(bucket), params=params)
            assert r.status_code == 200, r.content
            return r.content

        assert sorted(listed_in_pages(page, "l/")) == sorted([n for n in names if "/sub/" not in n] + ["l/sub/"])
        r = c.get(c.base(bucket), params={"list-type": "2", "prefix": "l/a ", "start-after": "l/a b"})
        assert xml_texts(r.content, "Key") == []
        r = c.get(c.base(bucket), params={"list-type": "2", "prefix": "l/a+"})
        assert xml_texts(r.content, "Key") == ["l/a+b"]
        assert c.get(c.base(bucket), params={"location": ""}).status_code == 200


@pytest.mark.every_origin
def test_a_streamed_body_as_the_origin_takes_it(proxy, origin, origin_s3, bucket):
    """A body from a generator (unknown length): it hashes the whole and httpx sends it chunked,
    without a Content-Length. Through the proxy it ends as sent straight: stored by Garage,
    refused by s3s-fs 0.14.1 and Ceph 16 (411 MissingContentLength)."""

    def parts():
        yield b"streamed-"
        yield b"body"

    straight = httpx_auth.AWS4Auth(origin.access_key, origin.secret_key, origin.region, "s3")
    with httpx.Client(auth=straight, timeout=30) as c:
        direct = c.put(f"{origin.endpoint}/{bucket}/direct", content=parts()).status_code
    with client(proxy) as c:
        r = c.put(f"{c.base(bucket)}/stream", content=parts())
    assert r.status_code == direct, r.content
    assert (stored(origin_s3, bucket, "stream") or [None])[0] == (b"streamed-body" if direct == 200 else None)


def test_what_it_signs_wrong_or_cannot_sign_is_refused(proxy, origin_s3, bucket):
    """Inner white space it does not fold (403, as at every origin), a session token (400
    InvalidToken), a wrong secret (403): nothing stored."""
    with client(proxy) as c:
        r = c.put(f"{c.base(bucket)}/ws", content=b"x", headers={"x-amz-meta-c": "a  b"})
        assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content
    with client(proxy, auth=auth(security_token="FQoGZXIvYXdzE-token")) as c:
        r = c.put(f"{c.base(bucket)}/tok", content=b"x")
        assert r.status_code == 400 and b"<Code>InvalidToken</Code>" in r.content
    with client(proxy, auth=auth("not-it")) as c:
        r = c.put(f"{c.base(bucket)}/w", content=b"x")
        assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content
    assert all(stored(origin_s3, bucket, k) is None for k in ("ws", "tok", "w"))


def test_over_http2(h2_proxy, origin_s3, bucket):
    """httpx speaking HTTP/2 to the TLS listener (its `Host` becomes `:authority`, which the
    filter reads as the signed `host`)."""
    pytest.importorskip("h2")
    with httpx.Client(auth=auth(), timeout=30, http2=True, verify=ssl.create_default_context(cafile=h2_proxy.ca_bundle)) as c:
        url = f"{h2_proxy.endpoint}/{bucket}/{quote('h2 é+x', safe='/~')}"
        r = c.put(url, content=b"over h2", headers={"content-type": "text/x-h", "x-amz-meta-c": "blue"})
        assert (r.status_code, r.http_version) == (200, "HTTP/2"), r.content
        assert stored(origin_s3, bucket, "h2 é+x") == (b"over h2", "text/x-h", {"c": "blue"})
        assert c.get(url, headers={"range": "bytes=5-6"}).content == b"h2"
