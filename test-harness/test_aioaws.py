"""aioaws 0.15.1 (PyPI; Samuel Colvin's asyncio AWS client over httpx, with a SigV4 signer of
its own) through the proxy (a compatibility sweep, 2026-12-07). Its S3 client speaks HTTPS only,
to `https://<aws_host>` on port 443, and is made for virtual-hosted addressing: it signs the
`host` it was given (`aws_host`, or `<bucket>.s3.<region>.amazonaws.com`) as the presigned
URLs' host, so an `aws_host` holding a port or a path (path-style) makes every download (a
presigned GET) fail, as at every origin. It uploads with a browser POST form it signs itself
(`signed_upload_url`: bucket, key, type, exact length and `Content-Disposition` conditions),
downloads with presigned GET URLs, lists with ListObjectsV2 and deletes with DeleteObjects; its
header-signed requests sign `content-md5` and `content-type` of every request. Here the client
reaches the TLS listener as `https://<bucket>.s3.mydomain.test` (port 443), its connections
remapped to the listener's port."""

import asyncio
import ssl

import pytest

from harness.clients import REGION
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import LISTING_WITHOUT_ETAG
from test_post_policy import stored

aioaws_s3 = pytest.importorskip("aioaws.s3", reason="aioaws (PyPI aioaws 0.15.1) is not installed")
httpx = pytest.importorskip("httpx")
aioaws_core = pytest.importorskip("aioaws.core", reason="aioaws (PyPI aioaws 0.15.1) is not installed")
httpcore = pytest.importorskip("httpcore")
pydantic = pytest.importorskip("pydantic")

# Keys it uploads and downloads as S3 does. (It does not encode keys in its URLs: `%41` would
# be read as `A`; its DeleteObjects XML does not escape `&`, `<`.)
KEYS = ["plain.txt", "k/a b.txt", "k/a+b", "k/é/ü", "k/~t", "k/a=b", "k/x (1)!*'.txt", "k/a//b"]


class ToPort(httpcore.AsyncNetworkBackend):
    """Every connection to `port` on 127.0.0.1, whatever the host and port of the URL."""

    def __init__(self, port: int):
        self.port, self.inner = port, httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        return await self.inner.connect_tcp("127.0.0.1", self.port, timeout, local_address, socket_options)

    async def sleep(self, seconds):
        await self.inner.sleep(seconds)


def http_client(envoy):
    context = ssl.create_default_context(cafile=envoy.ca_bundle)
    transport = httpx.AsyncHTTPTransport(verify=context)
    # httpx takes no network backend: its pool is replaced by one with the remapping backend.
    transport._pool = httpcore.AsyncConnectionPool(ssl_context=context, network_backend=ToPort(envoy.port))
    return httpx.AsyncClient(transport=transport, timeout=30)


def s3_client(http, bucket: str, host: str | None = None, secret: str = CLIENT_SECRET):
    config = aioaws_s3.S3Config(CLIENT_KEY, secret, REGION, bucket, aws_host=host or f"{bucket}.{PUBLIC_TEST_DOMAIN}")
    return aioaws_s3.S3Client(http, config)


@pytest.mark.every_origin
def test_upload_download_and_delete(tls_proxy, origin_s3, bucket):
    """Browser-form uploads, downloads by presigned GET (and a presigned HEAD), DeleteObjects."""

    async def run():
        async with http_client(tls_proxy) as http:
            s3 = s3_client(http, bucket)
            for key in KEYS:
                await s3.upload(key, b"data " + key.encode(), content_type="text/x-a")
                assert stored(origin_s3, bucket, key)[:2] == (b"data " + key.encode(), "text/x-a"), key
                assert await s3.download(key) == b"data " + key.encode(), key
                r = await http.head(s3.signed_download_url(key, method="HEAD"))
                assert (r.status_code, r.headers["content-length"]) == (200, str(len(b"data " + key.encode()))), key
            assert sorted(await s3.delete(*KEYS)) == sorted(KEYS)
            assert all(stored(origin_s3, bucket, key) is None for key in KEYS)

    asyncio.run(run())


@pytest.mark.every_origin
def test_listing(tls_proxy, origin_s3, bucket, origin_deviation):
    """ListObjectsV2 with and without a prefix, and a recursive delete by prefix."""
    origin_deviation(LISTING_WITHOUT_ETAG, raises=pydantic.ValidationError)
    names = ["k/a b", "k/a+b", "k/é", "k/sub/x", "other"]
    for name in names:
        origin_s3.put_object(Bucket=bucket, Key=name, Body=b"x")

    async def run():
        async with http_client(tls_proxy) as http:
            s3 = s3_client(http, bucket)
            assert sorted([f.key async for f in s3.list()]) == sorted(names)
            assert sorted([f.key async for f in s3.list("k/")]) == sorted(names[:4])
            assert sorted(await s3.delete_recursive("k/")) == sorted(names[:4])
            assert [f.key async for f in s3.list()] == ["other"]

    asyncio.run(run())


def test_what_its_signatures_do_not_cover_is_refused(tls_proxy, origin_s3, bucket):
    """Its form cannot be turned to another key or body, nor carry a field its policy does
    not name (metadata, an ACL, a redirect); a download with a version adds `v`
    after signing (refused, as at every origin); a prefix with a space it signs as sent (`+`),
    not as SigV4 encodes it (refused, as at every origin)."""

    async def run():
        async with http_client(tls_proxy) as http:
            s3 = s3_client(http, bucket)
            form = s3.signed_upload_url(path="up/", filename="f.txt", content_type="text/plain", size=4)
            r = await http.post(form["url"], data={**form["fields"], "Key": "up/other.txt"}, files={"file": b"data"})
            assert r.status_code == 403, r.text
            for extra in ({"x-amz-meta-evil": "1"}, {"acl": "public-read"}, {"success_action_redirect": "https://x.test/"}):
                r = await http.post(form["url"], data={**form["fields"], **extra}, files={"file": b"data"})
                assert r.status_code == 403, (extra, r.text)
            r = await http.post(form["url"], data=form["fields"], files={"file": b"datadata"})
            assert r.status_code == 400 and "EntityTooLarge" in r.text, r.text
            assert stored(origin_s3, bucket, "up/other.txt") is None and stored(origin_s3, bucket, "up/f.txt") is None
            r = await http.post(form["url"], data=form["fields"], files={"file": b"data"})
            assert r.status_code == 204 and stored(origin_s3, bucket, "up/f.txt")[0] == b"data"

            with pytest.raises(aioaws_core.RequestError) as e:
                await s3.download("up/f.txt", version="null")
            assert e.value.status == 403 and "SignatureDoesNotMatch" in e.value.response.text
            with pytest.raises(aioaws_core.RequestError) as e:
                [f async for f in s3.list("up f")]
            assert e.value.status == 403 and "SignatureDoesNotMatch" in e.value.response.text

    asyncio.run(run())


def test_a_wrong_secret_is_refused(tls_proxy, origin_s3, bucket):
    """A wrong secret's form and URL are refused. (aioaws has no session tokens.)"""

    async def run():
        async with http_client(tls_proxy) as http:
            s3 = s3_client(http, bucket, secret="not-it")
            with pytest.raises(aioaws_core.RequestError) as e:
                await s3.upload("w.txt", b"w")
            assert e.value.status == 403
            r = await http.get(s3.signed_download_url("w.txt"))
            assert r.status_code == 403 and "SignatureDoesNotMatch" in r.text
            assert stored(origin_s3, bucket, "w.txt") is None

    asyncio.run(run())
