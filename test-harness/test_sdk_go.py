"""The Go S3 clients through the proxy (test-harness/go-client, one process per operation): the
AWS SDK for Go v2, the AWS SDK for Go v1 and minio-go, the library of MinIO's `mc`. Objects,
ranges, listing, copy, multipart uploads, presigned URLs fetched with `requests`, and what each
signs its bodies with, asserted from the requests it sent: v2 and v1 the payload's SHA-256 (v1
with `Expect: 100-Continue` from 2 MiB on, which Envoy answers and drops; v1 1.44 does not sign
it), minio-go signed aws-chunked bodies over plain HTTP, with a signed CRC32C trailer on
multipart parts when asked for trailing headers (its own trailer layout: README, Clients), and
over HTTPS no body signed (unsigned CRC32C trailers on parts). The core tests run twice: over
plain HTTP, and over HTTPS to a listener that offers h2, where Go's net/http speaks HTTP/2 to
Envoy (DATA frames, `:authority`; Envoy speaks HTTP/1.1 to the origin)."""

import hashlib
import os
import uuid

import pytest
import requests
from botocore.exceptions import ClientError

from harness.clients import REGION, send_h2, target_of
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.paths import go_client_binary, missing_go_packages
from harness.programs import PART_CHECKSUM_ANSWER, SIGNED_TRAILER, UNSIGNED_TRAILER, run_json_client
from test_post_policy import stored
from test_sdk_rust import file_of

_missing = missing_go_packages()
pytestmark = pytest.mark.skipif(
    bool(_missing),
    reason=f"the Go SDKs are not installed: apt-get install -y {' '.join(_missing)}, then make deps",
)

MIB = 1024 * 1024
SDKS = ["v2", "v1", "minio"]
# minio-go 7.0.46 reads the clock again after signing an upload with unsigned trailers and
# sends that X-Amz-Date (go-client/restamp.go): a part signed at the end of a second goes out
# with a date its signature does not cover, and is refused, as any SigV4 server refuses it.
# The client tells those refusals apart (`restamped`); such a run goes again.
RESTAMP_ATTEMPTS = 3
STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"


def go(sdk: str, endpoint: str, bucket: str, op: str, *args: str, virtual_port: int | None = None,
       ca: str | None = None, key: str = CLIENT_KEY, secret: str = CLIENT_SECRET, region: str = REGION,
       check: bool = True) -> dict:
    """Runs one operation; its JSON: `result` (or `error` and `code`) and the `requests` sent."""
    # The v1 SDK loads AWS_CA_BUNDLE into its own transport, refusing the recording one; the
    # client trusts the TLS proxy's CA by `-ca`.
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION=region)
    flags = ["-virtual", "-connect", f"127.0.0.1:{virtual_port}"] if virtual_port else []
    flags += ["-ca", ca] if ca else []
    argv = [go_client_binary(), *flags, sdk, endpoint, bucket, op, *map(str, args)]
    for _ in range(RESTAMP_ATTEMPTS):
        out = run_json_client(argv, env, f"{sdk} {op}", check=False)
        refused = [r for r in out.get("requests") or [] if r["status"] == 403]
        if not refused or not all(r.get("restamped") for r in refused):
            break
    if check:
        assert "error" not in out, f"{sdk} {op}: {out.get('error')} {out.get('requests')}"
    return out


def go_via(proxy, sdk: str, bucket: str, op: str, *args: str, check: bool = True) -> dict:
    """`go` through `proxy` as its listener is reached (HTTPS trusting its CA), asserting
    the protocol Go negotiated: HTTP/2 wherever ALPN offers it."""
    with proxy.speaking(proxy.protocol_of(speaks_h2=True)):
        return go(sdk, proxy.endpoint, bucket, op, *args, ca=proxy.ca_bundle, check=check)


def puts(out: dict) -> list[dict]:
    return [r for r in out["requests"] if r["method"] == "PUT"]


def body_signing(sdk: str, data: bytes, scheme: str = "http") -> str:
    """What each SDK puts in x-amz-content-sha256 for a body: over HTTPS, v2 and minio-go
    leave it to TLS."""
    if scheme == "https" and sdk != "v1":
        return "UNSIGNED-PAYLOAD"
    return STREAMING if sdk == "minio" else hashlib.sha256(data).hexdigest()


@pytest.mark.every_origin
@pytest.mark.parametrize("sdk", SDKS)
def test_objects(public, origin, origin_s3, bucket, tmp_path, sdk):
    key = "dir/a b&c=d.txt"
    data = b"from the Go client"
    path = tmp_path / "small.txt"
    path.write_bytes(data)
    out = go_via(public, sdk, bucket, "put", key, path)
    assert [r["sha256"] for r in puts(out)] == [body_signing(sdk, data, public.scheme)]
    assert stored(origin_s3, bucket, key) == (data, "text/x-go", {"m": "1"})
    assert go_via(public, sdk, bucket, "get", key)["result"]["body"] == data.decode()
    assert go_via(public, sdk, bucket, "get", key, "bytes=5-7")["result"]["body"] == "the"
    assert go_via(public, sdk, bucket, "head", key)["result"] == {
        "length": len(data), "contentType": "text/x-go", "metadata": {"m": "1"}}
    go_via(public, sdk, bucket, "copy", key, "dir/copy.txt")
    assert stored(origin_s3, bucket, "dir/copy.txt")[0] == data
    origin_s3.put_object(Bucket=bucket, Key="dir/sub/c.txt", Body=b"x")
    # Two keys a page: the listing is paginated. Through the proxy as straight from the origin:
    # minio-go lists with an empty `delimiter=`, which s3s-fs 0.14.1 answers with the keys cut
    # after the prefix's next character (`dir/a`), directly as well.
    listed = go_via(public, sdk, bucket, "list", "dir/")["result"]
    direct = go(sdk, origin.endpoint, bucket, "list", "dir/", key=origin.access_key, secret=origin.secret_key,
                region=origin.region)["result"]
    assert listed == direct
    if (sdk, origin.kind) != ("minio", "s3s-fs"):
        assert listed == [key, "dir/copy.txt", "dir/sub/c.txt"]
    go_via(public, sdk, bucket, "delete", "dir/copy.txt")
    with pytest.raises(ClientError):
        origin_s3.head_object(Bucket=bucket, Key="dir/copy.txt")


@pytest.mark.every_origin
@pytest.mark.parametrize("sdk", SDKS)
def test_large_put(public, origin_s3, bucket, tmp_path, sdk):
    """One PUT of 6 MiB + 1: v1 asks `Expect: 100-Continue` (Envoy answers it and drops it;
    v1 leaves it out of the signature; over HTTP/2 too), minio-go streams 97 signed chunks and
    the final one over plain HTTP."""
    path = file_of(tmp_path, 6 * MIB + 1)
    data = path.read_bytes()
    before = public.prometheus()
    out = go_via(public, sdk, bucket, "put", "large.bin", path)
    [put] = puts(out)
    assert put["sha256"] == body_signing(sdk, data, public.scheme)
    assert put.get("expect") == ("100-Continue" if sdk == "v1" else None)
    assert "expect" not in put["signed"].split(";")
    chunks = public.prometheus().get("s3_resign_chunks_resigned_total", 0) \
        - before.get("s3_resign_chunks_resigned_total", 0)
    assert chunks == (-(-len(data) // (64 * 1024)) + 1 if put["sha256"] == STREAMING else 0)
    assert hashlib.sha256(stored(origin_s3, bucket, "large.bin")[0]).digest() == hashlib.sha256(data).digest()
    got = go_via(public, sdk, bucket, "get", "large.bin", f"bytes={3 * MIB}-{4 * MIB - 1}")["result"]
    assert got["sha256"] == hashlib.sha256(data[3 * MIB:4 * MIB]).hexdigest()


@pytest.mark.every_origin
@pytest.mark.parametrize("sdk", SDKS)
def test_multipart(public, origin_s3, bucket, tmp_path, sdk):
    path = file_of(tmp_path, 11 * MIB + 1)
    data = path.read_bytes()
    out = go_via(public, sdk, bucket, "multipart", "multipart.bin", path)
    parts = [r for r in puts(out) if "partNumber=" in r["query"]]
    assert len(parts) == 3
    signing = body_signing(sdk, b"", public.scheme)
    if signing in (STREAMING, "UNSIGNED-PAYLOAD"):
        assert {r["sha256"] for r in parts} == {signing}
    else:
        assert all(len(r["sha256"]) == 64 for r in parts)
    # v1 asks 100-continue for the two parts of 5 MiB, not for the last of 1 MiB + 1.
    assert [r.get("expect") for r in sorted(parts, key=lambda r: r["query"])] == (
        ["100-Continue", "100-Continue", None] if sdk == "v1" else [None] * 3)
    obj = origin_s3.get_object(Bucket=bucket, Key="multipart.bin")
    assert obj["ETag"].endswith('-3"')
    assert obj["Body"].read() == data


@pytest.mark.every_origin
def test_minio_multipart_with_signed_trailers(proxy, origin_s3, bucket, tmp_path, origin_deviation):
    """minio-go with TrailingHeaders: each part a signed-chunk stream with a signed CRC32C
    trailer, which Garage 2.5.0 refuses even sent to it directly (README, Garage)."""
    origin_deviation(SIGNED_TRAILER)
    path = file_of(tmp_path, 11 * MIB + 1)
    out = go("minio", proxy.endpoint, bucket, "multipart-trailer", "trailer.bin", path, check=False)
    parts = [r for r in puts(out) if "partNumber=" in r["query"]]
    assert {(r["sha256"], r.get("trailer")) for r in parts} == {(STREAMING_TRAILER, "x-amz-checksum-crc32c")}
    assert "error" not in out, out
    assert origin_s3.get_object(Bucket=bucket, Key="trailer.bin")["Body"].read() == path.read_bytes()


@pytest.mark.every_origin
@pytest.mark.parametrize("op", ["put", "multipart-trailer"])
def test_minio_over_https(https_proxy, origin_s3, bucket, tmp_path, op, origin_deviation):
    """Over HTTPS minio-go signs no body: a PUT is UNSIGNED-PAYLOAD, and with TrailingHeaders
    each part an unsigned aws-chunked stream with a CRC32C trailer the origin checks, and the
    completion a composite CRC32C of the parts' (from the origin's answers). Over HTTP/1.1,
    and over HTTP/2 where the listener offers it."""
    if op == "multipart-trailer":
        origin_deviation(PART_CHECKSUM_ANSWER, UNSIGNED_TRAILER)
    path = file_of(tmp_path, (11 if op == "multipart-trailer" else 1) * MIB + 1)
    out = go_via(https_proxy, "minio", bucket, op, "tls.bin", path)
    if op == "put":
        assert [(r["sha256"], r.get("trailer")) for r in puts(out)] == [("UNSIGNED-PAYLOAD", None)]
    else:
        parts = [r for r in puts(out) if "partNumber=" in r["query"]]
        assert [(r["sha256"], r.get("trailer")) for r in parts] == [
            ("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-checksum-crc32c")] * 3
    assert origin_s3.get_object(Bucket=bucket, Key="tls.bin")["Body"].read() == path.read_bytes()


@pytest.mark.every_origin
@pytest.mark.parametrize("sdk", SDKS)
def test_presigned_urls(public, origin_s3, bucket, sdk):
    """The URLs fetched with `requests` (HTTP/1.1); where the listener offers h2, the GET
    with a `Range` over HTTP/2 as well (as a browser's player fetches it)."""
    url = go(sdk, public.endpoint, bucket, "presign-put", "presigned.txt")["result"]
    r = requests.put(url, data=b"presigned put", timeout=30, verify=public.ca_bundle or True)
    assert r.status_code == 200, r.text
    assert stored(origin_s3, bucket, "presigned.txt")[0] == b"presigned put"
    url = go(sdk, public.endpoint, bucket, "presign-get", "presigned.txt")["result"]
    r = requests.get(url, timeout=30, verify=public.ca_bundle or True)
    assert (r.status_code, r.content) == (200, b"presigned put")
    if public.offers_h2:
        with public.speaking("HTTP/2"):
            r = send_h2(public.authority, "GET", target_of(url).encode(), public.port, [(b"range", b"bytes=3-8")],
                        ca=public.ca_bundle)
        assert (r.status, r.body) == (206, b"signed")


@pytest.mark.parametrize("sdk", ["v2", "minio"])
def test_virtual_hosted(proxy, origin_s3, bucket, tmp_path, sdk):
    path = tmp_path / "v.txt"
    path.write_bytes(b"virtual")
    out = go(sdk, f"http://{PUBLIC_TEST_DOMAIN}:{proxy.port}", bucket, "put", "v.txt", path, virtual_port=proxy.port)
    assert [r["host"] for r in puts(out)] == [f"{bucket}.{PUBLIC_TEST_DOMAIN}:{proxy.port}"]
    assert stored(origin_s3, bucket, "v.txt")[0] == b"virtual"
    out = go(sdk, f"http://{PUBLIC_TEST_DOMAIN}:{proxy.port}", bucket, "get", "v.txt", virtual_port=proxy.port)
    assert out["result"]["body"] == "virtual"


@pytest.mark.parametrize("sdk", ["v2", "minio"])
def test_virtual_hosted_over_https_and_h2(h2_proxy, origin_s3, bucket, tmp_path, sdk):
    """The deployment users see: `https://bucket.s3.mydomain.com`, one wildcard certificate
    for every bucket, HTTP/2 by ALPN. The bucket reaches the filter in `:authority` (the
    filter never reads the TLS server name); it is checked and re-signed as in `Host` over
    HTTP/1.1. A URL signed for one bucket's name cannot be sent to another's: the signature
    covers the host."""
    endpoint = f"https://{PUBLIC_TEST_DOMAIN}:{h2_proxy.port}"
    path = tmp_path / "v.txt"
    path.write_bytes(b"virtual over h2")
    with h2_proxy.speaking("HTTP/2"):
        out = go(sdk, endpoint, bucket, "put", "v.txt", path, virtual_port=h2_proxy.port, ca=h2_proxy.ca_bundle)
        assert [r["host"] for r in puts(out)] == [f"{bucket}.{PUBLIC_TEST_DOMAIN}:{h2_proxy.port}"]
        assert stored(origin_s3, bucket, "v.txt")[0] == b"virtual over h2"
        out = go(sdk, endpoint, bucket, "get", "v.txt", virtual_port=h2_proxy.port, ca=h2_proxy.ca_bundle)
        assert out["result"]["body"] == "virtual over h2"
        url = go(sdk, endpoint, bucket, "presign-get", "v.txt", virtual_port=h2_proxy.port, ca=h2_proxy.ca_bundle)["result"]
    host = f"{bucket}.{PUBLIC_TEST_DOMAIN}:{h2_proxy.port}"
    assert url.startswith(f"https://{host}/v.txt?"), url
    with h2_proxy.speaking("HTTP/2"):
        r = send_h2(host, "GET", target_of(url).encode(), h2_proxy.port, ca=h2_proxy.ca_bundle)
        assert (r.status, r.body) == (200, b"virtual over h2")
        other = f"other-{bucket}.{PUBLIC_TEST_DOMAIN}:{h2_proxy.port}"
        r = send_h2(other, "GET", target_of(url).encode(), h2_proxy.port, ca=h2_proxy.ca_bundle)
        assert (r.status, b"<Code>SignatureDoesNotMatch</Code>" in r.body) == (403, True), r.body


@pytest.mark.parametrize("sdk", ["v2", "v1"])
def test_a_dotted_bucket_goes_path_style_over_https(h2_proxy, origin_s3, tmp_path, sdk):
    """A wildcard certificate covers one label: asked for virtual-hosted addressing, the AWS
    SDKs for Go (as boto3) send a bucket whose name holds dots path-style over HTTPS, to the
    public name itself, and it goes through. (minio-go told to look buckets up by DNS does
    not: its certificate check fails.)"""
    bucket = f"dotted.{uuid.uuid4().hex[:10]}"
    origin_s3.create_bucket(Bucket=bucket)
    path = tmp_path / "d.txt"
    path.write_bytes(b"dotted")
    endpoint = f"https://{PUBLIC_TEST_DOMAIN}:{h2_proxy.port}"
    out = go(sdk, endpoint, bucket, "put", "d.txt", path, virtual_port=h2_proxy.port, ca=h2_proxy.ca_bundle)
    assert [r["host"] for r in puts(out)] == [f"{PUBLIC_TEST_DOMAIN}:{h2_proxy.port}"]
    assert stored(origin_s3, bucket, "d.txt")[0] == b"dotted"


@pytest.mark.parametrize("sdk", SDKS)
def test_a_wrong_secret_is_refused(public, origin_s3, bucket, tmp_path, sdk):
    """Refused at the head, 3 MiB still to send: Go reads the answer over HTTP/2 as well (the
    proxy ends the stream with RST_STREAM(NO_ERROR) after it)."""
    path = file_of(tmp_path, 3 * MIB)
    with public.speaking(public.protocol_of(speaks_h2=True)):
        out = go(sdk, public.endpoint, bucket, "put", "refused", path, secret="not-the-secret", ca=public.ca_bundle,
                 check=False)
    assert out.get("code") == "SignatureDoesNotMatch", out
    assert stored(origin_s3, bucket, "refused") is None
