"""The `x-amz-checksum-*` values S3 takes, computed here (botocore computes CRC32C and
CRC64NVME only with awscrt, which the harness does not install): base64 of the big-endian
digest. The CRCs are the reflected table-driven ones, slow in Python but bodies here are small."""

import base64
import hashlib
import zlib


def _table(poly: int) -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C = _table(0x82F63B78)
_CRC64NVME = _table(0x9A6C9329AC4BC9B5)


def _crc(table: list[int], mask: int, data: bytes) -> int:
    crc = mask
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ mask


def crc32c(data: bytes) -> int:
    return _crc(_CRC32C, 0xFFFFFFFF, data)


def crc64nvme(data: bytes) -> int:
    return _crc(_CRC64NVME, 0xFFFFFFFFFFFFFFFF, data)


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


CHECKSUMS = {
    "crc32": lambda d: _b64(zlib.crc32(d).to_bytes(4, "big")),
    "crc32c": lambda d: _b64(crc32c(d).to_bytes(4, "big")),
    "crc64nvme": lambda d: _b64(crc64nvme(d).to_bytes(8, "big")),
    "sha1": lambda d: _b64(hashlib.sha1(d).digest()),
    "sha256": lambda d: _b64(hashlib.sha256(d).digest()),
}
