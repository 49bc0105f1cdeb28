#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora under fuzz/corpus/<target>/ (not committed: this script
is). Seeds are the test vectors (tests/data/) and requests of the shapes the integration tests
send — boto3 header auth and presigned URLs, SigV2 headers and URLs, signed aws-chunked
uploads with and without a trailer, virtual-hosted requests, browser forms — signed here, with
the standard library only, for the fuzz targets' fixed configuration and clock (fuzz/src/lib.rs),
so that seeds verify and mutations start from valid requests.

    python3 fuzz/seeds.py            # every target, into fuzz/corpus/
    python3 fuzz/seeds.py DIR        # into DIR/<target>/
"""

import base64
import hashlib
import hmac
import json
import struct
import sys
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
DATA = FUZZ.parent / "tests" / "data"
CORPUS = FUZZ / "corpus"

# fuzz/src/lib.rs
NOW = 1_795_953_600
PUBLIC = "s3.mydomain.com"
CLIENT_KEY, CLIENT_SECRET = "CLIENTKEY", "client-secret"
ORIGIN_SECRET = "origin-secret"
# fuzz/fuzz_targets/aws_chunked.rs
CLIENT_SEED = "8f3c1d0e5a7b9c2d4e6f8a0b1c3d5e7f9a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def amz_date(secs: int) -> str:
    return datetime.fromtimestamp(secs, timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def http_date(secs: int) -> str:
    return datetime.fromtimestamp(secs, timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


def encode(data: bytes, keep: bytes = b"") -> str:
    return "".join(chr(b) if b in UNRESERVED or b in keep else f"%{b:02X}" for b in data)


def canonical_query(query: str, drop=("X-Amz-Signature",)) -> str:
    pairs = []
    for segment in query.split("&"):
        if not segment:
            continue
        name, _, value = segment.partition("=")
        name = urllib.parse.unquote_to_bytes(name.replace("+", " "))
        value = urllib.parse.unquote_to_bytes(value.replace("+", " "))
        if name.decode(errors="replace") in drop:
            continue
        pairs.append((encode(name), encode(value)))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def signing_key(secret: str, day: str, region: str = "us-east-1") -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign_v4(method, host, path, query, headers, signed, payload, secret=CLIENT_SECRET, when=NOW):
    """The SigV4 signature: the canonical request written out independently of the filter."""
    values = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(" ".join(value.split()))
    lines = [f"{n}:{host if n == 'host' else ','.join(values[n])}" for n in signed]
    canonical = "\n".join([
        method, encode(urllib.parse.unquote_to_bytes(path), keep=b"/"), canonical_query(query),
        *lines, "", ";".join(signed), payload,
    ])
    date = amz_date(when)
    sts = "\n".join(["AWS4-HMAC-SHA256", date, f"{date[:8]}/us-east-1/s3/aws4_request",
                     hashlib.sha256(canonical.encode()).hexdigest()])
    return hmac.new(signing_key(secret, date[:8]), sts.encode(), hashlib.sha256).hexdigest()


def header_v4(method, path, query="", headers=(), payload=EMPTY_SHA256, host=PUBLIC, unsigned=()):
    """A request as botocore signs it: every header but user-agent and expect."""
    headers = [*headers, ("x-amz-date", amz_date(NOW)), ("x-amz-content-sha256", payload)]
    signed = sorted({"host", *(n.lower() for n, _ in headers)})
    signature = sign_v4(method, host, path, query, headers, signed, payload)
    auth = (f"AWS4-HMAC-SHA256 Credential={CLIENT_KEY}/{amz_date(NOW)[:8]}/us-east-1/s3/aws4_request, "
            f"SignedHeaders={';'.join(signed)}, Signature={signature}")
    return method, path, query, host, [*headers, *unsigned, ("authorization", auth)]


def presigned_v4(method, path, query="", headers=(), host=PUBLIC, expires=300):
    """A URL as botocore presigns it (X-Amz-* after the request's own parameters)."""
    date = amz_date(NOW)
    signed = sorted({"host", *(n.lower() for n, _ in headers)})
    auth = (f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={CLIENT_KEY}%2F{date[:8]}%2Fus-east-1%2Fs3%2Faws4_request"
            f"&X-Amz-Date={date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders={'%3B'.join(signed)}")
    query = f"{query}&{auth}" if query else auth
    signature = sign_v4(method, host, path, query, headers, signed, "UNSIGNED-PAYLOAD")
    return method, path, f"{query}&X-Amz-Signature={signature}", host, list(headers)


def v2_signature(string_to_sign: str, secret=CLIENT_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


def header_v2(method, path, resource, headers=(), host=PUBLIC):
    date = http_date(NOW)
    content_type = dict(headers).get("content-type", "")
    content_md5 = dict(headers).get("content-md5", "")
    amz = "".join(f"{n}:{v}\n" for n, v in sorted(headers) if n.startswith("x-amz-"))
    sts = f"{method}\n{content_md5}\n{content_type}\n{date}\n{amz}{resource}"
    return method, path, "", host, [*headers, ("date", date), ("authorization", f"AWS {CLIENT_KEY}:{v2_signature(sts)}")]


def presigned_v2(method, path, resource, query="", host=PUBLIC):
    expires = NOW + 600
    sub = f"?{query}" if query else ""
    signature = urllib.parse.quote(v2_signature(f"{method}\n\n\n{expires}\n{resource}{sub}"), safe="")
    auth = f"AWSAccessKeyId={CLIENT_KEY}&Expires={expires}&Signature={signature}"
    return method, path, f"{query}&{auth}" if query else auth, host, []


def chunk_body(data: bytes, chunk: int, secret: str, seed: str, trailer: bool, date: str) -> bytes:
    key = signing_key(secret, date[:8])
    scope = f"{date[:8]}/us-east-1/s3/aws4_request"
    previous, body = seed, bytearray()
    for piece in [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]:
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", date, scope, previous, EMPTY_SHA256,
                         hashlib.sha256(piece).hexdigest()])
        previous = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        body += f"{len(piece):x};chunk-signature={previous}\r\n".encode()
        if piece:
            body += piece + b"\r\n"
    if trailer:
        line = "x-amz-checksum-crc32:AAAAAA=="
        sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", date, scope, previous,
                         hashlib.sha256(f"{line}\n".encode()).hexdigest()])
        signature = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        body += f"{line}\r\nx-amz-trailer-signature:{signature}\r\n\r\n".encode()
    else:
        body += b"\r\n"
    return bytes(body)


def chunked_v4(path, data, chunk=4096, trailer=False):
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
    headers = [("content-encoding", "aws-chunked"), ("x-amz-decoded-content-length", str(len(data)))]
    if trailer:
        headers.append(("x-amz-trailer", "x-amz-checksum-crc32"))
    method, path, query, host, pairs = header_v4("PUT", path, "", headers, payload=mode)
    seed = pairs[-1][1].rsplit("Signature=", 1)[1]
    return (method, path, query, host, pairs), chunk_body(data, chunk, CLIENT_SECRET, seed, trailer, amz_date(NOW))


def post_form(bucket, key, boundary="----s3resignboundary", secret=CLIENT_SECRET, access_key=CLIENT_KEY, when=NOW,
              extra=(), content=b"hello form"):
    """A SigV4 form; `extra` fields are pinned by the policy (a digest of `content`, say)."""
    date = amz_date(when)
    credential = f"{access_key}/{date[:8]}/us-east-1/s3/aws4_request"
    policy = base64.b64encode(json.dumps({
        "expiration": datetime.fromtimestamp(when + 3600, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conditions": [{"bucket": bucket}, ["starts-with", "$key", ""], {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
                       {"x-amz-credential": credential}, {"x-amz-date": date}, ["content-length-range", 0, 1000]]
                      + [{n: v} for n, v in extra],
    }).encode()).decode()
    signature = hmac.new(signing_key(secret, date[:8]), policy.encode(), hashlib.sha256).hexdigest()
    fields = [("key", key), *extra, ("x-amz-algorithm", "AWS4-HMAC-SHA256"), ("x-amz-credential", credential),
              ("x-amz-date", date), ("policy", policy), ("x-amz-signature", signature)]
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'.encode() for n, v in fields)
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
             f"Content-Type: text/plain\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return boundary, body


def text_request(selector: int, method, path, query, host, headers, body=b"", now=NOW) -> bytes:
    """The decide target's form (fuzz/src/lib.rs, TextRequest)."""
    target = path + (f"?{query}" if query else "")
    lines = [f":method: {method}", f":path: {target}", f":authority: {host}"]
    lines += [f"{n.lower()}: {v}" for n, v in headers]
    if now != NOW:
        lines.append(f"@now: {now}")
    return bytes([selector]) + "\n".join(lines).encode("utf-8") + b"\n\n" + body


def requests():
    """(name, request, body) of the shapes the integration tests send."""
    yield "put-header", header_v4("PUT", "/bucket/a%20key.txt", "", [("content-type", "text/plain"), ("x-amz-meta-owner", "alice"), ("content-md5", "XrY7u+Ae7tCTyyK7j1rNww==")], unsigned=[("user-agent", "Boto3/1.35")]), b""
    yield "get-header-range", header_v4("GET", "/bucket/k", "", [("range", "bytes=0-9")]), b""
    yield "list-v2", header_v4("GET", "/bucket", "list-type=2&prefix=logs%2F&delimiter=%2F&encoding-type=url"), b""
    yield "multipart-part", header_v4("PUT", "/bucket/big", "partNumber=2&uploadId=abc-123", payload="UNSIGNED-PAYLOAD"), b""
    yield "delete-objects", header_v4("POST", "/bucket", "delete", [("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")]), b""
    yield "copy", header_v4("PUT", "/bucket/copy", "", [("x-amz-copy-source", "/bucket/src%20key")]), b""
    yield "virtual-put", header_v4("PUT", "/key%2Bplus", "", [("content-type", "text/plain")], host=f"photos.{PUBLIC}"), b""
    yield "presigned-get", presigned_v4("GET", "/bucket/k%2By", "response-content-type=text%2Fcsv"), b""
    yield "presigned-put-ct", presigned_v4("PUT", "/bucket/upload", "", [("content-type", "image/png")]), b""
    yield "presigned-virtual", presigned_v4("GET", "/k", "x-id=GetObject", host=f"photos.{PUBLIC}"), b""
    yield "v2-header-get", header_v2("GET", "/bucket/k", "/bucket/k"), b""
    yield "v2-header-put-meta", header_v2("PUT", "/bucket/k", "/bucket/k", [("content-type", "text/plain"), ("x-amz-meta-a", "1")]), b""
    yield "v2-presigned", presigned_v2("GET", "/bucket/k", "/bucket/k"), b""
    yield "v2-presigned-acl", presigned_v2("GET", "/bucket/k", "/bucket/k", query="acl"), b""
    yield "v2-virtual", presigned_v2("GET", "/k", "/photos/k", host=f"photos.{PUBLIC}"), b""
    yield "anonymous", ("GET", "/bucket/k", "", PUBLIC, []), b""
    # What the decide target found (SECURITY.md): a multi-byte character where a domain begins.
    yield "multibyte-host", ("GET", "/k", "", "photos\u0485localhost", []), b""
    yield "preflight", ("OPTIONS", "/bucket/k", "", PUBLIC, [("origin", "https://app.example"), ("access-control-request-method", "PUT")]), b""
    for trailer in (False, True):
        name = "chunked-trailer" if trailer else "chunked"
        head, body = chunked_v4(f"/bucket/{name}", bytes(range(256)) * 40, 4096, trailer)
        yield name, head, body
    # Bodies bound only by a signed Content-MD5 (SigV2; SigV4 UNSIGNED-PAYLOAD or presigned),
    # with the body signed and with another.
    body = b"<Delete><Object><Key>a.txt</Key></Object></Delete>"
    md5 = [("content-md5", base64.b64encode(hashlib.md5(body).digest()).decode())]
    other = body.replace(b"a.txt", b"b.txt")
    for name, head in (
        ("md5-unsigned-payload", header_v4("POST", "/bucket", "delete", md5, payload="UNSIGNED-PAYLOAD")),
        ("md5-presigned", presigned_v4("PUT", "/bucket/only-this", "", md5)),
        ("md5-v2-delete", header_v2("POST", "/bucket?delete", "/bucket?delete", [*md5, ("content-type", "application/xml")])),
    ):
        yield name, head, body
        yield f"{name}-other-body", head, other
    boundary, body = post_form("bucket", "uploads/a.txt")
    yield "post-form", ("POST", "/bucket", "", PUBLIC, [("content-type", f"multipart/form-data; boundary={boundary}")]), body


def write(target: str, name: str, data: bytes) -> None:
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"seed-{name}").write_bytes(data)


def grant(method, path, authority, headers, now=NOW) -> bytes:
    """Version 2 (src/grant.rs): the time, the edge's largest chunk, the bucket its host named."""
    field = lambda b: struct.pack(">I", len(b)) + b
    out = b"S3RG" + bytes([2]) + struct.pack(">Q", now) + struct.pack(">Q", 1024 * 1024)
    host = authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority
    bucket = host[: -len(PUBLIC) - 1] if host.endswith("." + PUBLIC) else ""
    out += bytes([1]) + field(bucket.encode()) if bucket else bytes([0])
    out += field(method.encode()) + field(path.encode()) + field(authority.encode())
    out += struct.pack(">I", len(headers))
    for n, v in headers:
        out += field(n.encode()) + field(v.encode())
    return out


def vectors():
    """The test vectors as they are (other host, other key, other date): parsing paths."""
    examples = json.loads((DATA / "s3-sigv4-examples.json").read_text())
    for e in examples["sigv4"]:
        headers = [(n.lower(), v) for n, v in e["headers"] if n.lower() != "host"]
        host = next(v for n, v in e["headers"] if n.lower() == "host")
        if e["expected"].get("authorization"):
            headers.append(("authorization", e["expected"]["authorization"]))
        yield f"vector-{e['name']}", (e["method"], e["path"], e["query"], host, headers)
    suite = DATA / "aws4_testsuite"
    for case in sorted(p for p in suite.iterdir() if p.is_dir()):
        req = next(case.glob("*.req"), None)
        if req is None:
            continue
        raw = req.read_bytes().replace(b"\r\n", b"\n")
        head = raw.split(b"\n\n", 1)[0].decode(errors="replace").split("\n")
        method, target = head[0].split(" ", 1)[0], head[0].split(" ", 1)[1].rsplit(" ", 1)[0]
        headers = [tuple(x.strip() for x in line.split(":", 1)) for line in head[1:] if ":" in line]
        host = next((v for n, v in headers if n.lower() == "host"), PUBLIC)
        path, _, query = target.partition("?")
        yield f"suite-{case.name}", (method, path, query, host, [(n.lower(), v) for n, v in headers if n.lower() != "host"])


def main() -> int:
    count = 0
    for name, (method, path, query, host, headers), body in requests():
        for selector in (0, 1, 2):
            write("decide", f"{name}-{selector}", text_request(selector, method, path, query, host, headers, body))
            count += 1
        target = path + (f"?{query}" if query else "")
        write("grant", name, grant(method, target, host, headers))
        count += 1
        if "?" in target:
            write("query_v4", name, target.split("?", 1)[1].encode())
            write("query_v2", name, target.split("?", 1)[1].encode())
            count += 2
        for n, v in headers:
            if n == "authorization":
                write("authorization_v2" if v.startswith("AWS ") else "authorization_v4", name, v.encode())
                count += 1
    for name, (method, path, query, host, headers) in vectors():
        write("decide", name, text_request(0, method, path, query, host, headers))
        count += 1
    # aws_chunked: the fixed request's chains (fuzz_targets/aws_chunked.rs).
    date = amz_date(NOW)
    for mode, (size, chunk, trailer) in enumerate([(0, 8192, False), (1, 8192, False), (20000, 8192, False),
                                                   (5000, 1000, True), (0, 8192, True), (8192, 8192, False)]):
        data = bytes((i * 7) & 0xFF for i in range(size))
        body = chunk_body(data, chunk, CLIENT_SECRET, CLIENT_SEED, trailer, date)
        # minio-go's layout of a signed trailer: an empty line before the trailer signature.
        layouts = [("", body)] + ([("-minio-go", body.replace(b"==\r\nx-amz-trailer", b"==\n\r\nx-amz-trailer"))]
                                  if trailer else [])
        for bits in (0, 2, 4):
            selector = (1 if trailer else 0) | bits | (mode << 3)
            for suffix, layout in layouts:
                write("aws_chunked", f"{mode}-{bits}{suffix}", bytes([selector]) + f"{size}\n".encode() + layout)
                count += 1
    # post_upload: the forms of the test data, and one made here.
    posts = json.loads((DATA / "s3-post-policy-examples.json").read_text())
    for e in posts["examples"]:
        boundary = "----fuzzboundary7MA4YWxkTrZu0gW"
        fields = [(n, e["policy"] if v == "$policy" else e["signature"] if v == "$signature" else v) for n, v in e["fields"]]
        body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'.encode() for n, v in fields)
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{e.get("filename", "a.jpg")}"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n").encode() + b"\xff\xd8 jpeg bytes" + f"\r\n--{boundary}--\r\n".encode()
        when = int(datetime.strptime(e["now"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())
        for selector in (0, 1, 6, 7):
            write("post_upload", f"{e['name']}-{selector}", bytes([selector]) + f"{e['bucket']}\n{boundary}\n{when}\n".encode() + body)
            count += 1
    # Forms that pin their file by a digest (checked as the file streams).
    example_key, example_secret = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    content = b"hello form"
    for name, digest in (("x-amz-checksum-sha256", hashlib.sha256), ("x-amz-checksum-sha1", hashlib.sha1),
                         ("x-amz-checksum-sha512", hashlib.sha512), ("x-amz-checksum-md5", hashlib.md5),
                         ("content-md5", hashlib.md5)):
        pin = [(name, base64.b64encode(digest(content).digest()).decode())]
        boundary, body = post_form("bucket", "uploads/a.txt", secret=example_secret, access_key=example_key,
                                   extra=pin, content=content)
        for selector in (0, 1):
            write("post_upload", f"digest-{name}-{selector}", bytes([selector]) + f"bucket\n{boundary}\n{NOW}\n".encode() + body)
            count += 1
    # config: the shipped and documented configurations, and the fuzz targets' own.
    configs = {
        "readme": {"public_domains": ["s3.mydomain.com"], "origin_authority": "s3.example.com", "origin_region": "us-east-1",
                   "credentials": [{"access_key_id": "CLIENTKEY", "secret_access_key": "client-secret",
                                    "origin_access_key_id": "ORIGINKEY", "origin_secret_access_key_env": "S3_RESIGN_ORIGIN_SECRET"}],
                   "max_clock_skew_seconds": 900, "anonymous": "reject"},
        "full": {"public_domains": ["s3.mydomain.com", "localhost:8080"], "origin_authority": "[::1]:9000", "origin_region": "garage",
                 "origin_addressing": "virtual", "origin_signature_version": "v4", "log_level": "debug",
                 "max_chunk_size_bytes": 65536, "chunk_memory_budget_bytes": 1048576, "anonymous": "forward",
                 "credentials": [{"access_key_id": "A", "secret_access_key_env": "S3_RESIGN_CLIENT_SECRET"},
                                 {"access_key_id": "B", "secret_access_key": "b-secret"}]},
        "edge": {"role": "edge", "public_domains": ["s3.mydomain.com"],
                 "credentials": [{"access_key_id": "CLIENTKEY", "secret_access_key": "client-secret"}]},
        "origins": {"role": "origin", "origins": [
            {"name": "primary", "public_domains": ["s3.mydomain.com"], "origin_authority": "a:9000",
             "credentials": [{"access_key_id": "CLIENTKEY", "origin_access_key_id": "O", "origin_secret_access_key": "o-secret"}]},
            {"name": "backup", "public_domains": ["s3.mydomain.com"], "origin_authority": "b:9000", "origin_region": "garage",
             "credentials": [{"access_key_id": "CLIENTKEY", "origin_access_key_id": "P", "origin_secret_access_key_env": "S3_RESIGN_ORIGIN_SECRET"}]}]},
    }
    for name, value in configs.items():
        write("config", name, json.dumps(value, indent=1).encode())
        count += 1
    write("config", "empty-env", b"  ")
    write("config", "repeated-key", b'{"origin_authority": "a", "origin_authority": "b"}')
    count += 2
    print(f"wrote {count} seeds under {CORPUS}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        CORPUS = Path(sys.argv[1])
    sys.exit(main())
