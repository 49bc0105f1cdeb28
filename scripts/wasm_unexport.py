#!/usr/bin/env python3
"""Removes exports from a wasm module, in place: `wasm_unexport.py MODULE NAME...`.

Envoy calls into a proxy-wasm module for every callback the module exports, and skips the
ones it does not export (proxy-wasm-cpp-host checks each function for null before entering
the VM). The Rust SDK exports every callback, implemented or not, so a filter that only
works on requests is still entered for each response's headers and body, and once more when
the stream is done, to run the SDK's defaults. Each entry costs Envoy and V8 a few thousand
instructions. Only the export section changes; every other byte of the module stays.
"""

import os
import sys
from pathlib import Path

MAGIC = b"\0asm\x01\0\0\0"
EXPORT_SECTION = 7


def read_leb(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 28:
            raise ValueError("truncated or oversized LEB128 number")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def leb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def export_entries(export_section: bytes) -> list[tuple[str, bytes]]:
    """Each export's name, with its whole entry as encoded."""
    count, at = read_leb(export_section, 0)
    entries = []
    for _ in range(count):
        start = at
        length, at = read_leb(export_section, at)
        name = export_section[at:at + length].decode()
        at += length + 1  # the name, then the kind byte
        _index, at = read_leb(export_section, at)
        entries.append((name, export_section[start:at]))
    if at != len(export_section):
        raise ValueError("the export section has trailing bytes")
    return entries


def sections(module: bytes) -> list[tuple[int, bytes]]:
    if not module.startswith(MAGIC):
        raise ValueError("not a wasm module (version 1)")
    found, at = [], len(MAGIC)
    while at < len(module):
        size, body_start = read_leb(module, at + 1)
        body = module[body_start:body_start + size]
        if len(body) != size:
            raise ValueError("truncated section")
        found.append((module[at], body))
        at = body_start + size
    return found


def exports(module: bytes) -> list[str]:
    return [name for sid, body in sections(module) if sid == EXPORT_SECTION
            for name, _ in export_entries(body)]


def unexport(module: bytes, names: set[str]) -> bytes:
    out = bytearray(MAGIC)
    for section_id, body in sections(module):
        if section_id == EXPORT_SECTION:
            kept = [entry for name, entry in export_entries(body) if name not in names]
            body = leb(len(kept)) + b"".join(kept)
        out += bytes([section_id]) + leb(len(body)) + body
    return bytes(out)


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, names = Path(sys.argv[1]), set(sys.argv[2:])
    try:
        # Names the module does not export are no error: running it twice changes nothing.
        module = unexport(path.read_bytes(), names)
        # Replaced whole or not at all: an interrupted write leaves the module cargo built.
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(module)
        os.replace(partial, path)
    except ValueError as e:
        print(f"{path}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
