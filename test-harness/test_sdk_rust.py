"""A real client that signs its chunks: the AWS SDK for Rust (test-harness/sdk-client) sends
file bodies over plain HTTP as STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER — every chunk signed,
a signed CRC32 trailer — and over HTTPS as STREAMING-UNSIGNED-PAYLOAD-TRAILER (chunks left to
TLS, a CRC32 trailer the origin checks), in HTTP/2 where the listener offers h2. Through the
proxy, the origin (which checks each chunk signature with the origin chain) must store exactly
the file."""

import hashlib
import os
import subprocess

import pytest

from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET
from harness.paths import sdk_client_binary
from harness.programs import EMPTY_PART
from harness.programs import UNSIGNED_TRAILER as UNSIGNED_TRAILER_DEVIATION
from harness.programs import SIGNED_TRAILER as SIGNED_TRAILER_DEVIATION

SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
CHUNK = 64 * 1024


def sdk_upload(proxy, bucket: str, key: str, path, op: str, secret: str = CLIENT_SECRET):
    """Uploads through `proxy` (over HTTPS when it has a `ca_bundle`)."""
    ca = getattr(proxy, "ca_bundle", None)
    endpoint = f"https://{proxy.authority}" if ca else proxy.endpoint
    done = subprocess.run(
        [sdk_client_binary(), endpoint, CLIENT_KEY, secret, bucket, key, str(path), op] + ([ca] if ca else []),
        capture_output=True, text=True, timeout=300,
    )
    return done.returncode, done.stdout.splitlines()


def file_of(tmp_path, size: int):
    path = tmp_path / f"f{size}"
    with open(path, "wb") as f:
        block = os.urandom(1 << 20)
        for at in range(0, size, len(block)):
            f.write(block[:size - at])
    return path


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def empty_part(op: str, size: int) -> list[str]:
    """The multipart upload of an empty file sends an empty part."""
    return [EMPTY_PART] if (op, size) == ("multipart", 0) else []


@pytest.mark.every_origin
@pytest.mark.parametrize("op", ["put", "multipart"])
@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1])
def test_sdk_uploads_signed_chunks(proxy, origin_s3, bucket, tmp_path, op, size, origin_deviation):
    origin_deviation(SIGNED_TRAILER_DEVIATION, *empty_part(op, size))
    path = file_of(tmp_path, size)
    before = proxy.prometheus()
    code, lines = sdk_upload(proxy, bucket, f"{op}-{size}", path, op)
    assert code == 0, lines
    # The PUT carrying the body really was a signed-chunk stream with a signed trailer.
    body_requests = [line for line in lines if line.startswith("sent PUT")]
    assert body_requests == [f"sent PUT x-amz-content-sha256={SIGNED_TRAILER} x-amz-trailer=x-amz-checksum-crc32"]
    after = proxy.prometheus()
    kind = 's3_resign_requests_total{kind="chunked_v4"}'
    assert after[kind] - before[kind] == 1
    chunks = -(-size // CHUNK) + 1
    assert after["s3_resign_chunks_resigned_total"] - before["s3_resign_chunks_resigned_total"] == chunks
    stored = origin_s3.get_object(Bucket=bucket, Key=f"{op}-{size}")["Body"].read()
    assert stored == path.read_bytes()


@pytest.mark.every_origin
@pytest.mark.parametrize("op", ["put", "multipart"])
@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1])
def test_sdk_over_https_uploads_unsigned_trailer_chunks(https_proxy, origin_s3, bucket, tmp_path, op, size,
                                                        origin_deviation):
    """Over HTTP/1.1, and over HTTP/2 where the listener offers it (hyper then sends the
    stream in DATA frames, with its length and trailer inside the body as over HTTP/1.1)."""
    origin_deviation(UNSIGNED_TRAILER_DEVIATION, *empty_part(op, size))
    path = file_of(tmp_path, size)
    before = https_proxy.prometheus()
    with https_proxy.speaking(https_proxy.protocol_of(speaks_h2=True)):
        code, lines = sdk_upload(https_proxy, bucket, f"{op}-{size}", path, op)
    assert code == 0, lines
    body_requests = [line for line in lines if line.startswith("sent PUT")]
    assert body_requests == [f"sent PUT x-amz-content-sha256={UNSIGNED_TRAILER} x-amz-trailer=x-amz-checksum-crc32"]
    after = https_proxy.prometheus()
    # Header-signed; the body passes untouched: no chunk to re-sign.
    assert after.get("s3_resign_chunks_resigned_total", 0) == before.get("s3_resign_chunks_resigned_total", 0)
    stored = origin_s3.get_object(Bucket=bucket, Key=f"{op}-{size}")["Body"].read()
    assert stored == path.read_bytes()


def test_sdk_uploads_64_mib(proxy, origin_s3, bucket, tmp_path):
    path = file_of(tmp_path, 64 * 1024 * 1024 + 1)
    code, lines = sdk_upload(proxy, bucket, "large", path, "put")
    assert code == 0, lines
    stored = origin_s3.get_object(Bucket=bucket, Key="large")["Body"].read()
    assert digest(stored) == digest(path.read_bytes())


def test_sdk_with_a_wrong_secret_is_refused(public, origin_s3, bucket, tmp_path):
    """Over plain HTTP and over HTTP/2 (where the answer comes before the body is sent)."""
    path = file_of(tmp_path, 3 * CHUNK)
    with public.speaking(public.protocol_of(speaks_h2=True)):
        code, lines = sdk_upload(public, bucket, "refused", path, "put", secret="not-the-secret")
    assert code != 0
    assert any("SignatureDoesNotMatch" in line for line in lines), lines
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError):
        origin_s3.head_object(Bucket=bucket, Key="refused")
