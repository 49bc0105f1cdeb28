"""Apache Arrow's S3 filesystem (`pyarrow.fs.S3FileSystem`: the AWS SDK for C++ inside, its own
SigV4 signer) through the proxy: a Parquet file written and read, listing, deletion, an upload
of 11 MiB + 1 in parts, ranged reads of `open_input_file`, and virtual-hosted through Envoy as
its HTTP proxy. Arrow writes every file as a multipart upload, even a small one, and the SDK
sends each part over plain HTTP as `STREAMING-UNSIGNED-PAYLOAD-TRAILER` with a CRC64NVME
trailer (seen in its debug log): the unsigned aws-chunked path, from a client that chose it."""

import os

import pytest

from harness.clients import REGION
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import UNSIGNED_TRAILER
from test_post_policy import stored
from test_sdk_rust import file_of

pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed: make deps (test-harness/requirements.txt)")
pq = pytest.importorskip("pyarrow.parquet")
pafs = pytest.importorskip("pyarrow.fs")

MIB = 1024 * 1024

# The SDK would otherwise ask the EC2 metadata address for a region or credentials.
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


def filesystem(proxy, secret: str = CLIENT_SECRET, **options) -> "pafs.S3FileSystem":
    return pafs.S3FileSystem(access_key=CLIENT_KEY, secret_key=secret, region=REGION, scheme="http",
                             endpoint_override=proxy.authority, retry_strategy=pafs.AwsStandardS3RetryStrategy(0),
                             **options)


def table(rows: int):
    return pa.table({"n": list(range(rows)), "s": [f"row {i}" for i in range(rows)]})


@pytest.mark.every_origin
def test_parquet_listing_and_delete(proxy, origin_s3, bucket, origin_deviation):
    # Arrow writes every file as a multipart upload, each part with an unsigned trailer.
    origin_deviation(UNSIGNED_TRAILER, raises=OSError)
    fs = filesystem(proxy)
    written = table(5000)
    pq.write_table(written, f"{bucket}/data/year=2026/part 0 é.parquet", filesystem=fs)
    pq.write_table(table(10), f"{bucket}/data/year=2025/part-0.parquet", filesystem=fs)
    assert pq.read_table(f"{bucket}/data/year=2026/part 0 é.parquet", filesystem=fs).equals(written)
    # (Not `ParquetDataset(f"{bucket}/data")`: Arrow first asks HeadObject of the key `data`,
    # which s3s-fs, storing keys as files, answers 500 for a directory, without the proxy too.)
    listed = fs.get_file_info(pafs.FileSelector(f"{bucket}/data", recursive=True))
    files = sorted(i.path for i in listed if i.type == pafs.FileType.File)
    assert files == [f"{bucket}/data/year=2025/part-0.parquet", f"{bucket}/data/year=2026/part 0 é.parquet"]
    assert pq.ParquetDataset(files, filesystem=fs).read().num_rows == 5010
    fs.copy_file(f"{bucket}/data/year=2025/part-0.parquet", f"{bucket}/copy é.parquet")
    fs.move(f"{bucket}/copy é.parquet", f"{bucket}/moved.parquet")
    assert stored(origin_s3, bucket, "copy é.parquet") is None
    assert pq.read_table(f"{bucket}/moved.parquet", filesystem=fs).num_rows == 10
    fs.delete_file(f"{bucket}/data/year=2025/part-0.parquet")
    assert stored(origin_s3, bucket, "data/year=2025/part-0.parquet") is None
    assert stored(origin_s3, bucket, "data/year=2026/part 0 é.parquet") is not None


@pytest.mark.every_origin
def test_upload_in_parts_and_ranged_reads(proxy, origin_s3, bucket, tmp_path, origin_deviation):
    origin_deviation(UNSIGNED_TRAILER, raises=OSError)
    data = file_of(tmp_path, 11 * MIB + 1).read_bytes()
    fs = filesystem(proxy)
    with fs.open_output_stream(f"{bucket}/large.bin") as f:
        f.write(data)
    obj = origin_s3.get_object(Bucket=bucket, Key="large.bin")
    # Arrow's parts are 10 MiB.
    assert obj["ETag"].endswith('-2"')
    assert obj["Body"].read() == data
    with fs.open_input_file(f"{bucket}/large.bin") as f:
        assert f.size() == len(data)
        assert f.read_at(8, 5 * MIB - 4) == data[5 * MIB - 4:5 * MIB + 4]
        f.seek(len(data) - 3)
        assert f.read() == data[-3:]


def test_virtual_hosted_through_envoy_as_http_proxy(proxy, origin_s3, bucket):
    fs = pafs.S3FileSystem(access_key=CLIENT_KEY, secret_key=CLIENT_SECRET, region=REGION, scheme="http",
                           endpoint_override=PUBLIC_TEST_DOMAIN, force_virtual_addressing=True,
                           proxy_options={"scheme": "http", "host": "127.0.0.1", "port": proxy.port})
    pq.write_table(table(3), f"{bucket}/v.parquet", filesystem=fs)
    assert pq.read_table(f"{bucket}/v.parquet", filesystem=fs).num_rows == 3
    assert stored(origin_s3, bucket, "v.parquet") is not None


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket):
    with pytest.raises(OSError, match="SIGNATURE_DOES_NOT_MATCH"):
        pq.write_table(table(3), f"{bucket}/refused.parquet", filesystem=filesystem(proxy, secret="not-the-secret"))
    assert stored(origin_s3, bucket, "refused.parquet") is None
