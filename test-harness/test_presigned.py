"""Presigned URLs made by boto3 for the public host, used by a plain HTTP client."""

import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from harness.clients import RawRequest, send
from test_operations import KEYS


def fetch(proxy, url: str, method: str = "GET", body: bytes = b"", headers=None):
    parts = urllib.parse.urlsplit(url)
    assert parts.netloc == proxy.authority, "the URL must name the public host"
    target = parts.path + "?" + parts.query
    return send(proxy.authority, RawRequest(method, target, list((headers or {}).items()), body))


@pytest.mark.every_origin
def test_presigned_get_with_response_overrides(proxy, s3, origin_s3, bucket):
    origin_s3.put_object(Bucket=bucket, Key="report.csv", Body=b"a,b\n1,2\n")
    url = s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket,
            "Key": "report.csv",
            "ResponseContentDisposition": 'attachment; filename="my report.csv"',
            "ResponseContentType": "text/csv",
        },
        ExpiresIn=300,
    )
    r = fetch(proxy, url)
    assert r.status == 200, r.body
    assert r.body == b"a,b\n1,2\n"
    assert r.headers["content-disposition"] == 'attachment; filename="my report.csv"'
    assert r.headers["content-type"] == "text/csv"


@pytest.mark.every_origin
def test_presigned_put_with_signed_content_type(proxy, s3, origin_s3, bucket):
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "up.txt", "ContentType": "text/plain"}, ExpiresIn=300
    )
    assert "content-type" in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["X-Amz-SignedHeaders"][0]
    r = fetch(proxy, url, "PUT", b"uploaded", {"Content-Type": "text/plain"})
    assert r.status == 200, r.body
    head = origin_s3.head_object(Bucket=bucket, Key="up.txt")
    assert head["ContentType"] == "text/plain"
    assert origin_s3.get_object(Bucket=bucket, Key="up.txt")["Body"].read() == b"uploaded"

    # The signed Content-Type is binding: another one is refused and nothing is written.
    before = proxy.origin_requests()
    r = fetch(proxy, url, "PUT", b"evil", {"Content-Type": "text/html"})
    assert r.status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in r.body
    assert proxy.origin_requests() == before
    assert origin_s3.get_object(Bucket=bucket, Key="up.txt")["Body"].read() == b"uploaded"


@pytest.mark.every_origin
def test_presigned_head_and_delete(proxy, s3, origin_s3, bucket):
    origin_s3.put_object(Bucket=bucket, Key="h", Body=b"12345")
    head = fetch(proxy, s3.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": "h"}), "HEAD")
    assert head.status == 200
    assert head.headers["content-length"] == "5"
    delete = fetch(proxy, s3.generate_presigned_url("delete_object", Params={"Bucket": bucket, "Key": "h"}), "DELETE")
    assert delete.status == 204
    with pytest.raises(ClientError):
        origin_s3.head_object(Bucket=bucket, Key="h")


@pytest.mark.every_origin
@pytest.mark.parametrize("key", KEYS)
def test_presigned_awkward_keys(proxy, s3, origin_s3, bucket, key):
    put = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key})
    assert fetch(proxy, put, "PUT", key.encode()).status == 200
    assert origin_s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    get = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
    r = fetch(proxy, get)
    assert (r.status, r.body) == (200, key.encode())


def test_presigned_url_keeps_its_expiry_at_the_origin(proxy, s3, origin_s3, bucket):
    origin_s3.put_object(Bucket=bucket, Key="soon", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "soon"}, ExpiresIn=2)
    # Two seconds, not one: a loaded machine crossed the second before the first fetch.
    assert fetch(proxy, url).status == 200
    time.sleep(3.2)
    before = proxy.origin_requests()
    r = fetch(proxy, url)
    assert r.status == 403
    assert b"<Code>AccessDenied</Code>" in r.body
    assert b"Request has expired" in r.body
    assert proxy.origin_requests() == before


@pytest.mark.every_origin
def test_range_requests_on_one_url_are_served_from_the_cache(proxy, s3, origin_s3, bucket):
    """A video player's pattern: many Range GETs with one URL. The repeats skip verification
    (the cache's hit counter says so) and still get exactly what the first request did."""

    body = bytes(range(256)) * 256  # 16 ranges of 4 KiB
    origin_s3.put_object(Bucket=bucket, Key="movie.mp4", Body=body)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "movie.mp4"}, ExpiresIn=300)
    before = proxy.prometheus()
    for start in range(0, len(body), 4096):
        r = fetch(proxy, url, headers={"Range": f"bytes={start}-{start + 4095}"})
        assert (r.status, r.body) == (206, body[start:start + 4096])
    # An unsigned x-amz-* header is refused on a repeat as on the first request.
    r = fetch(proxy, url, headers={"x-amz-copy-source": f"{bucket}/movie.mp4"})
    assert r.status == 403 and b"HeadersNotSigned" in r.body
    # A changed signature is a miss, verified from scratch, and refused.
    r = fetch(proxy, url[:-1] + ("0" if url[-1] != "0" else "1"))
    assert r.status == 403 and b"SignatureDoesNotMatch" in r.body
    after = proxy.prometheus()
    lookups = lambda series, result: series.get(f's3_resign_presigned_cache_lookups_total{{result="{result}"}}', 0)
    # 16 ranges: two misses (a URL is remembered from its second time), then 14 hits; the
    # refused repeat was a hit too.
    assert lookups(after, "hit") - lookups(before, "hit") == 15
    assert lookups(after, "miss") - lookups(before, "miss") == 3
