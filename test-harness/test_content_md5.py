"""Bodies bound by a signed digest the origin might act on before checking it.

SigV2 requests (SigV2 has no payload hash) and SigV4 requests whose payload is unsigned
(`UNSIGNED-PAYLOAD` header-signed, or presigned) that signed `content-md5`: the origin's
re-signed request says `UNSIGNED-PAYLOAD`, so only a check of Content-MD5 binds the body, and
s3s-fs and Garage skip it on several operations. Found by an attack run (2026-12-01): a captured
SigV2 `POST ?delete` replayed with another body deleted other keys. And documents (a POST, a PUT
of a sub-resource) whose SHA-256 is signed: MinIO checks it at the body's end, after its XML
decoder has stopped at the root element's end and the handler has acted (found by a review the
same day). Signed `x-amz-checksum-sha256`/`-sha1` likewise: s3s-fs stores a PutObject before
comparing it, and neither origin compares one on DeleteObjects (a later attack run). The
filter checks the body itself as it streams: object data goes on but for its last byte, a
document not at all, until the digest matches."""

import socket
import time

import base64
import email.utils
import hashlib
import hmac
import os
import zlib
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError

from harness import Envoy, StandIn, stand_in_origin
from harness.chunked import UNSIGNED_TRAILER
from harness.clients import RawRequest, content_md5, presign, send, send_h2, sign_header
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET
from harness.programs import UNSIGNED_TRAILER as UNSIGNED_TRAILER_DEVIATION
from test_faults import parsed, raw_head
from test_rejections import error_code
from test_security import assert_object


def sign_v2(method: str, target: str, headers: dict, body: bytes = b"") -> RawRequest:
    """A SigV2 header-signed request, the string to sign written out as the SDKs do. `target`
    carries only sub-resources in its query (they are all signed)."""
    headers = {**headers, "Date": email.utils.formatdate(usegmt=True)}
    amz = "".join(f"{n.lower()}:{v}\n" for n, v in sorted(headers.items()) if n.lower().startswith("x-amz-"))
    string_to_sign = (f"{method}\n{headers.get('Content-MD5', '')}\n{headers.get('Content-Type', '')}\n"
                      f"{headers['Date']}\n{amz}{target}")
    mac = hmac.new(CLIENT_SECRET.encode(), string_to_sign.encode(), hashlib.sha1).digest()
    headers["Authorization"] = f"AWS {CLIENT_KEY}:{base64.b64encode(mac).decode()}"
    return RawRequest(method, target, list(headers.items()), body)


def delete_objects(bucket: str, *keys: str) -> bytes:
    objects = "".join(f"<Object><Key>{k}</Key></Object>" for k in keys)
    return f'<?xml version="1.0" encoding="UTF-8"?><Delete>{objects}</Delete>'.encode()


def refused_bad_digest(proxy, request: RawRequest):
    r = send(proxy.authority, request)
    assert (r.status, error_code(r)) == (400, "BadDigest"), r.body
    assert b"The Content-MD5 you specified did not match what we received." in r.body
    return r


def bad_digests(proxy) -> int:
    """BadDigest answers of the filter itself (the origin's own are not counted)."""
    for line in proxy.admin_get("/stats/prometheus").decode().splitlines():
        if line.startswith('s3_resign_rejections_total{code="BadDigest"}'):
            return int(line.rsplit(" ", 1)[1])
    return 0


@pytest.mark.every_origin
def test_a_sigv2_delete_objects_replayed_with_another_body_is_refused(origin, make_proxy, origin_s3, bucket):
    """The attack: a captured SigV2 DeleteObjects (Content-MD5 signed) sent again within the
    clock skew with another list of keys. Garage takes only SigV4, so the origin gets SigV4
    (`UNSIGNED-PAYLOAD`, Content-MD5 signed), as in the attack run."""
    proxy = make_proxy(origin_signature_version="v4")
    for key in ("a.txt", "b.txt"):
        origin_s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    body = delete_objects(bucket, "a.txt")
    headers = {"Content-MD5": content_md5(body), "Content-Type": "application/xml"}
    captured = sign_v2("POST", f"/{bucket}?delete", headers, body)
    before = bad_digests(proxy)
    for other in (delete_objects(bucket, "b.txt"), delete_objects(bucket, "b.txt", "a.txt"), body + b" "):
        refused_bad_digest(proxy, RawRequest("POST", captured.target, captured.headers, other))
        assert_object(origin_s3, bucket, "b.txt", b"b.txt")
        assert_object(origin_s3, bucket, "a.txt", b"a.txt")
    assert bad_digests(proxy) == before + 3
    # The request as signed still works, and deletes only what it named.
    r = send(proxy.authority, captured)
    assert r.status == 200 and b"<Deleted>" in r.body and b"b.txt" not in r.body, r.body
    assert_object(origin_s3, bucket, "a.txt", None)
    assert_object(origin_s3, bucket, "b.txt", b"b.txt")


def test_sigv2_as_sigv2_at_the_origin_is_checked_too(proxy, origin_s3, bucket):
    """`origin_signature_version: same` (the default): the origin gets SigV2, still without a
    payload hash."""
    origin_s3.put_object(Bucket=bucket, Key="keep.txt", Body=b"keep")
    origin_s3.put_object(Bucket=bucket, Key="gone.txt", Body=b"gone")
    body = delete_objects(bucket, "gone.txt")
    headers = {"Content-MD5": content_md5(body), "Content-Type": "application/xml"}
    captured = sign_v2("POST", f"/{bucket}?delete", headers, body)
    refused_bad_digest(proxy, RawRequest("POST", captured.target, captured.headers, delete_objects(bucket, "keep.txt")))
    assert_object(origin_s3, bucket, "keep.txt", b"keep")
    r = send(proxy.authority, captured)
    assert r.status == 200, r.body
    assert_object(origin_s3, bucket, "gone.txt", None)
    assert_object(origin_s3, bucket, "keep.txt", b"keep")
    # A signed Content-MD5 that is no MD5 at all.
    for bad in ("abc", hashlib.md5(body).hexdigest()):
        bad_request = sign_v2("POST", f"/{bucket}?delete", {**headers, "Content-MD5": bad}, body)
        r = send(proxy.authority, bad_request)
        assert (r.status, error_code(r)) == (400, "InvalidDigest"), r.body


@pytest.mark.every_origin
def test_a_presigned_put_bound_to_its_content_md5_uploads_only_that_file(proxy, origin_s3, bucket):
    """"This URL may upload only this file": a SigV4 presigned PUT with Content-MD5 signed."""
    body = b"the file the URL was made for\n" * 100
    url = presign(proxy.authority, "PUT", f"/{bucket}/only-this.bin", {"Content-MD5": content_md5(body)})
    before = bad_digests(proxy)
    for other in (b"another file", body[:-1] + b"X", body + b"more"):
        refused_bad_digest(proxy, RawRequest("PUT", url.target, url.headers, other))
        assert_object(origin_s3, bucket, "only-this.bin", None)
    assert bad_digests(proxy) == before + 3
    r = send(proxy.authority, RawRequest("PUT", url.target, url.headers, body))
    assert r.status == 200, r.body
    assert_object(origin_s3, bucket, "only-this.bin", body)
    # The cache serves the repeat: checked all the same.
    refused_bad_digest(proxy, RawRequest("PUT", url.target, url.headers, b"a third try"))
    assert_object(origin_s3, bucket, "only-this.bin", body)


def checksum(algorithm: str, body: bytes) -> str:
    return base64.b64encode(hashlib.new(algorithm, body).digest()).decode()


def refused_checksum(proxy, request: RawRequest, algorithm: str):
    r = send(proxy.authority, request)
    assert (r.status, error_code(r)) == (400, "BadDigest"), r.body
    assert f"The {algorithm.upper()} you specified did not match the calculated checksum.".encode() in r.body
    return r


@pytest.mark.every_origin
@pytest.mark.parametrize("algorithm", ["sha256", "sha1", "sha512", "md5"])
def test_a_captured_delete_objects_bound_by_its_checksum_cannot_carry_other_keys(proxy, origin_s3, bucket, algorithm):
    """Found by an attack run (2026-12-01): with `UNSIGNED-PAYLOAD` (as SDKs sign over HTTPS)
    and a signed `x-amz-checksum-*`, neither s3s-fs nor Garage compared the checksum of a
    DeleteObjects: the replay deleted the victim. S3's SHA-512 and MD5 checksums (2025) were
    not known to the filter, and a lone one was refused as no digest at all (a red team,
    2026-12-05)."""
    for key in ("tmp-1", "victim"):
        origin_s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    body = delete_objects(bucket, "tmp-1")
    headers = {f"x-amz-checksum-{algorithm}": checksum(algorithm, body), "Content-Type": "application/xml"}
    captured = sign_header(proxy.authority, "POST", f"/{bucket}?delete", headers, body, payload_hash="UNSIGNED-PAYLOAD")
    unsized = [(n, v) for n, v in captured.headers if n.lower() != "content-length"]
    for other in (delete_objects(bucket, "victim"), body + b" "):
        refused_checksum(proxy, RawRequest("POST", captured.target, unsized, other), algorithm)
        assert_object(origin_s3, bucket, "victim", b"victim")
        assert_object(origin_s3, bucket, "tmp-1", b"tmp-1")
    r = send(proxy.authority, captured)
    assert r.status == 200 and b"<Deleted>" in r.body, r.body
    assert_object(origin_s3, bucket, "tmp-1", None)
    assert_object(origin_s3, bucket, "victim", b"victim")


@pytest.mark.every_origin
@pytest.mark.parametrize("algorithm", ["sha256", "sha512", "md5"])
def test_a_presigned_put_bound_to_its_checksum_uploads_only_that_file(proxy, origin_s3, bucket, algorithm):
    """AWS's recipe for a presigned URL that uploads one file only: boto3's
    `generate_presigned_url('put_object', Params={..., 'ChecksumSHA256': ...})` signs
    `x-amz-checksum-sha256`. s3s-fs renamed another body into place before it compared the
    checksum (an attack run, 2026-12-01). The checksum may also be hoisted into the query (the
    JavaScript SDK puts it there). S3's SHA-512 and MD5 checksums (2025) bound nothing: no
    origin here compares them, and a red team stored other files under both (2026-12-05)."""
    body = b"the approved file\n" * 100
    name = f"x-amz-checksum-{algorithm}"
    origin_s3.put_object(Bucket=bucket, Key="slot", Body=b"original")
    signed_header = presign(proxy.authority, "PUT", f"/{bucket}/slot", {name: checksum(algorithm, body)})
    hoisted = presign(proxy.authority, "PUT", f"/{bucket}/slot?{name}={quote(checksum(algorithm, body), safe='')}")
    for url in (signed_header, hoisted):
        for other in (b"<script>attacker</script>", body[:-1] + b"X"):
            refused_checksum(proxy, RawRequest("PUT", url.target, url.headers, other), algorithm)
            assert_object(origin_s3, bucket, "slot", b"original")
    r = send(proxy.authority, RawRequest("PUT", signed_header.target, signed_header.headers, body))
    assert r.status == 200, r.body
    assert_object(origin_s3, bucket, "slot", body)
    # A signed checksum of another algorithm's length is refused as S3 refuses it.
    bad = presign(proxy.authority, "PUT", f"/{bucket}/slot", {name: checksum("sha1", body)})
    r = send(proxy.authority, RawRequest("PUT", bad.target, bad.headers, body))
    assert (r.status, error_code(r)) == (400, "InvalidRequest"), r.body


def test_an_upload_part_bound_by_its_checksum_takes_only_that_part(proxy, origin_s3, bucket):
    """s3s-fs never compared a part's checksum: the completed object held the attacker's bytes."""
    upload = origin_s3.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="SHA256")["UploadId"]
    part = b"G" * 1000
    url = presign(proxy.authority, "PUT", f"/{bucket}/mp?partNumber=1&uploadId={upload}",
                  {"x-amz-checksum-sha256": checksum("sha256", part)})
    refused_checksum(proxy, RawRequest("PUT", url.target, url.headers, b"E" * 1000), "sha256")
    r = send(proxy.authority, RawRequest("PUT", url.target, url.headers, part))
    assert r.status == 200, r.body
    origin_s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload)


def test_document_heads_alone_hold_no_memory(proxy, origin_s3, bucket):
    """Found by an attack run (2026-12-01): each head of a replayed DeleteObjects announcing
    4 MB reserved 64 KiB before any body arrived; 1,030 idle connections (425 KB sent) held the
    whole budget and signed uploads got 503. A head now holds nothing; the bytes that arrive do."""
    body = delete_objects(bucket, "k")
    captured = sign_header(proxy.authority, "POST", f"/{bucket}?delete",
                           {"Content-MD5": content_md5(body), "Content-Type": "application/xml"}, body,
                           payload_hash="UNSIGNED-PAYLOAD")
    lines = [f"POST {captured.target} HTTP/1.1", f"Host: {proxy.authority}", "Content-Length: 4000000"]
    lines += [f"{n}: {v}" for n, v in captured.headers if n.lower() != "content-length"]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    held = "wasmcustom.s3_resign_chunk_memory_held_bytes"
    idle = []
    try:
        for _ in range(20):
            conn = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
            conn.sendall(head)
            idle.append(conn)
        deadline = time.monotonic() + 10
        while proxy.counter("http.s3_public.downstream_rq_active") < 20:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert proxy.counter(held) == 0
        idle[0].sendall(body[:10])
        deadline = time.monotonic() + 10
        while proxy.counter(held) == 0:
            assert time.monotonic() < deadline, "the bytes that arrived are not held"
            time.sleep(0.05)
        assert proxy.counter(held) < 1024
    finally:
        for conn in idle:
            conn.close()


@pytest.mark.every_origin
def test_a_complete_multipart_upload_with_the_object_checksum_goes_on(proxy, origin_s3, bucket):
    """On CompleteMultipartUpload `x-amz-checksum-*` is the whole object's, not the XML body's:
    left to the origin, which checks it against the parts (a review found valid completions
    refused, 2026-12-01)."""
    upload = origin_s3.create_multipart_upload(Bucket=bucket, Key="mp", ChecksumAlgorithm="SHA256")["UploadId"]
    part = b"P" * 1000
    digest = hashlib.sha256(part).digest()
    etag = origin_s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=part,
                                 ChecksumSHA256=base64.b64encode(digest).decode())["ETag"]
    body = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag>"
            f"<ChecksumSHA256>{base64.b64encode(digest).decode()}</ChecksumSHA256></Part>"
            f"</CompleteMultipartUpload>").encode()
    headers = {"x-amz-checksum-sha256": base64.b64encode(hashlib.sha256(digest).digest()).decode(),
               "Content-Type": "application/xml"}
    signed = sign_header(proxy.authority, "POST", f"/{bucket}/mp?uploadId={upload}", headers, body,
                         payload_hash="UNSIGNED-PAYLOAD")
    r = send(proxy.authority, signed)
    assert r.status == 200 and b"CompleteMultipartUploadResult" in r.body, r.body
    assert_object(origin_s3, bucket, "mp", part)


def unsigned_chunks(data: bytes, trailer: str) -> bytes:
    """`data` in one unsigned aws-chunked chunk, then the final chunk and a CRC32 trailer."""
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    return f"{len(data):x}\r\n".encode() + data + f"\r\n0\r\n{trailer}:{crc}\r\n\r\n".encode()


@pytest.mark.every_origin
@pytest.mark.parametrize("digest", ["content-md5", "x-amz-checksum-sha256"])
def test_an_unsigned_chunked_upload_is_bound_by_its_signed_digest(proxy, origin, origin_s3, bucket, digest,
                                                                  origin_deviation):
    """Found by a review (2026-12-01): what the AWS SDKs send over HTTPS, unsigned chunks with
    an unsigned CRC trailer (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`), was left to the origin even
    with a signed Content-MD5 or checksum; a replay with other chunks and a matching CRC was
    stored by s3s-fs (which then answered BadDigest) and by Garage (which compared the CRC).
    The filter checks the decoded data against the signed digest."""
    origin_deviation(UNSIGNED_TRAILER_DEVIATION)
    origin_s3.put_object(Bucket=bucket, Key="slot", Body=b"original")
    data, other = b"approved-file-contents", b"ATTACKER-file-contents"
    algorithm = "md5" if digest == "content-md5" else "sha256"
    body = unsigned_chunks(data, "x-amz-checksum-crc32")
    headers = {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(len(data)),
               "Content-Length": str(len(body)), "X-Amz-Trailer": "x-amz-checksum-crc32",
               digest: base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}
    captured = sign_header(proxy.authority, "PUT", f"/{bucket}/slot", headers, b"", payload_hash=UNSIGNED_TRAILER)
    # Another body; the right one spoilt at its end; the right one with a nine-digit size,
    # which s3s reads as its first eight (a later review: s3s-fs stored another body).
    nine_digits = b"0" + f"{len(data):08x}".encode() + body[body.index(b"\r\n"):]
    # (The spoilt end leaves a trailer line open when the body ends: IncompleteBody.)
    for replayed in (unsigned_chunks(other, "x-amz-checksum-crc32"), body[:-1] + b"X", nine_digits):
        r = send(proxy.authority, RawRequest("PUT", captured.target, captured.headers, replayed))
        assert r.status == 400 and error_code(r) in ("BadDigest", "InvalidRequest", "IncompleteBody"), r.body
        assert_object(origin_s3, bucket, "slot", b"original")
    r = send(proxy.authority, RawRequest("PUT", captured.target, captured.headers, body))
    assert r.status == 200, r.body
    assert_object(origin_s3, bucket, "slot", data)


@pytest.mark.every_origin
def test_an_unsigned_chunked_replay_is_refused_once_its_data_is_in(proxy, origin_s3, bucket):
    """Noticed by a red team (2026-12-05): the filter compared the signed digest of an
    unsigned-chunk body at its end, holding back only its last byte, the trailer's. An origin
    that stores an upload once it has the data `x-amz-decoded-content-length` declares, before
    the final chunk and trailer (Ceph does so with signed chunks), would have stored a replay's
    other data first. The digest is compared once the data is all in, before the piece that
    completes it goes on: a replay whose sender stops after its data is refused then, and the
    origin never has all of it."""
    origin_s3.put_object(Bucket=bucket, Key="slot", Body=b"original")
    data, other = b"approved-file-contents", b"ATTACKER-file-contents"
    body = unsigned_chunks(data, "x-amz-checksum-crc32")
    headers = {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(len(data)),
               "Content-Length": str(len(body)), "X-Amz-Trailer": "x-amz-checksum-crc32",
               "Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode()}
    captured = sign_header(proxy.authority, "PUT", f"/{bucket}/slot", headers, b"", payload_hash=UNSIGNED_TRAILER)
    replayed = RawRequest("PUT", captured.target, captured.headers, unsigned_chunks(other, "x-amz-checksum-crc32"))
    data_end = replayed.body.index(b"\r\n0\r\n") + 2
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        sock.sendall(raw_head(replayed, proxy.authority) + replayed.body[:data_end])
        answer = b""
        while b"</Error>" not in answer and (more := sock.recv(65536)):
            answer += more
        r = parsed(answer)
        assert (r.status, error_code(r)) == (400, "BadDigest"), answer
    assert_object(origin_s3, bucket, "slot", b"original")


@pytest.mark.every_origin
def test_the_completion_exemption_binds_every_other_post(proxy, origin_s3, bucket):
    """The checksum of an object's `POST ?uploadId` is the whole object's and left to the
    origin; a bucket's `?delete&uploadId=…` is DeleteObjects at both origins (a review): its
    signed checksum binds its body, and a replay with another key list deletes nothing."""
    for key in ("tmp-1", "victim"):
        origin_s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    body = delete_objects(bucket, "tmp-1")
    headers = {"x-amz-checksum-sha256": checksum("sha256", body), "Content-Type": "application/xml"}
    captured = sign_header(proxy.authority, "POST", f"/{bucket}?delete&uploadId=x", headers, body,
                           payload_hash="UNSIGNED-PAYLOAD")
    unsized = [(n, v) for n, v in captured.headers if n.lower() != "content-length"]
    refused_checksum(proxy, RawRequest("POST", captured.target, unsized, delete_objects(bucket, "victim")), "sha256")
    assert_object(origin_s3, bucket, "victim", b"victim")


LIFECYCLE_EXPIRING_ALL = (b'<LifecycleConfiguration><Rule><ID>all</ID><Filter><Prefix></Prefix></Filter>'
                          b'<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>'
                          b'</LifecycleConfiguration>')


@pytest.mark.every_origin
def test_a_document_s3_requires_a_digest_on_is_refused_without_one(proxy, origin_s3, bucket):
    """Found by an attack run (2026-12-02): S3 refuses DeleteObjects, lifecycle rules and the
    other documents it requires a digest on without a Content-MD5 or a checksum, and compares
    the one they carry; Garage and s3s-fs do neither, and acted on any body (the replay of a
    captured `UNSIGNED-PAYLOAD` DeleteObjects deleted another key; a lifecycle rule came to
    expire the whole bucket). A review of the first fix replayed it with a `Content-MD5` of
    anything. The filter refuses one with no digest, as S3 does, and compares a Content-MD5,
    signed or not."""
    origin_s3.put_object(Bucket=bucket, Key="victim", Body=b"victim")
    captured = sign_header(proxy.authority, "POST", f"/{bucket}?delete", {"Content-Type": "application/xml"},
                           delete_objects(bucket, "nothing"), payload_hash="UNSIGNED-PAYLOAD")
    unsized = [(n, v) for n, v in captured.headers if n.lower() != "content-length"]
    other = delete_objects(bucket, "victim")
    for request in (captured, RawRequest("POST", captured.target, unsized, other)):
        r = send(proxy.authority, request)
        assert (r.status, error_code(r)) == (400, "InvalidRequest"), r.body
        assert b"Missing required header for this request: Content-MD5" in r.body
        assert_object(origin_s3, bucket, "victim", b"victim")
    # An unsigned Content-MD5 added to the replay is compared: one of anything, or of another
    # body, is refused (as S3 refuses it).
    for md5, code in (("garbage", "InvalidDigest"), (content_md5(b"other"), "BadDigest")):
        r = send(proxy.authority, RawRequest("POST", captured.target, unsized + [("Content-MD5", md5)], other))
        assert (r.status, error_code(r)) == (400, code), r.body
        assert_object(origin_s3, bucket, "victim", b"victim")
    # A presigned URL for a lifecycle rule, with the body the attack run sent.
    url = presign(proxy.authority, "PUT", f"/{bucket}?lifecycle")
    r = send(proxy.authority, RawRequest("PUT", url.target, url.headers, LIFECYCLE_EXPIRING_ALL))
    assert (r.status, error_code(r)) == (400, "InvalidRequest"), r.body
    with pytest.raises(ClientError):
        origin_s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    # With the Content-MD5 of its body it goes on, signed or not, as at S3.
    body = delete_objects(bucket, "victim")
    r = send(proxy.authority, RawRequest("POST", captured.target, unsized + [("Content-MD5", content_md5(body))], body))
    assert r.status == 200 and b"<Deleted>" in r.body, r.body
    assert_object(origin_s3, bucket, "victim", None)


def operations_requiring_a_digest() -> list[tuple[str, str, str]]:
    """(operation, method, request URI) of every operation botocore's S3 model marks
    `requestChecksumRequired`: those every SDK sends a digest with."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("s3")
    found = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        if operation.http_checksum.get("requestChecksumRequired") or operation.http_checksum_required:
            found.append((name, operation.http["method"], operation.http["requestUri"]))
    return found


def test_every_document_the_model_requires_a_digest_on_is_refused_without_one(make_proxy, bucket):
    """A red team (2026-12-05) replayed captured `UNSIGNED-PAYLOAD` requests for a bucket
    policy, ACLs, versioning, a website and the public access block with bodies of its own:
    Ceph and Garage carried them out (anyone could then read and write), the filter's list of
    documents that need a digest holding only eight of S3's. The list is checked here against
    botocore's model, so that an operation S3 adds is noticed when botocore is updated. As for
    an origin that serves them all (AWS S3): the operations the origins here lack are answered
    501 before (`test_an_operation_the_origin_lacks_is_answered_before_it`)."""
    proxy = make_proxy(unsupported_operations=[])
    operations = operations_requiring_a_digest()
    assert len(operations) >= 26, operations
    before = proxy.origin_requests()
    for name, method, uri in operations:
        path, _, query = uri.replace("{Bucket}", bucket).replace("{Key+}", "k").partition("?")
        request = sign_header(proxy.authority, method, f"{path}?{query}", {"Content-Type": "application/xml"},
                              b"<Anything/>", payload_hash="UNSIGNED-PAYLOAD")
        r = send(proxy.authority, request)
        assert (r.status, error_code(r)) == (400, "InvalidRequest"), (name, r.body)
        assert b"Missing required header for this request: Content-MD5" in r.body, name
    assert proxy.origin_requests() == before


def test_an_empty_canned_acl_replayed_with_a_document_is_refused(proxy, bucket):
    """The one new way such a request passes without a digest, an empty body (a canned ACL by
    its `x-amz-acl` header alone), tried as an attacker would: the captured request goes on
    as sent, and replayed with an ACL document in its body, its payload hash unsigned, it is
    refused before the origin (a header-signed request and a presigned URL alike)."""
    grant_all = (b'<AccessControlPolicy><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/'
                 b'XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>'
                 b'</Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>')
    captured = sign_header(proxy.authority, "PUT", f"/{bucket}?acl", {"x-amz-acl": "private"}, b"",
                           payload_hash="UNSIGNED-PAYLOAD")
    url = presign(proxy.authority, "PUT", f"/{bucket}?acl", {"x-amz-acl": "private"})
    for request in (captured, RawRequest("PUT", url.target, url.headers, b"")):
        before = proxy.origin_requests()
        send(proxy.authority, request)
        assert proxy.origin_requests() == before + 1, request.target
        unsized = [(n, v) for n, v in request.headers if n.lower() != "content-length"]
        r = send(proxy.authority, RawRequest("PUT", request.target, unsized, grant_all))
        assert (r.status, error_code(r)) == (400, "InvalidRequest"), r.body
        assert proxy.origin_requests() == before + 1, request.target


def test_a_header_signed_unsigned_payload_is_bound_by_its_content_md5(proxy, origin_s3, bucket):
    body = b"x" * 1000
    signed = sign_header(proxy.authority, "PUT", f"/{bucket}/unsigned-payload.bin",
                         {"Content-MD5": content_md5(body)}, body, payload_hash="UNSIGNED-PAYLOAD")
    refused_bad_digest(proxy, RawRequest("PUT", signed.target, signed.headers, b"y" * 1000))
    assert_object(origin_s3, bucket, "unsigned-payload.bin", None)
    assert send(proxy.authority, signed).status == 200
    assert_object(origin_s3, bucket, "unsigned-payload.bin", body)


@pytest.mark.every_origin
def test_large_bodies_stream_through_the_check_intact(origin, make_proxy, origin_s3, bucket):
    """Several MiB, in many pieces: the right one arrives whole, one wrong in its last byte is
    refused (the origin never had that byte) and nothing is stored."""
    proxy = make_proxy(origin_signature_version="v4")
    body = os.urandom(6 * 1024 * 1024 + 7)
    headers = {"Content-MD5": content_md5(body), "Content-Type": "application/octet-stream"}
    target = f"/{bucket}/large.bin"
    refused_bad_digest(proxy, sign_v2("PUT", target, headers, body[:-1] + bytes([body[-1] ^ 1])))
    assert_object(origin_s3, bucket, "large.bin", None)
    r = send(proxy.authority, sign_v2("PUT", target, headers, body))
    assert r.status == 200, r.body
    assert origin_s3.get_object(Bucket=bucket, Key="large.bin")["Body"].read() == body
    signed = sign_header(proxy.authority, "PUT", f"/{bucket}/large-v4.bin", {"Content-MD5": content_md5(body)},
                         body, payload_hash="UNSIGNED-PAYLOAD")
    assert send(proxy.authority, signed).status == 200
    assert origin_s3.get_object(Bucket=bucket, Key="large-v4.bin")["Body"].read() == body


def test_an_empty_body_is_checked_at_the_head(proxy, origin_s3, bucket):
    empty = {"Content-MD5": content_md5(b"")}
    assert send(proxy.authority, sign_v2("PUT", f"/{bucket}/empty.txt", empty)).status == 200
    assert_object(origin_s3, bucket, "empty.txt", b"")
    wrong = {"Content-MD5": content_md5(b"something")}
    r = send(proxy.authority, sign_v2("PUT", f"/{bucket}/not-empty.txt", wrong))
    assert (r.status, error_code(r)) == (400, "BadDigest"), r.body
    assert_object(origin_s3, bucket, "not-empty.txt", None)


class _PutRecorder(StandIn):
    """An origin that stores a PUT's body as it comes, comparing no digest (as SeaweedFS does
    not): what the filter forwards whole is what it keeps."""

    protocol_version = "HTTP/1.1"
    stored: list = []

    def do_PUT(self):
        length = int(self.headers.get("content-length") or 0)
        self.stored.append((self.path.split("?")[0], self.rfile.read(length)))
        self.answer()


def test_an_http2_head_announcing_no_body_is_checked_at_the_head():
    """Found by an attack run (2026-12-04): over HTTP/2 a head with `content-length: 0` that
    does not end its stream reaches the (HTTP/1) origin as a whole request with an empty body.
    A signed PUT of another body was stored empty by an origin that trusts the filter to
    compare digests (s3s-fs and Garage compare these two themselves): no byte came for the
    filter to hold. Such a head is judged as one that ends the stream."""
    body = b"the signed content of the object"
    md5 = {"Content-MD5": content_md5(body)}
    _PutRecorder.stored = []
    with stand_in_origin(_PutRecorder) as config, Envoy(config) as envoy:
        header_signed = sign_header(envoy.authority, "PUT", "/bucket/sha256.txt", {}, body)
        presigned = presign(envoy.authority, "PUT", "/bucket/md5.txt", md5)
        for request in (header_signed, presigned):
            headers = [(n.lower().encode(), v.encode()) for n, v in request.headers
                       if n.lower() not in ("host", "content-length")] + [(b"content-length", b"0")]
            r = send_h2(envoy.authority, "PUT", request.target.encode(), envoy.port, headers, end_stream=False)
            assert r.status == 400 and error_code(r) in ("BadDigest", "XAmzContentSHA256Mismatch"), r.body
            # As signed, over HTTP/2 as well, it is stored.
            headers = [(n.lower().encode(), v.encode()) for n, v in request.headers
                       if n.lower() not in ("host", "content-length")] + [(b"content-length", b"%d" % len(body))]
            assert send_h2(envoy.authority, "PUT", request.target.encode(), envoy.port, headers, body).status == 200
    assert _PutRecorder.stored == [("/bucket/sha256.txt", body), ("/bucket/md5.txt", body)]


def test_boto3_sigv2_delete_objects_still_works(proxy, origin_s3, bucket):
    from harness.clients import s3_client
    v2 = s3_client(proxy.endpoint, signature_version="s3")
    for key in ("d1", "d2", "d3"):
        origin_s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    v2.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "d1"}, {"Key": "d2"}]})
    assert_object(origin_s3, bucket, "d3", b"x")
    with pytest.raises(ClientError):
        origin_s3.head_object(Bucket=bucket, Key="d1")


class _StreamingXmlOrigin(StandIn):
    """An origin that acts on a document as soon as its root element ends, as MinIO's XML
    decoder lets DeleteObjects do, before the body's end and any check there."""

    protocol_version = "HTTP/1.1"
    received: list = []
    acted: list = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = b""
        try:
            while len(body) < length:
                piece = self.rfile.read1(length - len(body))
                if not piece:
                    break
                body += piece
                self.received.append(piece)
                if b"</Delete>" in body and not self.acted:
                    self.acted.append(body)
        except ConnectionError:
            return
        if len(body) == length:
            self.answer()

    do_PUT = do_POST


@pytest.mark.parametrize("payload", ["sha256", "content-md5"])
def test_a_document_is_held_whole_until_its_digest_matches(payload):
    """A captured DeleteObjects replayed with another document, padded after its end and sent
    but for its last byte: an origin that acts at the root's end acts on nothing, since nothing
    of a document goes on before its digest matches."""
    _StreamingXmlOrigin.received, _StreamingXmlOrigin.acted = [], []
    with stand_in_origin(_StreamingXmlOrigin) as config:
        with Envoy(config) as envoy:
            signed_body = delete_objects("b", "tmp.txt")
            headers = {"Content-MD5": content_md5(signed_body)}
            if payload == "sha256":
                captured = sign_header(envoy.authority, "POST", "/b?delete", headers, signed_body)
                code = "XAmzContentSHA256Mismatch"
            else:
                captured = sign_header(envoy.authority, "POST", "/b?delete", headers, signed_body,
                                       payload_hash="UNSIGNED-PAYLOAD")
                code = "BadDigest"
            forged = delete_objects("b", "precious.txt") + b"  "
            head = f"POST {captured.target} HTTP/1.1\r\nHost: {envoy.authority}\r\n"
            head += "".join(f"{n}: {v}\r\n" for n, v in captured.headers if n.lower() != "content-length")
            head += f"Content-Length: {len(forged)}\r\n\r\n"
            with socket.create_connection(("127.0.0.1", envoy.port), timeout=10) as s:
                s.sendall(head.encode() + forged[:-1])
                time.sleep(1)
                assert _StreamingXmlOrigin.acted == [], "the origin had the document before its digest matched"
                assert b"".join(_StreamingXmlOrigin.received) == b""
                s.sendall(forged[-1:])
                answer = s.recv(65536)
            assert answer.startswith(b"HTTP/1.1 400") and f"<Code>{code}</Code>".encode() in answer, answer
            assert _StreamingXmlOrigin.acted == []
            # The request as signed goes on whole.
            assert send(envoy.authority, captured).status == 200
            assert _StreamingXmlOrigin.acted == [signed_body]


@pytest.mark.every_origin
def test_object_data_is_bound_by_its_signed_sha256_here_too(proxy, origin_s3, bucket):
    """SeaweedFS stores a header-signed PUT without checking its signed SHA-256 (a second
    review, 2026-12-01): the filter checks it as the body streams, its last byte held."""
    captured = sign_header(proxy.authority, "PUT", f"/{bucket}/signed.txt", {}, b"hello")
    replayed = RawRequest("PUT", captured.target, captured.headers, b"jello")
    r = send(proxy.authority, replayed)
    assert (r.status, error_code(r)) == (400, "XAmzContentSHA256Mismatch"), r.body
    assert_object(origin_s3, bucket, "signed.txt", None)
    assert send(proxy.authority, captured).status == 200
    assert_object(origin_s3, bucket, "signed.txt", b"hello")
