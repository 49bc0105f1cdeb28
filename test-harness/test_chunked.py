"""Signed streaming uploads (aws-chunked) through the proxy, with the harness's own chunk
writer: the origins (s3s-fs, Garage, Ceph) check every chunk signature themselves, with the origin
chain, so a stored object proves the filter verified and re-signed each chunk; a refused stream
must leave no object."""

import base64
import hashlib
import io
import re
import socket
import time
from dataclasses import replace

import botocore.auth
import pytest
from botocore.exceptions import ClientError

from harness.chunked import (
    SIGNED,
    SIGNED_TRAILER,
    UNSIGNED_TRAILER,
    Chain,
    chunked_put,
    crc32_checksum,
    signing_key,
)
from harness.clients import RawRequest, send, send_h2
from harness.envoy_config import PUBLIC_TEST_DOMAIN
from harness.programs import EMPTY_SIGNED_CHUNKS
from harness.programs import SIGNED_TRAILER as SIGNED_TRAILER_DEVIATION
from harness.programs import UNSIGNED_TRAILER as UNSIGNED_TRAILER_DEVIATION
from harness.programs import UNSIGNED_TRAILER_CHECKSUM
from test_faults import raw_head

SIZES = [0, 1, 64 * 1024, 64 * 1024 + 1]


def data_of(size: int) -> bytes:
    return bytes((i * 7 + i // 251) % 256 for i in range(size))


def stored(origin_s3, bucket, key) -> bytes | None:
    try:
        return origin_s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError:
        return None


@pytest.mark.every_origin
@pytest.mark.parametrize("mode", [SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER])
@pytest.mark.parametrize("size", SIZES)
def test_chunked_upload(proxy, origin_s3, bucket, mode, size, origin_deviation):
    expect_deviations(origin_deviation, mode, empty=size == 0)
    data = data_of(size)
    request = chunked_put(proxy.authority, f"/{bucket}/obj-{size}", data, mode)
    assert request.header("X-Amz-Content-SHA256") == mode
    before = proxy.prometheus().get("s3_resign_chunks_resigned_total", 0)
    r = send(proxy.authority, request)
    assert r.status == 200, r.body
    assert stored(origin_s3, bucket, f"obj-{size}") == data
    chunks = 0 if mode == UNSIGNED_TRAILER else -(-size // (64 * 1024)) + 1
    assert proxy.prometheus()["s3_resign_chunks_resigned_total"] - before == chunks


def expect_deviations(origin_deviation, mode: str, empty: bool = False) -> None:
    """Where an origin refuses uploads of this payload mode, sent directly too."""
    if mode == SIGNED_TRAILER:
        origin_deviation(SIGNED_TRAILER_DEVIATION)
    if mode == UNSIGNED_TRAILER:
        origin_deviation(UNSIGNED_TRAILER_DEVIATION)
    if mode == SIGNED and empty:
        origin_deviation(EMPTY_SIGNED_CHUNKS)


@pytest.mark.every_origin
@pytest.mark.parametrize("mode", [SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER])
@pytest.mark.parametrize("frame, length", [(16384, True), (7, False)], ids=["frames-16k", "frames-7-no-length"])
def test_chunked_upload_over_http2(h2_proxy, origin_s3, bucket, mode, frame, length, origin_deviation):
    """The streams as an SDK sends them over HTTPS where the listener offers h2 (ALPN): in
    DATA frames of any size, so a chunk's header, signature or the trailer is cut anywhere,
    with or without a Content-Length (HTTP/2 needs none; Envoy then sends the origin
    `Transfer-Encoding: chunked`). The chunks and trailer are the body's, not HTTP/2's."""
    expect_deviations(origin_deviation, mode)
    data = data_of(2 * 64 * 1024 + 3)
    key = f"h2-{frame}"
    request = chunked_put(h2_proxy.authority, f"/{bucket}/{key}", data, mode, sign_content_length=length)
    headers = [(n.lower().encode(), v.encode()) for n, v in request.headers
               if n.lower() != "host" and (length or n.lower() != "content-length")]
    before = h2_proxy.prometheus().get("s3_resign_chunks_resigned_total", 0)
    with h2_proxy.speaking("HTTP/2"):
        r = send_h2(h2_proxy.authority, "PUT", request.target.encode(), h2_proxy.port, headers, request.body,
                    ca=h2_proxy.ca_bundle, frame=frame)
    assert r.status == 200, r.body
    assert stored(origin_s3, bucket, key) == data
    chunks = 0 if mode == UNSIGNED_TRAILER else 4
    assert h2_proxy.prometheus().get("s3_resign_chunks_resigned_total", 0) - before == chunks


@pytest.mark.every_origin
@pytest.mark.parametrize("mode", [SIGNED, UNSIGNED_TRAILER])
def test_a_signed_transfer_encoding_is_the_framing_envoy_took(proxy, origin_s3, bucket, mode, origin_deviation,
                                                              monkeypatch):
    """botocore signed `Transfer-Encoding: chunked` before it learnt the header is hop-by-hop
    (the AWS CLI v2 2.9's checksum uploads over TLS). Envoy frames the body by it and drops
    it before the filter reads the head: the filter verifies it as `chunked`, and leaves it
    out of the origin's signature (Envoy frames the body to the origin itself). Signed but
    not sent, beside a `Content-Length`, it is missing: refused, nothing stored; so is the
    request with any other part its signature covers changed."""
    expect_deviations(origin_deviation, mode)
    # What botocore left unsigned until January 2025 (1.36; the AWS CLI v2 2.9's copy, Debian's).
    monkeypatch.setattr(botocore.auth, "SIGNED_HEADERS_BLACKLIST", ["expect", "user-agent", "x-amzn-trace-id"])
    data = data_of(70_000)
    signed = chunked_put(proxy.authority, f"/{bucket}/te", data, mode, sign_content_length=False,
                         extra_headers={"Transfer-Encoding": "chunked"})
    assert "transfer-encoding" in signed.header("Authorization")
    sized = replace(signed, headers=[(n, v) for n, v in signed.headers if n.lower() != "transfer-encoding"])
    r = send(proxy.authority, sized)
    assert (r.status, error_code(r)) == (403, "SignatureDoesNotMatch"), r.body
    assert b"transfer-encoding" in r.body
    assert stored(origin_s3, bucket, "te") is None
    framed = replace(signed, headers=[(n, v) for n, v in signed.headers if n.lower() != "content-length"])
    # One thing its signature covers changed (the header is supplied, not received): an
    # unsigned x-amz-acl added, another key, another method, the bucket in the host, refused
    # before the origin hears of it; with signed chunks, the body changed, refused with nothing
    # stored (an unsigned-trailer body is unsigned, and its checksum the origin's to compare).
    other_key = framed.target.replace(f"/{bucket}/te", f"/{bucket}/te-other")
    virtual = framed.target.replace(f"/{bucket}/te", "/te")
    before = proxy.origin_requests()
    for tampered in (
        framed.with_header("x-amz-acl", "public-read"),
        replace(framed, target=other_key),
        replace(framed, method="POST"),
        replace(framed, target=virtual).with_header("Host", f"{bucket}.{PUBLIC_TEST_DOMAIN}:{proxy.port}"),
    ):
        r = send(proxy.authority, tampered, chunked=True)
        assert r.status in (400, 403), (tampered, r.status, r.body)
    assert proxy.origin_requests() == before, "the origin must not see a refused request"
    if mode == SIGNED:
        data_at = framed.body.index(b"\r\n") + 10
        r = send(proxy.authority, replace(framed, body=tamper(framed.body, data_at)), chunked=True)
        assert (r.status, error_code(r)) == (403, "SignatureDoesNotMatch"), r.body
    assert stored(origin_s3, bucket, "te") is None and stored(origin_s3, bucket, "te-other") is None
    r = send(proxy.authority, framed, chunked=True)
    assert r.status == 200, r.body
    assert stored(origin_s3, bucket, "te") == data


def test_large_upload_streams_through(proxy, origin_s3, bucket):
    data = data_of(1 << 20) * 64 + b"!"  # 64 MiB + 1 byte, 1025 chunks of 64 KiB
    r = send(proxy.authority, chunked_put(proxy.authority, f"/{bucket}/large", data, SIGNED_TRAILER))
    assert r.status == 200, r.body
    head = origin_s3.head_object(Bucket=bucket, Key="large")
    assert head["ContentLength"] == len(data)
    got = origin_s3.get_object(Bucket=bucket, Key="large")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


def test_trailer_lines_ending_in_lf(proxy, origin_s3, bucket):
    data = data_of(100_000)
    request = chunked_put(proxy.authority, f"/{bucket}/lf", data, SIGNED_TRAILER, trailer_eol="\n")
    assert request.body.endswith(b"\n\r\n") and not request.body.endswith(b"\r\n\r\n")
    assert send(proxy.authority, request).status == 200
    assert stored(origin_s3, bucket, "lf") == data


def test_trailers_as_minio_go_writes_them_and_what_they_must_not_carry(proxy, origin_s3, bucket):
    """minio-go puts an empty line between its trailers and their signature, which the filter
    takes, and nothing else: the same signed upload with an unsigned trailer added after that
    empty line, or a second empty line, is refused and stores nothing."""
    data = data_of(100_000)

    def put(key: str, between: bytes) -> RawRequest:
        """A signed-trailer upload of `data` to `key` with `between` before the signature line."""
        request = chunked_put(proxy.authority, f"/{bucket}/{key}", data, SIGNED_TRAILER, trailer_eol="\n",
                              sign_content_length=False)
        at = request.body.rindex(b"x-amz-trailer-signature:")
        body = request.body[:at] + between + request.body[at:].rstrip(b"\r\n") + b"\r\n\r\n"
        return replace(request, body=body).with_header("Content-Length", str(len(body)))

    assert send(proxy.authority, put("minio", b"\r\n")).status == 200
    assert stored(origin_s3, bucket, "minio") == data
    for key, between in {"added": b"\r\nx-amz-checksum-crc32c:AAAAAA==\r\n", "twice": b"\r\n\r\n"}.items():
        r = send_refused(proxy, put(key, between))
        assert r is None or (r.status, error_code(r)) == (400, "InvalidRequest"), f"{key}: {r and r.body}"
        assert stored(origin_s3, bucket, key) is None, key


def send_refused(proxy, request: RawRequest):
    """Sends a stream the filter must stop; returns the response, or None when the connection
    was reset before it could be read (the client was still sending)."""
    try:
        return send(proxy.authority, request)
    except (ConnectionError, OSError):
        return None


def error_code(response) -> str | None:
    if response is None:
        return None
    match = re.search(rb"<Code>(\w+)</Code>", response.body)
    return match.group(1).decode() if match else None


def tamper(body: bytes, at: int) -> bytes:
    return body[:at] + bytes([body[at] ^ 1]) + body[at + 1:]


def flip_hex(body: bytes, at: int) -> bytes:
    """Another hex digit at `at`."""
    return body[:at] + (b"1" if body[at:at + 1] == b"0" else b"0") + body[at + 1:]


def chunk_signature_offsets(body: bytes) -> list[int]:
    return [m.end() for m in re.finditer(rb"chunk-signature=", body)]


def test_tampered_streams_leave_no_object(proxy, origin_s3, bucket):
    data = data_of(5 * 64 * 1024 + 100)
    good = chunked_put(proxy.authority, f"/{bucket}/tampered", data, SIGNED_TRAILER, sign_content_length=False)
    signatures = chunk_signature_offsets(good.body)
    cases = {
        "data byte in chunk 3": (tamper(good.body, signatures[2] + 64 + 2 + 1000), 403, "SignatureDoesNotMatch"),
        "signature of chunk 4": (flip_hex(good.body, signatures[3] + 5), 403, "SignatureDoesNotMatch"),
        "signature of the final chunk": (flip_hex(good.body, signatures[-1]), 403, "SignatureDoesNotMatch"),
        "trailer value": (re.sub(rb"(x-amz-checksum-crc32:)(.)", lambda m: m.group(1) + bytes([m.group(2)[0] ^ 1]),
                                 good.body), 403, "SignatureDoesNotMatch"),
        "trailer signature": (flip_hex(good.body, good.body.rindex(b"x-amz-trailer-signature:") + 30), 403,
                              "SignatureDoesNotMatch"),
        "chunk extension": (good.body.replace(b";chunk-signature=", b";x=1;chunk-signature=", 1), 400,
                            "InvalidRequest"),
        # The trailer x-amz-trailer announced (and signed) dropped: the origin would keep another
        # checksum than the one the client signed.
        "trailer stripped": (good.body[: good.body.index(b"\r\n", signatures[-1]) + 2] + b"\r\n", 400,
                             "InvalidRequest"),
    }
    for what, (body, status, code) in cases.items():
        request = replace(good, body=body).with_header("Content-Length", str(len(body)))
        r = send_refused(proxy, request)
        assert r is None or (r.status, error_code(r)) == (status, code), f"{what}: {r and r.body}"
        assert stored(origin_s3, bucket, "tampered") is None, what


def test_truncated_and_mismatched_streams_leave_no_object(proxy, origin_s3, bucket):
    data = data_of(3 * 64 * 1024)
    good = chunked_put(proxy.authority, f"/{bucket}/short", data, SIGNED, sign_content_length=False)
    final = good.body.rindex(b"0;chunk-signature=")
    cut = good.body[:final]
    truncated = replace(good, body=cut).with_header("Content-Length", str(len(cut)))
    r = send_refused(proxy, truncated)
    assert r is None or (r.status, error_code(r)) == (400, "IncompleteBody")
    assert stored(origin_s3, bucket, "short") is None

    # The chunks carry fewer bytes than the (signed) decoded length announces.
    # The chunks carry one byte less than the (signed) decoded length announces.
    claims_more = chunked_put(proxy.authority, f"/{bucket}/short", data, SIGNED, sign_content_length=False)
    seed = claims_more.header("Authorization").rsplit("Signature=", 1)[1]
    fewer = resign_body(claims_more, seed, data[:-1])
    mismatched = replace(claims_more, body=fewer).with_header("Content-Length", str(len(fewer)))
    r = send_refused(proxy, mismatched)
    assert r is None or (r.status, error_code(r)) == (400, "IncompleteBody")
    assert stored(origin_s3, bucket, "short") is None

    missing = RawRequest(good.method, good.target,
                         [(n, v) for n, v in good.headers if n != "X-Amz-Decoded-Content-Length"], good.body)
    # Dropping a signed header breaks the signature first; unsigned, it would be 411.
    assert error_code(send_refused(proxy, missing)) in ("SignatureDoesNotMatch", "MissingContentLength")
    assert stored(origin_s3, bucket, "short") is None


@pytest.mark.every_origin
@pytest.mark.parametrize("size", [100, 3 * 64 * 1024])
def test_an_upload_stopped_before_its_final_chunk_is_stored_nowhere(proxy, origin_s3, bucket, size):
    """Found by a red team (2026-12-05): Ceph RGW stores a signed aws-chunked upload as soon as
    its decoded length has arrived, before the final chunk and its signature; the filter held
    back only the body's last byte, the CRLF after the data. The data's last byte now waits
    with it until the final chunk verifies, so a client that stops there (or whose final
    chunk would not verify) leaves nothing stored, with every origin; the whole upload still
    goes through."""
    data = data_of(size)
    good = chunked_put(proxy.authority, f"/{bucket}/stopped", data, SIGNED)
    final = good.body.rindex(b"0;chunk-signature=")
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        sock.sendall(raw_head(good, proxy.authority) + good.body[:final])
        time.sleep(1)
        assert stored(origin_s3, bucket, "stopped") is None
    assert send(proxy.authority, good).status == 200
    assert stored(origin_s3, bucket, "stopped") == data


def resign_body(request: RawRequest, seed: str, data: bytes) -> bytes:
    """A signed-chunk body for `data`, chained from `seed` (the request's signature)."""
    amz_date = request.header("X-Amz-Date")
    chain = Chain(signing_key("client-secret", amz_date[:8], "us-east-1"), amz_date,
                  f"{amz_date[:8]}/us-east-1/s3/aws4_request", seed)
    body = bytearray()
    for i in range(0, len(data), 64 * 1024):
        chunk = data[i:i + 64 * 1024]
        body += f"{len(chunk):x};chunk-signature={chain.chunk(chunk)}\r\n".encode() + chunk + b"\r\n"
    body += f"0;chunk-signature={chain.chunk(b'')}\r\n\r\n".encode()
    return bytes(body)


def test_oversize_chunks_are_refused(make_proxy, origin_s3, bucket):
    envoy = make_proxy(max_chunk_size_bytes=64 * 1024)
    ok = chunked_put(envoy.authority, f"/{bucket}/fits", data_of(200_000), SIGNED, chunk_size=64 * 1024)
    assert send(envoy.authority, ok).status == 200
    big = chunked_put(envoy.authority, f"/{bucket}/big", data_of(200_000), SIGNED, chunk_size=128 * 1024)
    r = send_refused(envoy, big)
    assert r is None or (r.status, error_code(r)) == (400, "InvalidRequest")
    assert stored(origin_s3, bucket, "big") is None
    assert "InvalidRequest: a chunk of 131072 bytes exceeds the 65536-byte limit" in envoy.log_text()


def direct_put(origin, key: str, data: bytes, mode: str) -> RawRequest:
    """A chunked upload straight to the origin (no proxy), signed with the origin's key pair
    and region, as a client of the origin would send it."""
    return chunked_put(origin.authority, key, data, mode, key=origin.access_key, secret=origin.secret_key,
                       region=origin.region)


@pytest.mark.every_origin
def test_the_origin_checks_chunk_signatures_itself(origin, origin_s3, bucket):
    """The sanity check behind these tests: the origin refuses a stream with a bad chunk
    signature, so objects stored through the proxy carried valid origin-chain signatures."""
    data = data_of(100_000)
    good = direct_put(origin, f"/{bucket}/direct", data, SIGNED)
    assert send(origin.authority, good).status == 200
    bad = replace(good, body=flip_hex(good.body, chunk_signature_offsets(good.body)[1]))
    origin_s3.delete_object(Bucket=bucket, Key="direct")
    r = send_refused(origin, bad)
    assert r is None or r.status >= 400
    assert stored(origin_s3, bucket, "direct") is None


@pytest.mark.every_origin
def test_the_origin_takes_a_correct_signed_trailer_directly(origin, origin_s3, bucket, origin_deviation):
    """Without the proxy: what the origin makes of a correct signed-trailer upload. Where this
    fails, the proxied signed-trailer uploads fail for the origin's reason, not the filter's."""
    origin_deviation(SIGNED_TRAILER_DEVIATION)
    data = data_of(100_000)
    r = send(origin.authority, direct_put(origin, f"/{bucket}/direct-trailer", data, SIGNED_TRAILER))
    assert r.status == 200, r.body
    assert stored(origin_s3, bucket, "direct-trailer") == data


def garage_trailer_signature(origin, request: RawRequest, data: bytes) -> str:
    """The trailer signature Garage 2.5.0 computes: algorithm AWS4-HMAC-SHA256-PAYLOAD (not
    -TRAILER), chained from the last chunk that carries data, skipping the final empty chunk
    (whose signature it never checks when a trailer follows)."""
    signatures = re.findall(rb"chunk-signature=([0-9a-f]{64})", request.body)
    seed = request.header("Authorization").rsplit("Signature=", 1)[1]
    previous = signatures[-2].decode() if len(signatures) > 1 else seed
    amz_date = request.header("X-Amz-Date")
    chain = Chain(signing_key(origin.secret_key, amz_date[:8], origin.region), amz_date,
                  f"{amz_date[:8]}/{origin.region}/s3/aws4_request", previous)
    trailer = f"x-amz-checksum-crc32:{crc32_checksum(data)}\n".encode()
    return chain.sign("AWS4-HMAC-SHA256-PAYLOAD", hashlib.sha256(trailer).hexdigest())


@pytest.mark.every_origin
def test_what_garage_takes_for_a_signed_trailer(origin, origin_s3, bucket):
    """The cause of the signed-trailer deviation, shown directly: the same upload with only the
    trailer signature computed Garage's way is stored by Garage and refused by an origin that
    follows S3 (which makes the proxy's correct signature the one Garage refuses)."""
    data = data_of(100_000)
    good = direct_put(origin, f"/{bucket}/garage-way", data, SIGNED_TRAILER)
    ours = good.body.rsplit(b"x-amz-trailer-signature:", 1)[1][:64]
    body = good.body.replace(ours, garage_trailer_signature(origin, good, data).encode())
    r = send_refused(origin, replace(good, body=body))
    # Ceph 16.2 refuses trailers whichever way they are signed.
    if origin.kind == "garage":
        assert r is not None and r.status == 200, r and r.body
        assert stored(origin_s3, bucket, "garage-way") == data
    else:
        assert r is None or r.status >= 400
        assert stored(origin_s3, bucket, "garage-way") is None


def test_rejected_streams_are_counted_and_logged(make_proxy, bucket):
    envoy = make_proxy()
    good = chunked_put(envoy.authority, f"/{bucket}/counted", data_of(70_000), SIGNED)
    bad = replace(good, body=flip_hex(good.body, chunk_signature_offsets(good.body)[1]))
    send_refused(envoy, bad)
    got = envoy.prometheus()
    # Refused on the way, it is a rejection only: a request counts as forwarded once all of it went on.
    assert got['s3_resign_requests_total{kind="chunked_v4"}'] == 0
    assert got['s3_resign_rejections_total{code="SignatureDoesNotMatch"}'] == 1
    assert got["s3_resign_chunks_resigned_total"] == 1
    assert (f"rejected PUT /{bucket}/counted (access key CLIENTKEY): SignatureDoesNotMatch: "
            "the signature of chunk 1 does not match") in envoy.log_text()


def test_chains_are_independent_of_the_harness_signer():
    """The harness's Python chain reproduces the documented chunk signatures."""
    chain = Chain(signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1"),
                  "20130524T000000Z", "20130524/us-east-1/s3/aws4_request",
                  "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
    assert chain.chunk(b"a" * 65536) == "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
    assert chain.chunk(b"a" * 1024) == "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
    assert chain.chunk(b"") == "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"


def boto3_over_https(https_proxy, sent: list, **config):
    """boto3 through the TLS listener; the headers of each PutObject it sends go into `sent`
    (names in lower case)."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3", endpoint_url=https_proxy.endpoint, aws_access_key_id="CLIENTKEY",
        aws_secret_access_key="client-secret", region_name="us-east-1", verify=https_proxy.ca_bundle,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                      **config),
    )

    def record(request, **_):
        sent.append({k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()})

    client.meta.events.register("before-send.s3.PutObject", record)
    return client


@pytest.mark.every_origin
def test_boto3_over_https_sends_unsigned_trailer_chunks(https_proxy, origin_s3, bucket, origin_deviation):
    """boto3's default over HTTPS: STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC checksum
    trailer; the header is re-signed, the body passes, the origin checks the checksum. urllib3
    offers no ALPN: HTTP/1.1 even where the listener offers h2."""
    origin_deviation(UNSIGNED_TRAILER_DEVIATION, raises=ClientError)
    sent = []
    client = boto3_over_https(https_proxy, sent)
    data = data_of(300_000)
    with https_proxy.speaking(https_proxy.protocol_of(speaks_h2=False)):
        client.put_object(Bucket=bucket, Key="via-https", Body=io.BytesIO(data))
    assert sent[0]["x-amz-content-sha256"] == UNSIGNED_TRAILER
    assert sent[0]["x-amz-trailer"].startswith("x-amz-checksum-")
    assert stored(origin_s3, bucket, "via-https") == data
    assert client.get_object(Bucket=bucket, Key="via-https")["Body"].read() == data
    # With a signed Content-MD5 the filter checks the decoded chunks against it as they pass.
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    client.put_object(Bucket=bucket, Key="with-md5", Body=io.BytesIO(data), ContentMD5=md5)
    assert sent[-1]["x-amz-content-sha256"] == UNSIGNED_TRAILER and sent[-1]["content-md5"] == md5
    assert stored(origin_s3, bucket, "with-md5") == data


def test_boto3_over_https_sends_a_sha512_in_its_trailer(https_proxy, origin_s3, bucket):
    """S3's checksums of 2025 in an unsigned trailer (boto3 with `ChecksumAlgorithm`): the
    filter took only the first five there and refused the upload, which s3s-fs stores (a red
    team, 2026-12-05; Garage 2.5 knows none of these and refuses them itself, Ceph 16.2 every
    trailer). boto3 computes a SHA-512 itself; MD5 and the xxHashes: the next test."""
    sent = []
    client = boto3_over_https(https_proxy, sent)
    data = data_of(100_000)
    with https_proxy.speaking(https_proxy.protocol_of(speaks_h2=False)):
        client.put_object(Bucket=bucket, Key="newer", Body=io.BytesIO(data), ChecksumAlgorithm="SHA512")
    assert sent[0]["x-amz-content-sha256"] == UNSIGNED_TRAILER
    assert sent[0]["x-amz-trailer"] == "x-amz-checksum-sha512"
    assert stored(origin_s3, bucket, "newer") == data


@pytest.mark.parametrize("algorithm, digest_bytes", [("md5", 16), ("sha512", 64), ("xxhash64", 8), ("xxhash3", 8),
                                                    ("xxhash128", 16)])
def test_an_unsigned_trailer_may_carry_the_newer_checksums(proxy, origin_s3, bucket, algorithm, digest_bytes):
    """As the JavaScript SDK sends an MD5 (a red team, 2026-12-05): each of S3's newer
    checksums may be announced and carried, once, as the older five may."""
    data = data_of(10_000)
    value = base64.b64encode(hashlib.new(algorithm, data).digest() if algorithm in ("md5", "sha512")
                             else bytes(digest_bytes)).decode()
    request = chunked_put(proxy.authority, f"/{bucket}/{algorithm}", data, UNSIGNED_TRAILER,
                          checksum=(f"x-amz-checksum-{algorithm}", value))
    r = send(proxy.authority, request)
    assert r.status == 200, r.body
    assert stored(origin_s3, bucket, algorithm) == data


@pytest.mark.every_origin
def test_boto3_over_https_computing_checksums_only_when_required_sends_no_trailer(https_proxy, origin_s3, bucket):
    """What README tells users of an origin that refuses trailers (Ceph before 18.2): with
    `request_checksum_calculation="when_required"` boto3 sends the body plain over HTTPS, its
    SHA-256 signed, which every origin takes."""
    sent = []
    client = boto3_over_https(https_proxy, sent, request_checksum_calculation="when_required")
    data = data_of(300_000)
    with https_proxy.speaking(https_proxy.protocol_of(speaks_h2=False)):
        client.put_object(Bucket=bucket, Key="no-trailer", Body=io.BytesIO(data))
    assert sent[0]["x-amz-content-sha256"] == hashlib.sha256(data).hexdigest()
    assert "x-amz-trailer" not in sent[0] and "content-encoding" not in sent[0]
    assert stored(origin_s3, bucket, "no-trailer") == data


@pytest.mark.every_origin
def test_the_unsigned_trailer_reaches_the_origin_intact(proxy, origin_s3, bucket, origin_deviation):
    """With an unsigned trailer the checksum is the body's only protection, and it is the
    origin's to check: the proxy passes it through unchanged (the origin reports the value the
    client computed)."""
    origin_deviation(UNSIGNED_TRAILER_DEVIATION)
    data = data_of(100_000)
    request = chunked_put(proxy.authority, f"/{bucket}/crc", data, UNSIGNED_TRAILER)
    assert send(proxy.authority, request).status == 200
    head = origin_s3.head_object(Bucket=bucket, Key="crc", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == crc32_checksum(data)
    assert stored(origin_s3, bucket, "crc") == data


@pytest.mark.every_origin
def test_the_origin_checks_an_unsigned_trailer(proxy, origin_s3, bucket, origin_deviation):
    """A checksum that does not match the body passes the proxy (it is not signed) and is the
    origin's to refuse, as S3 does: nothing is stored."""
    origin_deviation(UNSIGNED_TRAILER_CHECKSUM)
    data = data_of(100_000)
    request = chunked_put(proxy.authority, f"/{bucket}/bad-crc", data, UNSIGNED_TRAILER)
    body = request.body.replace(crc32_checksum(data).encode(), crc32_checksum(b"other data").encode())
    r = send_refused(proxy, replace(request, body=body))
    assert r is None or r.status == 400, r.body
    assert stored(origin_s3, bucket, "bad-crc") is None


def unsigned_chunks(data: bytes, chunk_size: int) -> bytes:
    """`data` in unsigned aws-chunked framing with its CRC32 trailer."""
    chunks = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)]
    framed = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
    return framed + b"0\r\nx-amz-checksum-crc32:" + crc32_checksum(data).encode() + b"\r\n\r\n"


@pytest.mark.every_origin
def test_unsigned_chunks_carry_the_length_their_signature_declares(proxy, origin_s3, bucket, origin_deviation):
    """Found by a red team (2026-12-04): nothing binds the data of unsigned chunks but its
    length, the signed x-amz-decoded-content-length, and the filter did not compare it. A
    captured upload signed for 27 bytes, replayed with a megabyte of other data and a CRC32 to
    match, was stored by both origins, as was 36 bytes framed to the signed Content-Length.
    More data than declared is refused at the chunk size that says so, less at the end: 400
    IncompleteBody, as for signed chunks, and nothing stored; so is a body that ends before its
    final chunk and trailer (InvalidRequest until a documentation audit, 2026-12-06)."""
    origin_deviation(UNSIGNED_TRAILER_DEVIATION)
    data = data_of(27)
    ended_early = unsigned_chunks(data, 11).partition(b"0\r\nx-amz-checksum")[0]
    for key, body in {"more": unsigned_chunks(data_of(1 << 20), 64 * 1024),
                      "less": unsigned_chunks(data_of(26), 64 * 1024), "ended": ended_early}.items():
        captured = chunked_put(proxy.authority, f"/{bucket}/{key}", data, UNSIGNED_TRAILER, chunk_size=11,
                               sign_content_length=False)
        r = send_refused(proxy, replace(captured, body=body).with_header("Content-Length", str(len(body))))
        assert r is None or (r.status, error_code(r)) == (400, "IncompleteBody"), f"{key}: {r and r.body}"
    # With Content-Length signed: 36 bytes in one chunk take as many bytes as 27 in three.
    signed = chunked_put(proxy.authority, f"/{bucket}/declared", data, UNSIGNED_TRAILER, chunk_size=11)
    body = unsigned_chunks(data_of(36), 36)
    assert len(body) == len(signed.body)
    r = send_refused(proxy, replace(signed, body=body))
    assert r is None or (r.status, error_code(r)) == (400, "IncompleteBody"), r and r.body
    for key in ("more", "less", "ended", "declared"):
        assert stored(origin_s3, bucket, key) is None, key
    # As signed, it is stored.
    assert send(proxy.authority, signed).status == 200
    assert stored(origin_s3, bucket, "declared") == data


@pytest.mark.every_origin
def test_an_unsigned_trailer_carries_only_what_x_amz_trailer_announced(proxy, origin_s3, bucket, origin_deviation):
    """Nothing signs an unsigned trailer's values, and origins read its fields like headers:
    one the signed x-amz-trailer does not announce (an x-amz-acl, an x-minio-* name, a second
    checksum) would be an unsigned header by another road (a red team saw them forwarded,
    2026-12-04). The upload is refused before its last byte goes on, and nothing is stored;
    the same upload with its announced trailer alone is stored."""
    origin_deviation(UNSIGNED_TRAILER_DEVIATION)
    data = data_of(100_000)
    request = chunked_put(proxy.authority, f"/{bucket}/ok", data, UNSIGNED_TRAILER)
    assert send(proxy.authority, request).status == 200
    assert stored(origin_s3, bucket, "ok") == data
    for key, extra in {"acl": b"x-amz-acl:public-read", "minio": b"x-minio-force-delete:true",
                       "type": b"content-type:text/html",
                       "checksum": b"x-amz-checksum-crc32c:AAAAAA=="}.items():
        request = chunked_put(proxy.authority, f"/{bucket}/{key}", data, UNSIGNED_TRAILER,
                              sign_content_length=False)
        body = request.body[:-2] + extra + b"\r\n\r\n"
        r = send_refused(proxy, replace(request, body=body).with_header("Content-Length", str(len(body))))
        assert r is None or (r.status, error_code(r)) == (400, "InvalidRequest"), f"{key}: {r and r.body}"
        assert stored(origin_s3, bucket, key) is None, key
