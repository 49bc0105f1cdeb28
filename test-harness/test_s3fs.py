"""fsspec's `s3fs` (on aiobotocore: botocore's signer over aiohttp, a transport no other test
uses), the S3 filesystem behind pandas' `s3://` URLs, Dask, xarray and zarr, through the
proxy: files written and read whole, in ranges and in parts, listed, copied, tagged with
metadata, presigned (`url`), removed; Parquet through it with pyarrow; a wrong secret
refused. Over plain HTTP it signs each body's SHA-256."""

import pytest
import requests

from harness.clients import REGION
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET
from test_post_policy import stored

s3fs = pytest.importorskip("s3fs", reason="s3fs is not installed: make deps (test-harness/requirements.txt)")

MIB = 1024 * 1024


def filesystem(endpoint: str, secret: str = CLIENT_SECRET, **config) -> "s3fs.S3FileSystem":
    # A new instance each time (fsspec caches them by their arguments), retrying nothing.
    return s3fs.S3FileSystem(key=CLIENT_KEY, secret=secret, skip_instance_cache=True,
                             client_kwargs={"endpoint_url": endpoint, "region_name": REGION},
                             config_kwargs={"retries": {"max_attempts": 1}, **config})


@pytest.mark.every_origin
def test_files(proxy, origin_s3, bucket):
    fs = filesystem(proxy.endpoint)
    path = f"{bucket}/dir/a b;é.txt"
    fs.pipe(path, b"from s3fs")
    assert stored(origin_s3, bucket, "dir/a b;é.txt")[0] == b"from s3fs"
    assert fs.cat_file(path) == b"from s3fs"
    assert fs.cat_file(path, start=5, end=9) == b"s3fs"
    assert fs.info(path)["size"] == 9
    origin_s3.put_object(Bucket=bucket, Key="dir/sub/c.txt", Body=b"x")
    assert fs.ls(f"{bucket}/dir", detail=False) == [path, f"{bucket}/dir/sub"]
    assert fs.ls(f"{bucket}/dir/sub", detail=False) == [f"{bucket}/dir/sub/c.txt"]
    fs.copy(path, f"{bucket}/dir/copy.txt")
    assert stored(origin_s3, bucket, "dir/copy.txt")[0] == b"from s3fs"
    fs.setxattr(f"{bucket}/dir/copy.txt", colour="blue")
    assert fs.getxattr(f"{bucket}/dir/copy.txt", "colour") == "blue"
    # A presigned URL (SigV4 as configured: `test_its_own_urls_are_sigv2`), a GET signing
    # `host` alone.
    url = filesystem(proxy.endpoint, signature_version="s3v4").url(path, expires=60)
    got = requests.get(url, timeout=10)
    assert got.content == b"from s3fs", (url, got.content)
    # Several keys at once: one DeleteObjects. (Not `recursive=True`: s3s-fs lists the
    # folders it keeps keys in as keys too, and fails deleting them, straight as well.)
    fs.rm([path, f"{bucket}/dir/copy.txt", f"{bucket}/dir/sub/c.txt"])
    assert stored(origin_s3, bucket, "dir/copy.txt") is None and stored(origin_s3, bucket, "dir/sub/c.txt") is None


@pytest.mark.every_origin
def test_a_file_written_in_parts(proxy, origin_s3, bucket):
    """A file opened for writing goes up in parts of its block size (at least 5 MiB)."""
    fs = filesystem(proxy.endpoint)
    data = bytes(range(256)) * (11 * MIB // 256) + b"!"
    with fs.open(f"{bucket}/big.bin", "wb", block_size=5 * MIB) as f:
        f.write(data)
    assert stored(origin_s3, bucket, "big.bin")[0] == data
    with fs.open(f"{bucket}/big.bin", "rb") as f:
        f.seek(10 * MIB)
        assert f.read(4) == data[10 * MIB:10 * MIB + 4]


def test_its_own_urls_are_sigv2(proxy, origin_s3, bucket):
    """Left to itself, `url()` presigns SigV2 (botocore's legacy presigner for us-east-1): the
    filter verifies it and re-signs it as SigV2 for origins that take it, as SigV4 with
    `origin_signature_version: v4` (Garage's case, README)."""
    origin_s3.put_object(Bucket=bucket, Key="v2.txt", Body=b"v2")
    url = filesystem(proxy.endpoint).url(f"{bucket}/v2.txt", expires=60)
    assert "AWSAccessKeyId=" in url and "X-Amz-Signature" not in url
    assert requests.get(url, timeout=10).content == b"v2"


def test_parquet_through_pyarrow(proxy, bucket):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    fs = filesystem(proxy.endpoint)
    table = pa.table({"key": ["a", "b"], "size": [1, 2]})
    pq.write_table(table, f"{bucket}/t/part-0.parquet", filesystem=fs)
    assert pq.read_table(f"{bucket}/t/part-0.parquet", filesystem=fs).equals(table)


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket):
    before = proxy.origin_requests()
    with pytest.raises(PermissionError):
        filesystem(proxy.endpoint, secret="not-the-secret").pipe(f"{bucket}/refused", b"x")
    assert proxy.origin_requests() == before
    assert stored(origin_s3, bucket, "refused") is None
