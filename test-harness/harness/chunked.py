"""The harness's own aws-chunked writer: signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
with or without a signed trailer) and unsigned chunks with a checksum trailer
(STREAMING-UNSIGNED-PAYLOAD-TRAILER), the way SDKs frame them. The seed signature comes from
botocore's signer; chunk and trailer signatures are computed here, independently of the
filter's code."""

import base64
import hashlib
import hmac
import zlib
from dataclasses import dataclass

from .clients import REGION, RawRequest, sign_header
from .envoy_config import CLIENT_KEY, CLIENT_SECRET

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def crc32_checksum(data: bytes) -> str:
    """The x-amz-checksum-crc32 value: base64 of the big-endian CRC-32."""
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def signing_key(secret: str, date: str, region: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


@dataclass
class Chain:
    key: bytes
    amz_date: str
    scope: str
    previous: str

    def sign(self, algorithm: str, *hashes: str) -> str:
        sts = "\n".join([algorithm, self.amz_date, self.scope, self.previous, *hashes])
        return hmac.new(self.key, sts.encode(), hashlib.sha256).hexdigest()

    def chunk(self, data: bytes) -> str:
        self.previous = self.sign("AWS4-HMAC-SHA256-PAYLOAD", EMPTY_SHA256, hashlib.sha256(data).hexdigest())
        return self.previous

    def trailer(self, canonical: bytes) -> str:
        return self.sign("AWS4-HMAC-SHA256-TRAILER", hashlib.sha256(canonical).hexdigest())


def chunked_put(
    authority: str,
    target: str,
    data: bytes,
    mode: str = SIGNED,
    chunk_size: int = 64 * 1024,
    trailer_eol: str = "\r\n",
    key: str = CLIENT_KEY,
    secret: str = CLIENT_SECRET,
    sign_content_length: bool = True,
    region: str = REGION,
    checksum: tuple[str, str] | None = None,
    extra_headers: dict | None = None,
) -> RawRequest:
    """A PUT with an aws-chunked body, as a client sends it (`mode` is the payload mode).
    With `sign_content_length=False` the body's length is not signed (as some SDKs do), so a
    test may reframe the body. A trailer carries `checksum` (name, value; the data's CRC32 by
    default); `extra_headers` are signed beside the framing's."""
    chunks = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)]
    trailer = mode in (SIGNED_TRAILER, UNSIGNED_TRAILER)
    checksum = checksum or ("x-amz-checksum-crc32", crc32_checksum(data))
    unsigned_length = sum(len(f"{len(c):x}\r\n") + len(c) + 2 for c in chunks) + len("0\r\n")
    signed_length = sum(len(f"{len(c):x};chunk-signature=") + 64 + 2 + len(c) + 2 for c in chunks) \
        + len("0;chunk-signature=") + 64 + 2
    if mode == UNSIGNED_TRAILER:
        length = unsigned_length + len(f"{checksum[0]}:{checksum[1]}\r\n\r\n")
    elif mode == SIGNED_TRAILER:
        length = signed_length + len(f"{checksum[0]}:{checksum[1]}{trailer_eol}") \
            + len("x-amz-trailer-signature:") + 64 + len(trailer_eol) + 2
    else:
        length = signed_length + 2
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(data)),
        **(extra_headers or {}),
        "Content-Length": str(length),
    }
    if trailer:
        headers["X-Amz-Trailer"] = checksum[0]
    if not sign_content_length:
        del headers["Content-Length"]
    request = sign_header(authority, "PUT", target, headers, b"", key=key, secret=secret, region=region,
                          payload_hash=mode)
    if not sign_content_length:
        request = request.with_header("Content-Length", str(length))
    seed = request.header("Authorization").rsplit("Signature=", 1)[1]
    amz_date = request.header("X-Amz-Date")
    chain = Chain(signing_key(secret, amz_date[:8], region), amz_date,
                  f"{amz_date[:8]}/{region}/s3/aws4_request", seed)

    body = bytearray()
    for c in chunks + [b""]:
        if mode == UNSIGNED_TRAILER:
            body += f"{len(c):x}\r\n".encode()
        else:
            body += f"{len(c):x};chunk-signature={chain.chunk(c)}\r\n".encode()
        if c:
            body += c + b"\r\n"
    if mode == UNSIGNED_TRAILER:
        body += f"{checksum[0]}:{checksum[1]}\r\n\r\n".encode()
    elif mode == SIGNED_TRAILER:
        body += f"{checksum[0]}:{checksum[1]}{trailer_eol}".encode()
        signature = chain.trailer(f"{checksum[0]}:{checksum[1]}\n".encode())
        body += f"x-amz-trailer-signature:{signature}{trailer_eol}\r\n".encode()
    else:
        body += b"\r\n"
    assert len(body) == length, (len(body), length)
    return RawRequest("PUT", request.target, request.headers, bytes(body))
