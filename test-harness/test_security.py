"""Attacks through the shipped configuration against the signature-checking origin, each as
an attacker holding one valid signed request would try it: change one unsigned thing and see
whether the origin does something the signer did not ask for. It must not."""

import re
import select
import socket
import threading
import time

import pytest
import requests
from botocore.exceptions import ClientError

from harness.chunked import SIGNED, chunked_put
from harness import Envoy, StandIn, filter_config_json, render, stand_in_origin
from harness.envoy_config import wasm_filter
from harness.paths import probe_wasm
from harness.clients import RawRequest, presign, s3_client, send, send_h2, sign_header
from test_rejections import assert_refused, error_code

# Header families that change what S3 does with a request, one value each.
UNSIGNED_AMZ = {
    "x-amz-copy-source": "{bucket}/secret.txt",
    "x-amz-meta-owner": "mallory",
    "x-amz-acl": "public-read",
    "x-amz-grant-read": "uri=http://acs.amazonaws.com/groups/global/AllUsers",
    "x-amz-tagging": "stolen=yes",
    "x-amz-website-redirect-location": "https://evil.example/",
    "x-amz-server-side-encryption": "AES256",
    "x-amz-storage-class": "GLACIER",
    "x-amz-metadata-directive": "REPLACE",
    "x-amz-object-lock-mode": "GOVERNANCE",
    "x-amz-bypass-governance-retention": "true",
    "x-amz-security-token": "a-session-token",
}


@pytest.fixture
def secret(origin_s3, bucket):
    origin_s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"the secret")
    return b"the secret"


def headers_not_signed(response) -> str:
    match = re.search(rb"<HeadersNotSigned>([^<]*)</HeadersNotSigned>", response.body)
    return match.group(1).decode() if match else ""


def assert_object(origin_s3, bucket, key, body):
    """What the origin holds at `key`: `body`, or nothing at all when `body` is None."""
    if body is None:
        with pytest.raises(ClientError):
            origin_s3.head_object(Bucket=bucket, Key=key)
    else:
        assert origin_s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body


def test_presigned_put_cannot_become_a_copy(proxy, origin_s3, bucket, secret):
    url = presign(proxy.authority, "PUT", f"/{bucket}/upload-slot.txt")
    attack = RawRequest("PUT", url.target, [("x-amz-copy-source", f"{bucket}/secret.txt")], b"")
    r = assert_refused(proxy, origin_s3, bucket, attack, 403, "AccessDenied")
    assert headers_not_signed(r) == "x-amz-copy-source"
    assert_object(origin_s3, bucket, "upload-slot.txt", None)
    # The URL itself still works, for what it was made for.
    assert send(proxy.authority, RawRequest("PUT", url.target, body=b"mine")).status == 200
    assert_object(origin_s3, bucket, "upload-slot.txt", b"mine")


@pytest.mark.parametrize("header", UNSIGNED_AMZ)
@pytest.mark.parametrize("auth", ["presigned", "header"])
def test_unsigned_amz_headers_are_refused(proxy, origin_s3, bucket, secret, header, auth):
    key = f"slot-{auth}-{header}"
    value = UNSIGNED_AMZ[header].format(bucket=bucket)
    if auth == "presigned":
        signed = presign(proxy.authority, "PUT", f"/{bucket}/{key}")
        signed = RawRequest("PUT", signed.target, signed.headers, b"x")
    else:
        signed = sign_header(proxy.authority, "PUT", f"/{bucket}/{key}", {}, b"x")
    r = assert_refused(proxy, origin_s3, bucket, signed.with_header(header, value), 403, "AccessDenied")
    assert headers_not_signed(r) == header
    assert b"There were headers present in the request which were not signed" in r.body


def test_signed_amz_headers_still_pass(proxy, origin_s3, bucket):
    signed = sign_header(
        proxy.authority, "PUT", f"/{bucket}/with-meta",
        {"x-amz-meta-owner": "alice", "x-amz-tagging": "team=a"}, b"x",
    )
    assert send(proxy.authority, signed).status == 200
    head = origin_s3.head_object(Bucket=bucket, Key="with-meta")
    assert head["Metadata"] == {"owner": "alice"}


def test_unsigned_amz_header_on_a_signed_chunked_upload(proxy, origin_s3, bucket):
    upload = chunked_put(proxy.authority, f"/{bucket}/chunked", b"data" * 1000, SIGNED)
    attack = upload.with_header("x-amz-acl", "public-read-write")
    r = assert_refused(proxy, origin_s3, bucket, attack, 403, "AccessDenied")
    assert headers_not_signed(r) == "x-amz-acl"


@pytest.mark.every_origin
def test_a_signed_header_split_in_two_is_refused(proxy, origin_s3, bucket):
    """Found by an attack run (2026-12-01): the signature covers a repeated header's values
    joined with `,`, so a signed `x-amz-copy-source: /b/a,b.txt` verified when sent as `/b/a`
    and `b.txt`; Garage, reading the first, copied the object `a`."""
    origin_s3.put_object(Bucket=bucket, Key="a,b.txt", Body=b"public")
    origin_s3.put_object(Bucket=bucket, Key="a", Body=b"SECRET")
    signed = sign_header(proxy.authority, "PUT", f"/{bucket}/copy.txt", {"x-amz-copy-source": f"/{bucket}/a,b.txt"})
    split = [(n, v) for n, v in signed.headers if n.lower() != "x-amz-copy-source"]
    split += [("x-amz-copy-source", f"/{bucket}/a"), ("x-amz-copy-source", "b.txt")]
    r = assert_refused(proxy, origin_s3, bucket, RawRequest("PUT", signed.target, split), 400, "InvalidArgument")
    assert b"x-amz-copy-source" in r.body
    assert send(proxy.authority, signed).status == 200
    assert_object(origin_s3, bucket, "copy.txt", b"public")


@pytest.mark.every_origin
def test_an_answer_header_with_a_control_character_is_refused(proxy, origin_s3, bucket):
    """Found by a red team (RT63, 2026-12-05): Ceph RGW refuses a `response-*` value holding a
    control character by answering a HEAD with nothing at all (Envoy held the stream until the
    route's idle timeout, an upstream connection with it) and a GET with a 200 head wrapped
    around a 400 (Envoy's 502). Refused before the origin, signed or presigned."""
    origin_s3.put_object(Bucket=bucket, Key="page.txt", Body=b"<b>hi</b>")
    for method in ("HEAD", "GET"):
        target = f"/{bucket}/page.txt?response-content-type=text%2Fhtml%01"
        signed = sign_header(proxy.authority, method, target)
        r = send(proxy.authority, signed)
        assert (r.status, r.headers.get("cache-control")) == (400, "no-store"), r
        if method == "GET":
            assert_refused(proxy, origin_s3, bucket, signed, 400, "InvalidArgument")
        url = presign(proxy.authority, method, f"/{bucket}/page.txt?response-content-disposition=inline%09x")
        assert send(proxy.authority, url).status == 400
    url = presign(proxy.authority, "GET", f"/{bucket}/page.txt?response-content-type=text%2Fplain%3B%20charset%3Dutf-8")
    r = send(proxy.authority, url)
    assert (r.status, r.body, r.headers["content-type"]) == (200, b"<b>hi</b>", "text/plain; charset=utf-8")


def test_a_host_not_served_is_refused(proxy, origin, origin_s3, bucket):
    """A request signed for another name (the origin's, or any endpoint sharing the key). The
    answer is the same whichever host it names: one that told the origin's host from others
    let anyone confirm a guess of the origin's address (RT60, 2026-12-05)."""
    answers = set()
    for host in (f"127.0.0.1:{proxy.port}", f"s3.example.net:{proxy.port}", "localhostx",
                 origin.authority, f"{bucket}.{origin.authority}", origin.authority.upper()):
        signed = sign_header(host, "PUT", f"/{bucket}/other-host", {}, b"x")
        r = assert_refused(proxy, origin_s3, bucket, signed, 400, "InvalidRequest", authority=host)
        assert b"does not serve the host" in r.body
        answers.add(re.sub(rb"<RequestId>[^<]*</RequestId>", b"", r.body))
    assert len(answers) == 1, answers
    assert str(origin.port).encode() not in answers.pop()


def test_an_absolute_uri_names_the_host(proxy, origin_s3, bucket, secret):
    """Envoy's HTTP/1 codec takes a request target in absolute form (as clients send it to a
    forward proxy: DuckDB's `http_proxy`) and the host in it over `Host` (RFC 9112, 3.2.2):
    that host is the `:authority` the filter verifies and serves. A request signed for the
    served name goes on whatever `Host` says; the same request with its URI naming a host not
    served is refused, though its `Host` names the served one."""
    url = presign(proxy.authority, "GET", f"/{bucket}/secret.txt")
    r = send("s3.example.net", RawRequest("GET", f"http://{proxy.authority}{url.target}"), port=proxy.port)
    assert (r.status, r.body) == (200, secret)
    signed = sign_header(proxy.authority, "DELETE", f"/{bucket}/secret.txt")
    elsewhere = RawRequest("DELETE", f"http://s3.example.net:{proxy.port}{signed.target}", signed.headers)
    r = assert_refused(proxy, origin_s3, bucket, elsewhere, 400, "InvalidRequest")
    assert b"does not serve the host" in r.body
    assert_object(origin_s3, bucket, "secret.txt", secret)


def test_virtual_hosted_put_cannot_create_a_bucket(proxy, origin_s3, bucket):
    """`PUT /newbucket` to `<bucket>.localhost` means "put object newbucket into bucket"; read
    path-style it would create bucket newbucket at the origin. It reaches the origin as the
    object PUT it is, and no bucket is created."""
    host = f"{bucket}.localhost:{proxy.port}"
    newbucket = f"new-{bucket}"
    r = send(host, sign_header(host, "PUT", f"/{newbucket}", {}, b"an object"), port=proxy.port)
    assert r.status == 200, r.body
    assert origin_s3.get_object(Bucket=bucket, Key=newbucket)["Body"].read() == b"an object"
    assert newbucket not in [b["Name"] for b in origin_s3.list_buckets()["Buckets"]]


def test_a_remembered_presigned_url_lends_its_signature_to_nothing_else(proxy, origin_s3, bucket, secret):
    """The presigned cache looks entries up by the signature a request carries. One valid URL,
    served twice (so remembered), then its signature on requests that each change one thing: all
    carry the remembered entry's key, none is that request, so each is verified afresh and
    refused (were the key enough, the cache would forward them); the origin sees none of them,
    and the object is as it was."""
    url = presign(proxy.authority, "GET", f"/{bucket}/secret.txt")
    for _ in range(2):
        assert send(proxy.authority, url).status == 200
    path, query = url.target.split("?", 1)
    attempts = {
        "another key": (proxy.authority, RawRequest("GET", f"/{bucket}/other.txt?{query}")),
        "another method": (proxy.authority, RawRequest("DELETE", url.target)),
        "a write": (proxy.authority, RawRequest("PUT", url.target, body=b"overwritten")),
        "a sub-resource added": (proxy.authority, RawRequest("GET", f"{path}?acl&{query}")),
        "another bucket style": (f"{bucket}.{proxy.authority}", RawRequest("GET", f"/secret.txt?{query}")),
    }
    for what, (host, attack) in attempts.items():
        before = proxy.origin_requests()
        r = send(host, attack, port=proxy.port)
        assert (r.status, error_code(r)) == (403, "SignatureDoesNotMatch"), (what, r.body)
        assert proxy.origin_requests() == before, what
    assert_object(origin_s3, bucket, "secret.txt", secret)
    # The URL itself is still served, from the cache.
    assert send(proxy.authority, url).status == 200


def test_expires_zero_is_expired(proxy, origin_s3, bucket):
    url = presign(proxy.authority, "GET", f"/{bucket}/k")
    zero = RawRequest("GET", re.sub(r"X-Amz-Expires=\d+", "X-Amz-Expires=0", url.target))
    r = assert_refused(proxy, origin_s3, bucket, zero, 403, "AccessDenied")
    assert b"Request has expired" in r.body


def test_two_authorization_headers(proxy, origin_s3, bucket):
    signed = sign_header(proxy.authority, "PUT", f"/{bucket}/twice", {}, b"x")
    twice = RawRequest(signed.method, signed.target, signed.headers + [("Authorization", signed.header("Authorization"))], b"x")
    r = assert_refused(proxy, origin_s3, bucket, twice, 400, "InvalidArgument")
    assert b"Only one Authorization header" in r.body


def test_a_session_token_is_refused_not_passed_on(proxy, origin_s3, bucket):
    """A client with temporary credentials signs its session token (a compatibility sweep,
    2026-12-07: apt-transport-s3 configured with a `Token` had it forwarded, re-signed beside
    the origin's key). No key here has a token: refused, 400 `InvalidToken`, header-signed,
    presigned (boto3 with `aws_session_token`) and in a browser form, nothing reaching the
    origin."""
    a = proxy.authority
    header = sign_header(a, "PUT", f"/{bucket}/tok", {"x-amz-security-token": "FQoGZXIvYXdzE"}, b"x")
    assert_refused(proxy, origin_s3, bucket, header, 400, "InvalidToken")
    client = s3_client(proxy.endpoint, session_token="FQoGZXIvYXdzE")
    url = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "tok"})
    target = url.split(proxy.authority, 1)[1]
    assert "X-Amz-Security-Token=" in target
    assert_refused(proxy, origin_s3, bucket, RawRequest("PUT", target, [], b"x"), 400, "InvalidToken")
    with pytest.raises(ClientError, match="InvalidToken"):
        client.put_object(Bucket=bucket, Key="tok", Body=b"x")
    # Named with the Kelvin sign, which a server comparing names as Go's `strings.EqualFold`
    # reads as the token's `k` (a margin: no origin here does).
    lookalike = presign(a, "PUT", f"/{bucket}/tok?x-amz-security-to%E2%84%AAen=t")
    assert "to%E2%84%AAen=t" in lookalike.target
    assert_refused(proxy, origin_s3, bucket, RawRequest("PUT", lookalike.target, [], b"x"), 400, "InvalidToken")
    form = client.generate_presigned_post(bucket, "tok")
    assert "x-amz-security-token" in form["fields"]
    r = requests.post(form["url"], data=form["fields"], files={"file": ("f", b"x")}, timeout=30)
    assert r.status_code == 400 and b"<Code>InvalidToken</Code>" in r.content, r.content
    with pytest.raises(ClientError):
        origin_s3.head_object(Bucket=bucket, Key="tok")


def test_debug_logs_mask_session_tokens(origin, origin_s3, bucket):
    config = render(
        origin_host="127.0.0.1",
        origin_port=origin.port,
        filter_config=filter_config_json(origin.authority, log_level="debug"),
    )
    token = "TOKEN-THAT-MUST-NOT-BE-LOGGED"
    with Envoy(config, log_level="debug") as proxy:
        url = presign(proxy.authority, "GET", f"/{bucket}/k", headers={"x-amz-security-token": token})
        # The token also rides in the query, as STS-backed clients send it; the signature is bad.
        target = url.target.replace("X-Amz-Signature=", f"X-Amz-Security-Token={token}&X-Amz-Signature=")
        target = target[:-1] + ("0" if target[-1] != "0" else "1")
        r = send(proxy.authority, RawRequest("GET", target, [("x-amz-security-token", token)]))
        assert r.status == 403
        log = proxy.log_text()
    assert "canonical request" in log
    assert "X-Amz-Security-Token=*****" in log and "x-amz-security-token:*****" in log
    assert token not in log


class HeldUpload:
    """A signed aws-chunked PUT whose head and most of its first chunk were sent, then held."""

    def __init__(self, proxy, bucket, key, chunk_size, missing=1):
        data = bytes(chunk_size) * 2
        upload = chunked_put(proxy.authority, f"/{bucket}/{key}", data, SIGNED, chunk_size=chunk_size)
        head = [f"PUT {upload.target} HTTP/1.1", f"Host: {proxy.authority}"]
        head += [f"{n}: {v}" for n, v in upload.headers]
        self.sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        first_chunk_end = upload.body.index(b"\r\n") + 2 + chunk_size
        self.sock.sendall(upload.body[: first_chunk_end - missing])

    def close(self):
        self.sock.close()


def answered(held: list[HeldUpload], expected: int, deadline: float) -> dict[int, bytes]:
    """The first bytes each held upload got back, once `expected` of them have answered (or
    the deadline passed), and half a second more to see that no other one does."""
    answers: dict[int, bytes] = {}
    sockets = {h.sock: i for i, h in enumerate(held)}
    end = time.monotonic() + deadline
    settle = None
    while True:
        now = time.monotonic()
        if len(answers) >= expected and settle is None:
            settle = now + 0.5
        stop = min(end, settle) if settle else end
        if now >= stop:
            return answers
        waiting = [s for s, i in sockets.items() if i not in answers]
        readable, _, _ = select.select(waiting, [], [], stop - now)
        for sock in readable:
            try:
                answers[sockets[sock]] = sock.recv(65536) or b"closed"
            except ConnectionError:
                answers[sockets[sock]] = b"reset"


def test_held_uploads_are_bounded_by_the_memory_budget(make_proxy, origin_s3, bucket):
    """Many uploads each holding an almost complete chunk: beyond the VM's budget they are
    refused with 503 SlowDown, and the proxy keeps serving everything else."""
    chunk = 256 * 1024
    proxy = make_proxy(max_chunk_size_bytes=chunk, chunk_memory_budget_bytes=4 * chunk + 4096)
    origin_s3.put_object(Bucket=bucket, Key="probe", Body=b"still here")
    held = []
    try:
        for i in range(10):
            held.append(HeldUpload(proxy, bucket, f"held-{i}", chunk))
            time.sleep(0.05)
        answers = answered(held, expected=6, deadline=15)
        assert len(answers) == 6, answers
        for answer in answers.values():
            assert answer.startswith(b"HTTP/1.1 503"), answer
            assert b"<Code>SlowDown</Code>" in answer
        # Valid requests are served meanwhile.
        url = presign(proxy.authority, "GET", f"/{bucket}/probe")
        assert send(proxy.authority, url).body == b"still here"
    finally:
        for h in held:
            h.close()
    # Once the held uploads are gone, uploads are accepted again.
    data = b"y" * (3 * chunk)
    upload = chunked_put(proxy.authority, f"/{bucket}/after", data, SIGNED, chunk_size=chunk)
    deadline = time.monotonic() + 10
    while True:
        r = send(proxy.authority, upload)
        if r.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status == 200, r.body
    assert_object(origin_s3, bucket, "after", data)
    for i in range(10):
        assert_object(origin_s3, bucket, f"held-{i}", None)


HELD_GAUGE = "wasmcustom.s3_resign_chunk_memory_held_bytes"


def wait_for_held(proxy, held: bool):
    deadline = time.monotonic() + 10
    while (proxy.counter(HELD_GAUGE) > 0) != held:
        assert time.monotonic() < deadline, f"held bytes {proxy.counter(HELD_GAUGE)}"
        time.sleep(0.05)


def refused_for_its_stall(sock) -> bytes:
    sock.settimeout(10)
    answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400"), answer
    assert b"<Code>RequestTimeout</Code>" in answer, answer
    return answer


def trickle_until_answered(sock, byte: bytes):
    """Sends `byte` every half second until the filter answers, for at most 8 s."""
    for _ in range(16):
        if select.select([sock], [], [], 0.5)[0]:
            return
        sock.sendall(byte)
    pytest.fail("not refused while it trickled")


def test_a_held_chunk_that_stops_moving_is_refused(make_proxy, origin_s3, bucket):
    """Found by a red team (2026-12-02): streams replaying one captured upload head, each
    holding a chunk short of its end and sending a byte every 25 s, kept the whole memory
    budget held for as long as they stayed (each byte reset Envoy's idle timeouts), and every
    other upload got 503. A hold must end within `held_body_timeout_seconds` and a second per
    16 KiB it holds: here 1 s and 1 s for the chunk."""
    chunk = 16 * 1024
    proxy = make_proxy(held_body_timeout_seconds=1, max_chunk_size_bytes=chunk)
    stalled = HeldUpload(proxy, bucket, "stalled", chunk, missing=100)
    try:
        wait_for_held(proxy, True)
        # A byte every half second: never silent for the grace, past the allowance all the
        # same, and refused while it trickles (not by the tick once it stops).
        trickle_until_answered(stalled.sock, b"\0")
        refused_for_its_stall(stalled.sock)
        wait_for_held(proxy, False)
    finally:
        stalled.close()
    assert_object(origin_s3, bucket, "stalled", None)
    assert "RequestTimeout" in proxy.log_text()
    # One that falls silent altogether is answered by the filter's tick, not after Envoy's
    # idle timeout (300 s on the shipped routes).
    silent = HeldUpload(proxy, bucket, "silent", chunk, missing=100)
    try:
        wait_for_held(proxy, True)
        started = time.monotonic()
        refused_for_its_stall(silent.sock)
        assert time.monotonic() - started < 5  # about 1.3 s: the grace, bought time, a tick
        wait_for_held(proxy, False)
    finally:
        silent.close()
    assert f"rejected PUT /{bucket}/silent (access key CLIENTKEY): RequestTimeout: " in proxy.log_text()
    assert "its held body fell silent" in proxy.log_text()
    # Both refused are rejections, neither a forwarded request.
    got = proxy.prometheus()
    assert got['s3_resign_rejections_total{code="RequestTimeout"}'] == 2
    assert got['s3_resign_requests_total{kind="chunked_v4"}'] == 0
    # An upload whose chunks keep completing is never refused, however long it takes.
    data = bytes(range(256)) * 256
    upload = chunked_put(proxy.authority, f"/{bucket}/moving", data, SIGNED, chunk_size=8 * 1024)
    assert send(proxy.authority, upload).status == 200
    assert_object(origin_s3, bucket, "moving", data)


def test_a_held_document_pays_for_what_it_reserved(make_proxy, origin_s3, bucket):
    """Found by a third red team (2026-12-02): a document's buffer doubles within its
    Content-Length, and each byte bought the same time whatever the hold reserved, so 16
    replayed documents of 2 MiB and a byte, each reserving 4 MiB, held the 64 MiB budget at
    17 KiB/s each (463 KiB/s in all, where 1 MiB chunks cost 1 MiB/s). A hold must now bring
    what it reserved every 64 s: this one reserves 3 MiB, so 48 KiB/s (where what arrived,
    2 to 3 MiB, would ask 32 to 48), and may bank a third of its grace ahead."""
    from test_content_md5 import delete_objects
    from harness.clients import content_md5, sign_header

    proxy = make_proxy(held_body_timeout_seconds=4)
    origin_s3.put_object(Bucket=bucket, Key="kept", Body=b"kept")
    document = delete_objects(bucket, "kept")
    length = 3 << 20
    body = document.replace(b"<Delete>", b"<Delete>" + b" " * (length - len(document)))

    def head_for(proxy) -> bytes:
        signed = sign_header(proxy.authority, "POST", f"/{bucket}?delete",
                             {"Content-MD5": content_md5(body), "Content-Type": "application/xml"},
                             body, payload_hash="UNSIGNED-PAYLOAD")
        lines = [f"POST {signed.target} HTTP/1.1", f"Host: {proxy.authority}"]
        lines += [f"{n}: {v}" for n, v in signed.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    head = head_for(proxy)

    def trickle(sock, sent: int, per_second: int) -> int:
        """Sends the rest of the body at `per_second`, in tenths, until it ends or is
        answered; what was sent."""
        while sent < length and not select.select([sock], [], [], 0.1)[0]:
            sock.sendall(body[sent:sent + per_second // 10])
            sent += per_second // 10
        return sent

    # 2 MiB and a byte at once, then 40 KiB/s: more than the 16 KiB/s any hold must keep and
    # than what arrived asks until 2.5 MiB, less than this one's reservation asks.
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    try:
        sock.sendall(head + body[: (2 << 20) + 1])
        deadline = time.monotonic() + 10
        while proxy.counter(HELD_GAUGE) < 2 << 20:
            assert time.monotonic() < deadline, f"held bytes {proxy.counter(HELD_GAUGE)}"
            time.sleep(0.05)
        started = time.monotonic()
        assert trickle(sock, (2 << 20) + 1, 40 * 1024) < length, "not refused while it trickled"
        refused_for_its_stall(sock)
        assert time.monotonic() - started < 20
        wait_for_held(proxy, False)
    finally:
        sock.close()
    assert_object(origin_s3, bucket, "kept", b"kept")
    # One that brings its reservation in time goes on: 2.5 MiB, then 96 KiB/s. On an Envoy of
    # a longer grace, which banks 4 s ahead rather than 1.3: a pause of the test's own of 1.5 s
    # refused it (RV131).
    proxy = make_proxy(held_body_timeout_seconds=12)
    head = head_for(proxy)
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    try:
        sock.sendall(head + body[: 5 << 19])
        trickle(sock, 5 << 19, 96 * 1024)
        sock.settimeout(30)
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    finally:
        sock.close()
    assert_object(origin_s3, bucket, "kept", None)


def test_a_form_whose_fields_stop_moving_is_refused(make_proxy, bucket):
    """The same red team held the share of unverified forms (an eighth of the budget) with
    forms no key signed, a field each that never ended: every browser upload got 503. Their
    fields are held under the same rule; the page that posted one may read the refusal (a
    later red team found the tick's answer without CORS headers)."""
    proxy = make_proxy(held_body_timeout_seconds=1, error_cors_origins=["https://app.example"])
    head = (f"POST /{bucket} HTTP/1.1\r\nHost: {proxy.authority}\r\nOrigin: https://app.example\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n")
    field = b'--b\r\nContent-Disposition: form-data; name="x-ignore-pad"\r\n\r\n' + b"p" * 1000
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    try:
        sock.sendall(head.encode() + field)
        wait_for_held(proxy, True)
        trickle_until_answered(sock, b"p")
        refused_for_its_stall(sock)
        wait_for_held(proxy, False)
    finally:
        sock.close()
    # And one that falls silent is answered by the tick.
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    try:
        sock.sendall(head.encode() + field)
        wait_for_held(proxy, True)
        answer = refused_for_its_stall(sock).lower()
        assert b"access-control-allow-origin: https://app.example\r\n" in answer, answer
        assert b"vary: origin\r\n" in answer, answer
        wait_for_held(proxy, False)
    finally:
        sock.close()
    # One that sends no body at all: its request headers wait (in Envoy) from the start, timed
    # and counted in the unverified share as held fields are. A fourth red team paused 20,000
    # such forms, never timed, for Envoy's 300 s: 1.6 GiB of its memory (2026-12-03).
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    try:
        sock.sendall(head.encode())
        wait_for_held(proxy, True)
        started = time.monotonic()
        refused_for_its_stall(sock)
        assert time.monotonic() - started < 5  # about 1.3 s: the grace, bought time, a tick
        wait_for_held(proxy, False)
    finally:
        sock.close()
    assert proxy.prometheus()['s3_resign_rejections_total{code="RequestTimeout"}'] == 3


def bodiless_form_head(proxy, bucket) -> str:
    """The head of a form that announces a body and sends none: no key needed."""
    return (f"POST /{bucket} HTTP/1.1\r\nHost: {proxy.authority}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n")


def browser_form_in_two(client, bucket, key, content) -> tuple[str, bytes]:
    """A valid browser upload of `content` as `key`, as its HTTP/1.1 head and its form, to be
    sent apart."""
    from test_post_policy import form_for

    import requests

    form = form_for(client, bucket, key)
    prepared = requests.Request("POST", form["url"], data=form["fields"],
                                files={"file": ("a.txt", content, "text/plain")}).prepare()
    head = (f"POST /{form['url'].split('/', 3)[3]} HTTP/1.1\r\nHost: {form['url'].split('/')[2]}\r\n"
            f"Content-Type: {prepared.headers['Content-Type']}\r\n"
            f"Content-Length: {len(prepared.body)}\r\n\r\n")
    return head, prepared.body


def answers_until_quiet(socks, quiet=1.0) -> dict:
    """What each of `socks` was answered, until none is for `quiet` seconds."""
    answered = {}
    while ready := select.select([s for s in socks if s not in answered], [], [], quiet)[0]:
        for sock in ready:
            answered[sock] = sock.recv(65536)
    return answered


def test_forms_that_send_nothing_cannot_keep_browser_uploads_out(make_proxy, origin_s3, bucket):
    """Found by a red team (2026-12-03): waiting forms are charged their headers and a stream's
    cost in the unverified forms' share, and over HTTP/2 headers cost a few bytes each, so 131
    forms that sent nothing filled it and every browser upload got 503 `SlowDown`, for 233 B/s
    with no key. Past the share, the oldest form that has not paid its charge in fields makes
    room (503 `SlowDown`), not the newest: a browser sends its fields at once. Here the share
    is 128 KiB (a 1 MiB budget): nine waiting forms. (Those taken back count, outside the
    share and the budget, until the tick has answered them, up to an allowance of their own:
    the next red team's client reopening forms as fast as the tick answered kept 147 MiB of
    streams in Envoy.)"""
    from test_post_policy import form_for, post
    from harness.clients import s3_client

    proxy = make_proxy(chunk_memory_budget_bytes=1 << 20)
    client = s3_client(proxy.endpoint)
    head = bodiless_form_head(proxy, bucket)
    # The oldest is a valid browser upload whose fields come late: taken back, it must store
    # nothing when they come.
    late_head, late_body = browser_form_in_two(client, bucket, "late.txt", b"never stored")
    socks = []
    try:
        for at in range(30):
            sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
            sock.sendall((late_head if at == 0 else head).encode())
            socks.append(sock)
            # Those taken back wait for the tick's answer (within a few ms).
            time.sleep(0.05)
        # The oldest are answered at once (the tick's next turn), the newest wait: about nine,
        # charged 12 KiB, their headers and 384 bytes a header each.
        answered = answers_until_quiet(socks)
        assert 7 <= len(socks) - len(answered) <= 9, len(answered)
        assert all(a.startswith(b"HTTP/1.1 503") and b"<Code>SlowDown</Code>" in a for a in answered.values())
        assert set(socks[:len(answered)]) == set(answered), "not the oldest"
        assert proxy.counter(HELD_GAUGE) <= 128 * 1024
        try:
            socks[0].sendall(late_body)
        except OSError:
            pass  # the connection the answer closed
        # A browser upload gets in, and is stored.
        r = post(proxy, form_for(client, bucket, "in.txt"), b"made it")
        assert r.status_code == 204, r.text
        assert_object(origin_s3, bucket, "in.txt", b"made it")
    finally:
        for sock in socks:
            sock.close()
    assert "its waiting form made room for a newer one" in proxy.log_text()
    assert_object(origin_s3, bucket, "late.txt", None)


def test_a_form_taken_back_is_answered_at_once(make_proxy, origin_s3, bucket):
    """A form taken back for a newer one holds its stream until the root's tick answers it.
    The tick comes every 250 ms when nothing is waiting, and the stream that takes a form
    back now hastens it at once: the answer came up to 250 ms later (125 on average), and a
    burst of forms fitted in that time spent what a network may take back."""
    import random

    proxy = make_proxy(chunk_memory_budget_bytes=1 << 20)
    head = bodiless_form_head(proxy, bucket).encode()

    def form():
        sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
        sock.sendall(head)
        return sock

    # More than the share (128 KiB: about nine): the oldest are taken back.
    socks = []
    try:
        for _ in range(12):
            socks.append(form())
            time.sleep(0.05)
        answered = answers_until_quiet(socks, quiet=0.5)
        assert 2 <= len(answered) <= 5 and set(answered) == set(socks[:len(answered)]), len(answered)
        waiting = socks[len(answered):]
        delays = []
        for _ in range(8):
            # The tick is back to 250 ms, at a phase of its own.
            time.sleep(random.uniform(0.3, 0.6))
            started = time.monotonic()
            socks.append(form())
            ready = select.select(waiting, [], [], 1)[0]
            delays.append(time.monotonic() - started)
            # The oldest is taken back.
            assert ready == [waiting[0]] and b"<Code>SlowDown</Code>" in ready[0].recv(65536), delays
            waiting = waiting[1:] + [socks[-1]]
    finally:
        for sock in socks:
            sock.close()
    print(f"taken back, answered after {[round(d * 1000) for d in delays]} ms")
    # Each within a few milliseconds (3 to 29 in RV131's 72); at the 250 ms tick's pace, each
    # anywhere in 0 to 250. Two may be held up by the machine.
    assert sum(d < 0.06 for d in delays) >= 6, delays
    assert_ticks_slowly_again(proxy)


def heavy_form_head(proxy, bucket) -> str:
    """A bodiless form's head as heavy as Envoy lets it be (48 KB in one header, 90 more):
    charged about 96 KiB while it waits, against about 14 KiB for a browser's."""
    small = "".join(f"x-h{i}: v\r\n" for i in range(90))
    return bodiless_form_head(proxy, bucket).replace(
        "\r\n\r\n", f"\r\n{small}x-pad: {'p' * 48000}\r\n\r\n", 1)


@pytest.mark.parametrize("flood", ["bodiless", "heavy from two addresses", "paid, then heavy"])
def test_a_browser_upload_whose_fields_come_late_outlasts_another_clients_flood(
        make_proxy, origin_s3, bucket, flood):
    """Found by a red team (2026-12-03): a client cycling bodiless forms at about 20 KB/s
    turned the waiting forms over every 170 ms, so a browser upload whose fields came 0.2 s
    or more after its headers (curl's `Expect: 100-continue` over a slow link) was taken back
    for a newer form and refused `SlowDown`. Past the share, the network (an IPv4 address, an
    IPv6 /64) whose waiting forms weigh the most now makes room with its own oldest, and a new
    form's network heavier than any makes room with its own or not at all: here for an upload
    from 127.0.0.2 whose fields come 2 s late. The next red team got the upload refused by
    forms charged 96 KiB from two addresses (one each weighed as much as the browser's), and
    by newcomers of an address whose form had paid (paid forms weighed nothing)."""
    from harness.clients import s3_client

    proxy = make_proxy(chunk_memory_budget_bytes=1 << 20)
    client = s3_client(proxy.endpoint)
    late_head, late_body = browser_form_in_two(client, bucket, "late.txt", b"came late")
    sources = {"bodiless": ["127.0.0.1"], "heavy from two addresses": ["127.0.0.3", "127.0.0.4"],
               "paid, then heavy": ["127.0.0.5"]}[flood]
    flood_head = (bodiless_form_head if flood == "bodiless" else heavy_form_head)(proxy, bucket)

    def connect(source):
        return socket.create_connection(("127.0.0.1", proxy.port), timeout=10,
                                        source_address=(source, 0))

    socks = []
    if flood == "paid, then heavy":
        # 20 KB of fields: more than its charge, so the form has paid, and waits on.
        payer = connect(sources[0])
        payer.sendall(bodiless_form_head(proxy, bucket).encode()
                      + b'--b\r\nContent-Disposition: form-data; name="x-ignore-pad"\r\n\r\n'
                      + b"p" * 20000)
        socks.append(payer)
        time.sleep(0.2)
    browser = connect("127.0.0.2")
    try:
        browser.sendall(late_head.encode())
        # About nine plain forms fill the share (128 KiB of a 1 MiB budget), one heavy one
        # beside the browser's: each newcomer takes back one of the flood's, or is refused.
        flooded = []
        for at in range(40):
            sock = connect(sources[at % len(sources)])
            sock.sendall(flood_head.encode())
            flooded.append(sock)
            time.sleep(0.05)
        socks += flooded
        answered = answers_until_quiet(flooded)
        assert len(answered) >= 30, len(answered)
        assert all(b"<Code>SlowDown</Code>" in a for a in answered.values())
        assert browser not in select.select([browser], [], [], 0)[0], "the browser was answered"
        browser.sendall(late_body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            piece = browser.recv(65536)
            assert piece, answer
            answer += piece
        assert answer.startswith(b"HTTP/1.1 204"), answer
    finally:
        browser.close()
        for sock in socks:
            sock.close()
    assert_object(origin_s3, bucket, "late.txt", b"came late")


def h2_bodiless_forms(proxy, bucket, sources, rate, seconds, heavy=False) -> int:
    """Opens bodiless forms over HTTP/2 (cleartext) from `sources` at `rate` a second for
    `seconds`, on ten connections, reading what Envoy answers; how many it opened. `heavy`:
    each with 13 headers of 3.5 KB, charged about 64 KiB, sent in a few bytes once HPACK has
    indexed them."""
    import h2.config
    import h2.connection
    import h2.exceptions

    headers = [(":method", "POST"), (":scheme", "http"), (":authority", proxy.authority),
               (":path", f"/{bucket}"), ("content-type", "multipart/form-data; boundary=b"),
               ("content-length", "100000")]
    if heavy:
        headers += [("x-a", "a" * 3506)] * 13
    connections = []
    for at in range(10):
        sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10,
                                        source_address=(sources[at % len(sources)], 0))
        h2c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        h2c.initiate_connection()
        sock.sendall(h2c.data_to_send())
        sock.setblocking(False)
        connections.append((sock, h2c))
    opened, start = 0, time.monotonic()
    try:
        while (elapsed := time.monotonic() - start) < seconds:
            for sock, h2c in connections:
                try:
                    while data := sock.recv(65536):
                        h2c.receive_data(data)
                except BlockingIOError:
                    pass
            while opened < elapsed * rate:
                sock, h2c = connections[opened % len(connections)]
                opened += 1
                try:
                    h2c.send_headers(h2c.get_next_available_stream_id(), headers)
                except h2.exceptions.TooManyStreamsError:
                    continue
            for sock, h2c in connections:
                if out := h2c.data_to_send():
                    sock.setblocking(True)
                    sock.sendall(out)
                    sock.setblocking(False)
            time.sleep(0.005)
    finally:
        for sock, _ in connections:
            sock.close()
    return opened


@pytest.mark.parametrize("sources,rate,heavy", [
    (["127.0.0.3"], 300, False), (["127.0.0.3", "127.0.0.4"], 100, False),
    ([f"127.0.0.{n}" for n in range(3, 9)], 600, False),
    ([f"127.0.0.{n}" for n in range(3, 6)], 600, True)])
def test_one_clients_forms_cannot_keep_everyone_elses_out(make_proxy, origin_s3, bucket, sources,
                                                          rate, heavy):
    """Found by a red team (2026-12-03): forms taken back held their streams until the tick
    answered them (then at most 640 a second), within one share for all clients; one address
    opening bodiless forms over HTTP/2 faster than that, each taking back its own oldest,
    kept that allowance spent, and every other client's browser upload was refused at its
    headers (16 of 77 stored for 3 KB/s at this budget; 17 of 51 for 19 KB/s at the default).
    A network may now have taken back a thirty-second of the share (at least 64 KiB) while
    those streams last; past it, its own newcomers are refused. The next red team spent the
    allowance with two addresses (23 of 76 stored for 1.6 KB/s): taken-back forms are now
    answered within 25 ms, not 250. Six addresses at 600 forms a second (9 KB/s) still kept
    about half out (20 of 40 stored): the stream that takes a form back now starts the short
    period at once, and it is a millisecond. The next red team sent forms charged 64 KiB in
    30 bytes each (HPACK): two taken back spent the allowance, then as large as the share
    (128 KiB here), and three addresses at 600 a second kept half out; forms taken back now
    count outside the budget, up to 2 MiB at least."""
    from harness.clients import s3_client
    from test_post_policy import form_for, post

    proxy = make_proxy(chunk_memory_budget_bytes=1 << 20)
    client = s3_client(proxy.endpoint)
    flood = threading.Thread(target=h2_bodiless_forms,
                             args=(proxy, bucket, sources, rate, 8, heavy))
    flood.start()
    try:
        time.sleep(1.5)
        codes = []
        while flood.is_alive() and len(codes) < 40:
            codes.append(post(proxy, form_for(client, bucket, f"in-{len(codes)}"), b"in").status_code)
            time.sleep(0.1)
    finally:
        flood.join()
    assert len(codes) >= 20, codes
    print(f"{codes.count(204)} of {len(codes)} stored")
    assert codes.count(204) >= len(codes) - 2, codes
    assert proxy.prometheus()['s3_resign_rejections_total{code="SlowDown"}'] > rate * 4
    assert_ticks_slowly_again(proxy)


def test_many_silent_holds_due_at_once_are_all_answered(make_proxy, origin_s3, bucket):
    """Found by a red team (2026-12-02): the tick answered every hold past its deadline at
    once; Envoy sends each answer after the tick returns, and each stream's deletion enters
    the VM, inside which the next answer goes: the calls nested one deep per answer, 300
    silent forms (no key) overflowed V8's stack, and the other streams of the worker got 503.
    A tick answers 16; while more are overdue, the next comes a millisecond later."""
    proxy = make_proxy(held_body_timeout_seconds=1)
    origin_s3.put_object(Bucket=bucket, Key="probe", Body=b"still here")
    head = (f"POST /{bucket} HTTP/1.1\r\nHost: {proxy.authority}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n")
    field = b'--b\r\nContent-Disposition: form-data; name="x-ignore-pad"\r\n\r\n' + b"p" * 100
    socks = []
    try:
        for _ in range(400):
            sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
            sock.sendall(head.encode() + field)
            socks.append(sock)
        sent = time.monotonic()
        answers: dict[socket.socket, bytes] = {}
        first = None
        deadline = time.monotonic() + 30
        while len(answers) < len(socks) and time.monotonic() < deadline:
            waiting = [s for s in socks if s not in answers]
            readable, _, _ = select.select(waiting, [], [], 1)
            if readable and first is None:
                first = time.monotonic()
            for sock in readable:
                try:
                    answers[sock] = sock.recv(65536) or b"closed"
                except ConnectionError:
                    answers[sock] = b"reset"
        # Within 16 a tick, a tick every millisecond while a backlog lasts (at 250 ms, 6 s; a
        # mutation run found that untested, 2026-12-03). From the first answer to the last,
        # which leaves out how fast the machine took the 400 in (about 0.1 s, RV131).
        last = time.monotonic()
        statuses = [a.split(b"\r\n", 1)[0] for a in answers.values()]
        assert len(answers) == 400 and set(statuses) == {b"HTTP/1.1 400 Bad Request"}, set(statuses)
        assert last - first < 2 and last - sent < 10, (first - sent, last - sent)
        assert all(b"<Code>RequestTimeout</Code>" in a for a in answers.values())
    finally:
        for sock in socks:
            sock.close()
    assert "Maximum call stack" not in proxy.log_text()
    url = presign(proxy.authority, "GET", f"/{bucket}/probe")
    assert send(proxy.authority, url).body == b"still here"
    assert proxy.prometheus()['s3_resign_rejections_total{code="RequestTimeout"}'] == 400
    assert_ticks_slowly_again(proxy)


def assert_ticks_slowly_again(proxy, windows: int = 5):
    """Once nothing is overdue or waiting for its answer, the filter's tick is back to every
    250 ms. Counted as the idle worker's wake-ups: about 20 a second at 250 ms, 800 to 900
    ticking every millisecond (RV131, 2026-12-06). CPU time, measured before, depends on the
    machine: CI failed a correct filter at 3.0% of a core (its stats flush included), and a
    faster machine passed one that kept ticking every millisecond at 1.7%. The quietest of a
    few one-second windows is judged."""
    time.sleep(0.5)
    rates = []
    for _ in range(windows):
        before = proxy.workers_wakeups()
        time.sleep(1.0)
        rates.append(proxy.workers_wakeups() - before)
        if rates[-1] < 200:
            return
    assert False, f"an idle Envoy's worker woke {min(rates)} times a second at the least, in {rates}"


def test_a_crashed_vm_is_replaced_within_seconds(origin, bucket):
    """The shipped failure policy, with a VM that traps on demand in place of the filter: the
    request that crashed it is answered 503 (ServiceUnavailable, in S3's form) and never forwarded, and service comes back on a
    fresh VM within the reload backoff instead of 503 until Envoy restarts."""
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config="crash")
    probe = wasm_filter(config)
    probe["vm_config"]["code"]["local"]["filename"] = str(probe_wasm())
    assert probe["failure_policy"] == "FAIL_RELOAD"
    with Envoy(config) as envoy:
        plain = RawRequest("GET", f"/{bucket}/k")
        assert send(envoy.authority, plain).status in (403, 404)  # the origin's own answer
        for _ in range(2):
            before = envoy.origin_requests()
            crash = send(envoy.authority, plain.with_header("x-probe-crash", "1"))
            assert (crash.status, error_code(crash)) == (503, "ServiceUnavailable"), crash.body
            assert crash.headers["content-type"] == "application/xml"
            assert envoy.origin_requests() == before, "the crashing request was forwarded"
            crashed = time.monotonic()
            while send(envoy.authority, plain).status == 503:
                assert time.monotonic() - crashed < 5, "no fresh VM within 5 s"
                time.sleep(0.1)
            assert envoy.origin_requests() > before
        assert envoy.counter("wasm.s3-resign.vm_reload_success") >= 2


@pytest.mark.parametrize("header", ["x-minio-force-delete", "x-rgw-anything", "X_Amz_Acl", "x_amz_copy_source",
                                    "x-oss-object-acl", "x-emc-namespace", "cf-create-bucket-if-missing"])
def test_vendor_headers_and_underscore_spellings_are_refused(proxy, origin_s3, bucket, secret, header):
    """MinIO acts on `x-minio-*` (`x-minio-force-delete` empties a bucket it deletes), Ceph
    RGW on `x-rgw-*`, other clouds' S3 APIs on their own (Alibaba's `x-oss-*`, Dell ECS's
    `x-emc-namespace`, R2's `cf-create-bucket-if-missing`), and an origin reading headers
    CGI-style takes `x_amz_acl` for `x-amz-acl`: unsigned, none reaches the origin."""
    signed = sign_header(proxy.authority, "DELETE", f"/{bucket}/secret.txt", {}, b"")
    attack = signed.with_header(header, "true")
    before = proxy.origin_requests()
    r = send(proxy.authority, attack)
    assert r.status == 403 and headers_not_signed(r) == header.lower(), r.body
    assert proxy.origin_requests() == before
    assert_object(origin_s3, bucket, "secret.txt", b"the secret")


@pytest.mark.every_origin
def test_underscore_spellings_are_refused_but_a_metadata_keys(origin, origin_s3, bucket, secret):
    """The shipped configurations let header names with `_` through to the filter
    (`headers_with_underscores_action: ALLOW`): boto3 sends a metadata key of its own with one
    (`Metadata={'user_id': ...}`, refused by Envoy before under `REJECT_REQUEST`: a
    compatibility sweep, 2026-12-06), and it is stored. Every other name with `_` is refused
    before any origin, signed or not: Ceph RGW reads `x_amz_copy_source` as
    `x-amz-copy-source`, `x_forwarded_for` as the address the route rewrites."""
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=filter_config_json(origin))
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    assert hcm["common_http_protocol_options"]["headers_with_underscores_action"] == "ALLOW"
    with Envoy(config) as envoy:
        before = envoy.origin_requests()
        copy = {"x_amz_copy_source": f"/{bucket}/secret.txt"}
        unsigned = sign_header(envoy.authority, "PUT", f"/{bucket}/stolen", {}, b"")
        r = send(envoy.authority, unsigned.with_header("x_amz_copy_source", f"/{bucket}/secret.txt"))
        assert r.status == 403 and headers_not_signed(r) == "x_amz_copy_source", r.body
        r = send(envoy.authority, sign_header(envoy.authority, "PUT", f"/{bucket}/stolen", copy, b""))
        assert r.status == 400 and error_code(r) == "InvalidArgument", r.body
        for name in ("x_forwarded_for", "X_Real_IP", "if_none_match"):
            r = send(envoy.authority, unsigned.with_header(name, "*"))
            assert r.status == 400 and error_code(r) == "InvalidArgument" and name.lower().encode() in r.body, r.body
        assert envoy.origin_requests() == before
        assert_object(origin_s3, bucket, "stolen", None)
        metadata = sign_header(envoy.authority, "PUT", f"/{bucket}/tagged", {"x-amz-meta-user_id": "42"}, b"m")
        # The exception is for a key the client signed: one added unsigned is refused.
        r = send(envoy.authority, metadata.with_header("x-amz-meta-role_name", "admin"))
        assert r.status == 403 and headers_not_signed(r) == "x-amz-meta-role_name", r.body
        assert envoy.origin_requests() == before
        assert_object(origin_s3, bucket, "tagged", None)
        r = send(envoy.authority, metadata)
        assert r.status == 200, r.body
        assert_object(origin_s3, bucket, "tagged", b"m")
        client = s3_client(envoy.endpoint)
        client.put_object(Bucket=bucket, Key="boto3", Body=b"b", Metadata={"user_id": "7"})
        # Ceph RGW folds the key's `_` into `-`, as it does straight from boto3.
        stored = origin_s3.head_object(Bucket=bucket, Key="boto3")["Metadata"]
        assert stored in ({"user_id": "7"}, {"user-id": "7"}), stored


ALIASES = ["X-Goog-Meta-A", "x-object-meta-a", "Seaweed-X-Amz-Legal-Hold", "x-seaweedfs-sse-s3-base-iv",
           "SourceIp", "Nickname"]


@pytest.mark.parametrize("header", ALIASES)
def test_names_origins_read_as_amz_headers_or_condition_keys_are_refused(proxy, origin_s3, bucket, secret,
                                                                          header):
    """Ceph RGW reads `x-goog-*` and kin as `x-amz-*`, SeaweedFS `Seaweed-X-Amz-*`, and MinIO a
    header named like a policy condition key as that key's value: one signed request with one
    of them added unsigned never reaches the origin."""
    signed = sign_header(proxy.authority, "DELETE", f"/{bucket}/secret.txt", {}, b"")
    before = proxy.origin_requests()
    r = send(proxy.authority, signed.with_header(header, "ON"))
    assert r.status == 403 and headers_not_signed(r) == header.lower(), r.body
    assert proxy.origin_requests() == before
    assert_object(origin_s3, bucket, "secret.txt", b"the secret")


def test_anonymous_requests_may_not_carry_a_name_with_an_underscore(make_proxy, origin_s3, bucket, secret):
    """With `anonymous: forward`, a header name holding `_` is refused as on a signed request:
    Ceph would read `x_forwarded_for` as the client's address."""
    proxy = make_proxy(anonymous="forward")
    before = proxy.origin_requests()
    for name in ("x_forwarded_for", "if_none_match", "x_amz_acl"):
        r = send(proxy.authority, RawRequest("GET", f"/{bucket}/secret.txt").with_header(name, "*"))
        assert r.status == 400 and error_code(r) == "InvalidArgument", (name, r.body)
    assert proxy.origin_requests() == before


@pytest.mark.parametrize("header", ["SourceIp", "X-Goog-Meta-A"])
def test_anonymous_requests_may_not_carry_them_either(make_proxy, origin_s3, bucket, secret, header):
    """With `anonymous: forward` an unsigned request goes on for the origin to judge, but not
    with a header that would answer what the origin asks about the anonymous client."""
    proxy = make_proxy(anonymous="forward")
    before = proxy.origin_requests()
    r = send(proxy.authority, RawRequest("DELETE", f"/{bucket}/secret.txt").with_header(header, "10.1.2.3"))
    assert r.status == 403 and headers_not_signed(r) == header.lower(), r.body
    assert proxy.origin_requests() == before
    assert_object(origin_s3, bucket, "secret.txt", b"the secret")
    # Without it the request goes on, anonymous, for the origin to answer.
    send(proxy.authority, RawRequest("GET", f"/{bucket}/secret.txt"))
    assert proxy.origin_requests() == before + 1


class _Recorder(StandIn):
    """An origin that answers 200 to anything and keeps the headers it received."""

    received: list = []

    def status(self) -> int:
        return 200

    def do_GET(self):
        self.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        self.answer(self.status())


def exchange_at_origin(sent: dict):
    """The answer, and the headers a recording origin behind the shipped configuration
    receives, of a signed GET from 127.0.0.1 that carries `sent` besides."""
    _Recorder.received = []
    with stand_in_origin(_Recorder) as config:
        with Envoy(config) as envoy:
            request = sign_header(envoy.authority, "GET", "/bucket/key")
            for name, value in sent.items():
                request = request.with_header(name, value)
            answer = send(envoy.authority, request)
    assert answer.status == 200
    # Envoy's health checks of the origin come in too.
    [headers] = [h for path, h in _Recorder.received if path.startswith("/bucket/key")]
    return answer, headers


def headers_at_origin(sent: dict) -> dict:
    """The headers the origin receives of `exchange_at_origin`'s GET."""
    return exchange_at_origin(sent)[1]


def test_the_origin_learns_the_client_address_from_envoy_not_from_the_client():
    """MinIO takes the client's address for aws:SourceIp and its logs from X-Forwarded-For,
    X-Real-IP or Forwarded, which no client signs: the shipped configuration writes
    X-Forwarded-For itself and removes the others, after the filter."""
    headers = headers_at_origin({
        "X-Forwarded-For": "10.1.2.3",
        "X-Real-IP": "10.1.2.3",
        "Forwarded": "for=10.1.2.3",
        "X-Forwarded-Host": "evil.example",
        # SeaweedFS tries these as the signed host and path; MinIO reads the scheme.
        "X-Forwarded-Scheme": "https",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Prefix": "/other",
    })
    assert headers["x-forwarded-for"] == "127.0.0.1"
    for name in ("x-real-ip", "forwarded", "x-forwarded-host", "x-forwarded-scheme", "x-forwarded-port",
                 "x-forwarded-prefix"):
        assert name not in headers, name


def test_no_unsigned_header_asks_for_another_method_or_url():
    """Web frameworks and front servers take the method from X-HTTP-Method-Override (and its
    kin) and the URL from X-Original-URL or X-Rewrite-URL (IIS, Symfony): no S3 server here
    does, but one behind such a layer would run a presigned GET as a DELETE (a red team saw
    them forwarded, 2026-12-04). The shipped configurations remove them, after the filter."""
    headers = headers_at_origin({
        "X-HTTP-Method-Override": "DELETE",
        "X-HTTP-Method": "DELETE",
        "X-Method-Override": "DELETE",
        "X-Original-URL": "/bucket/other",
        "X-Rewrite-URL": "/bucket/other",
        # Their kin, from nginx, Traefik and Apache's front servers (a red team, same day).
        "X-Original-URI": "/bucket/other",
        "X-Forwarded-Uri": "/bucket/other",
        "X-Host": "other.example",
        "X-Forwarded-Server": "other.example",
    })
    for name in ("x-http-method-override", "x-http-method", "x-method-override", "x-original-url",
                 "x-rewrite-url", "x-original-uri", "x-forwarded-uri", "x-host", "x-forwarded-server"):
        assert name not in headers, name


def test_no_client_counts_as_internal():
    """A client Envoy counts as internal has its retries, timeouts and hedging taken from its
    x-envoy-* headers (the filter removes those: class 1c), its x-request-id kept (the id of
    the access log, the filter's log lines and its error answers) and its other x-envoy-*
    headers (forced tracing, decorators) passed on. The shipped configurations meant to count
    no client so with `internal_address_config: {}`, but with no range Envoy falls back to its
    old rule, RFC 1918 and loopback addresses internal: this loopback client was (a red team,
    2026-12-03).
    They now list one range, 0.0.0.0/32, no client's address."""
    headers = headers_at_origin({
        "x-request-id": "client-chosen-id",
        "x-envoy-force-trace": "1",
        "x-envoy-decorator-operation": "op",
        "x-envoy-downstream-service-cluster": "c",
        "x-envoy-ip-tags": "t",
    })
    assert "x-envoy-internal" not in headers, headers
    assert headers.get("x-request-id") not in (None, "client-chosen-id"), headers
    assert not {"x-envoy-force-trace", "x-envoy-decorator-operation", "x-envoy-downstream-service-cluster",
                "x-envoy-ip-tags"} & set(headers), headers


def test_no_header_tells_what_envoy_s_router_did():
    """The shipped router adds no x-envoy-* headers (`suppress_envoy_headers`): the answer has
    no x-envoy-upstream-service-time, which told a client which of its requests got past the
    filter and how long the origin took (and s3cmd copied it into the metadata of `modify`),
    and the origin gets none of the router's either (x-envoy-expected-rq-timeout-ms, were a
    route given a timeout)."""
    r, headers = exchange_at_origin({})
    assert not [name for name in r.headers if name.lower().startswith("x-envoy-")], r.headers
    # The connection manager's own, the client's address it saw, is not the router's.
    assert {name.lower() for name in headers if name.lower().startswith("x-envoy-")} <= {"x-envoy-external-address"}, headers


class _Unavailable(_Recorder):
    """An origin that answers 503 to every request for a bucket and keeps its headers."""

    received: list = []

    def status(self) -> int:
        return 503 if self.path.startswith("/bucket/") else 200

    do_POST = _Recorder.do_GET


def test_a_client_envoy_counts_as_internal_cannot_steer_the_router():
    """Envoy's router takes retries, timeouts and hedging from the headers of a client it counts
    as internal (`internal_address_config`; Envoys before 1.36 could count any private
    address): a signed request went to the backup origin after the primary refused it, a
    signed POST ran at two (red teams, 2026-12-02). The filter removes them; Envoy's own
    x-envoy-internal shows the client was internal."""
    _Unavailable.received = []
    steering = {
        "x-envoy-retry-on": "5xx,retriable-status-codes",
        "x-envoy-retriable-status-codes": "503",
        "x-envoy-max-retries": "3",
        "x-envoy-upstream-rq-per-try-timeout-ms": "2000",
        "x-envoy-hedge-on-per-try-timeout": "true",
    }
    with stand_in_origin(_Unavailable) as config:
        hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        hcm["internal_address_config"] = {"cidr_ranges": [{"address_prefix": "127.0.0.1", "prefix_len": 32}]}
        with Envoy(config) as envoy:
            for method, path in (("GET", "/bucket/key"), ("POST", "/bucket/key?uploads")):
                request = sign_header(envoy.authority, method, path)
                for name, value in steering.items():
                    request = request.with_header(name, value)
                assert send(envoy.authority, request).status == 503
    sent = [(path, headers) for path, headers in _Unavailable.received if path.startswith("/bucket/")]
    assert [path for path, _ in sent] == ["/bucket/key", "/bucket/key?uploads"], "each tried once"
    for _, headers in sent:
        assert headers.get("x-envoy-internal") == "true"
        assert not set(steering) & set(headers), headers


class _TrailerRecorder(StandIn):
    """An origin that reads a chunked body to its end, trailers included, and keeps it raw."""

    protocol_version = "HTTP/1.1"
    received: list = []

    def do_PUT(self):
        raw = b""
        try:
            while True:
                size = self.rfile.readline()
                raw += size
                if not size or int(size.split(b";")[0], 16) == 0:
                    break
                raw += self.rfile.read(int(size.split(b";")[0], 16) + 2)
            while (line := self.rfile.readline()) not in (b"\r\n", b""):
                raw += line
        except (ConnectionError, ValueError):
            pass
        self.received.append(raw)
        self.answer()

    do_GET = do_PUT


def test_http_trailers_are_refused():
    """Found by an attack run (2026-12-01): nothing signs HTTP trailers, and an upstream that
    carries them (HTTP/2, or HTTP/1 with `enable_trailers`, as here) delivered an unsigned
    `x-amz-acl` to the origin after a verified request's body. Such a request is refused."""
    _TrailerRecorder.received = []
    trailers = {"enable_trailers": True}
    with stand_in_origin(_TrailerRecorder) as config:
        listener = config["static_resources"]["listeners"][0]
        listener["filter_chains"][0]["filters"][0]["typed_config"]["http_protocol_options"] = trailers
        config["static_resources"]["clusters"][0]["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http_protocol_options": trailers},
            }
        }
        with Envoy(config) as envoy:
            # An unsigned body, and one whose signed SHA-256 the filter checks as it streams.
            for payload_hash in ("UNSIGNED-PAYLOAD", None):
                signed = sign_header(envoy.authority, "PUT", "/bucket/key", {}, b"hello", payload_hash=payload_hash)
                head = f"PUT {signed.target} HTTP/1.1\r\nHost: {envoy.authority}\r\nTransfer-Encoding: chunked\r\n"
                head += "".join(f"{n}: {v}\r\n" for n, v in signed.headers if n.lower() != "content-length") + "\r\n"
                body = b"5\r\nhello\r\n0\r\nx-amz-acl: public-read\r\n\r\n"
                with socket.create_connection(("127.0.0.1", envoy.port), timeout=10) as s:
                    s.sendall(head.encode() + body)
                    answer = s.recv(65536)
                assert answer.startswith(b"HTTP/1.1 400"), answer
                assert b"<Code>InvalidRequest</Code>" in answer and b"trailers" in answer, answer
                # Without trailers the same request goes on, body and all.
                plain = head.encode() + b"5\r\nhello\r\n0\r\n\r\n"
                with socket.create_connection(("127.0.0.1", envoy.port), timeout=10) as s:
                    s.sendall(plain)
                    assert s.recv(65536).startswith(b"HTTP/1.1 200")
    assert not any(b"x-amz-acl" in raw for raw in _TrailerRecorder.received), _TrailerRecorder.received
    assert any(b"hello" in raw for raw in _TrailerRecorder.received)


def test_a_body_on_a_method_that_carries_none_is_refused(proxy, origin_s3, bucket):
    """Found by an attack run (2026-12-01): a GET signed over the empty body reached the origin
    with a body that was itself an HTTP request. Envoy frames it by Content-Length, and s3s-fs
    and Garage drain it, but an origin ignoring a GET's Content-Length would read it as the
    next request on an upstream connection other clients share. Only PUT and POST carry a body."""
    origin_s3.put_object(Bucket=bucket, Key="k", Body=b"object")
    smuggled = b"GET /other HTTP/1.1\r\nHost: s3.example.com\r\n\r\n"
    for method in ("GET", "HEAD", "DELETE"):
        signed = presign(proxy.authority, method, f"/{bucket}/k")
        r = send(proxy.authority, RawRequest(method, signed.target, signed.headers + [("Content-Length", str(len(smuggled)))], smuggled))
        assert r.status == 400, (method, r.status, r.body)
        if method != "HEAD":
            assert error_code(r) == "InvalidRequest" and b"Only PUT and POST" in r.body, r.body
    assert origin_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"object"
    # Over HTTP/2 a body may come in DATA frames its head never announced: refused at its
    # first byte, before any of it goes on.
    signed = presign(proxy.authority, "GET", f"/{bucket}/k")
    headers = [(n.lower().encode(), v.encode()) for n, v in signed.headers if n.lower() != "host"]
    r = send_h2(proxy.authority, "GET", signed.target.encode(), proxy.port, headers, body=smuggled)
    assert r.status == 400 and b"Only PUT and POST" in r.body, r
    # Without a body (or with an empty one) they go on.
    assert send_h2(proxy.authority, "GET", signed.target.encode(), proxy.port, headers).body == b"object"
    signed = presign(proxy.authority, "GET", f"/{bucket}/k")
    assert send(proxy.authority, RawRequest("GET", signed.target, signed.headers + [("Content-Length", "0")])).body == b"object"
    assert send(proxy.authority, signed).body == b"object"


@pytest.mark.every_origin
def test_a_head_that_says_nothing_of_its_body_waits_for_it(proxy, origin_s3, bucket):
    """Found by a compatibility sweep (CS123, 2026-12-06): over HTTP/2 the JS SDK v3 sends
    each bodiless request as a head without `content-length`, then an empty DATA frame that
    ends the stream. Envoy framed it for the HTTP/1 origin as an empty chunked body, which
    s3s-fs answers 411 (a GET too) and Ceph 411 or 501. Such a head now waits in the filter for
    its body's first byte or end, and an empty body goes on with `content-length: 0`. A byte of
    a body on a method that carries none is refused before the head goes on: Garage had deleted
    the object of a signed DELETE whose body was then refused (an attack run, 2026-12-03)."""
    origin_s3.put_object(Bucket=bucket, Key="k", Body=b"object")

    def h2(method: str, key: str, body: bytes = b"", end_late: float = 0.2):
        signed = presign(proxy.authority, method, f"/{bucket}/{key}")
        headers = [(n.lower().encode(), v.encode()) for n, v in signed.headers if n.lower() != "host"]
        return send_h2(proxy.authority, method, signed.target.encode(), proxy.port, headers, body, end_late=end_late)

    r = h2("GET", "k")
    assert (r.status, r.body) == (200, b"object"), r
    r = h2("PUT", "empty")
    assert r.status == 200, r
    assert origin_s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""
    for body in (b"x", b"GET /other HTTP/1.1\r\nHost: s3.example.com\r\n\r\n"):
        before = proxy.origin_requests()
        r = h2("DELETE", "k", body, end_late=0)
        assert r.status == 400 and b"Only PUT and POST" in r.body, r
        assert proxy.origin_requests() == before
    assert origin_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"object"
    assert h2("DELETE", "k").status == 204


def test_a_head_waiting_for_a_body_that_never_comes_is_answered(make_proxy, bucket):
    """Found by a sweep (CS127, 2026-12-06): a head held for a body it said nothing of was
    timed only by Envoy's idle timeouts, which an operator may turn off (it waited 25 s and
    counting). It is timed as a silent hold is (`held_body_timeout_seconds`): answered 400
    `RequestTimeout` by the filter's tick, nothing having gone on."""
    proxy = make_proxy(held_body_timeout_seconds=1)
    signed = sign_header(proxy.authority, "PUT", f"/{bucket}/never", payload_hash="UNSIGNED-PAYLOAD")
    headers = [(n.lower().encode(), v.encode()) for n, v in signed.headers
               if n.lower() not in ("host", "content-length")]
    before = proxy.origin_requests()
    started = time.monotonic()
    r = send_h2(proxy.authority, "PUT", signed.target.encode(), proxy.port, headers, end_stream=False)
    assert r.status == 400 and b"<Code>RequestTimeout</Code>" in r.body, r
    assert 1 <= time.monotonic() - started < 10
    assert proxy.origin_requests() == before
    assert f"rejected PUT /{bucket}/never (access key CLIENTKEY): RequestTimeout: " in proxy.log_text()
    assert "its head waited for a body that never reached the filter" in proxy.log_text()


def test_a_canned_acl_whose_head_says_nothing_of_its_body_needs_no_digest(proxy, bucket):
    """Found by a compatibility sweep (CS123 F2, 2026-12-06): a canned-ACL `PUT ?acl` (the ACL
    in `x-amz-acl`, no document) sent over HTTP/2 as a head without `content-length` and an
    empty DATA frame was refused at the head for the digest S3 requires of an ACL document,
    though it passed over HTTP/1 or with its head ending the stream. The head now waits for the
    body: an empty one goes on, a first byte without a digest is refused before anything does."""
    signed = {
        "presigned": presign(proxy.authority, "PUT", f"/{bucket}/k?acl", {"x-amz-acl": "private"}),
        "header-signed": sign_header(proxy.authority, "PUT", f"/{bucket}/k?acl", {"x-amz-acl": "private"},
                                     payload_hash="UNSIGNED-PAYLOAD"),
    }
    for kind, request in signed.items():
        headers = [(n.lower().encode(), v.encode()) for n, v in request.headers
                   if n.lower() not in ("host", "content-length")]

        def h2(body: bytes, end_late: float, extra=(), method: str = "PUT"):
            return send_h2(proxy.authority, method, request.target.encode(), proxy.port,
                           headers + list(extra), body, end_late=end_late)

        # The origin answers it as it answers the same request ending with `content-length: 0`
        # (s3s-fs and Garage implement no ACLs: 501), not as an empty chunked body (411).
        reference = send_h2(proxy.authority, "PUT", request.target.encode(), proxy.port,
                            headers + [(b"content-length", b"0")])
        before = proxy.origin_requests()
        r = h2(b"", 0.2)
        assert (r.status, error_code(r)) == (reference.status, error_code(reference)), (kind, r)
        assert r.status != 411 and proxy.origin_requests() == before + 1, (kind, r)
        r = h2(b"<AccessControlPolicy/>", 0)
        assert r.status == 400 and b"Missing required header" in r.body, (kind, r)
        # What an attacker holding the request would change, each unsigned: a grant header
        # beside the canned ACL, another method. Refused at the head, the origin untouched.
        r = h2(b"", 0.2, [(b"x-amz-grant-full-control", b"id=attacker")])
        assert r.status == 403 and error_code(r) == "AccessDenied", (kind, r)
        r = h2(b"", 0.2, method="POST")
        assert r.status == 403 and error_code(r) == "SignatureDoesNotMatch", (kind, r)
        assert proxy.origin_requests() == before + 1, kind


def passing_100_continue_on(origin) -> Envoy:
    """Envoy + filter with the connection manager's `proxy_100_continue`: Envoy passes
    `Expect: 100-continue` on for the origin to answer, instead of answering it itself."""
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=filter_config_json(origin))
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["proxy_100_continue"] = True
    return Envoy(config)


def test_a_head_whose_client_waits_for_100_continue_is_not_held(origin, origin_s3, bucket):
    """With the connection manager's `proxy_100_continue` Envoy passes `Expect: 100-continue`
    on for the origin to answer; a head held for its body's first byte would then wait on a
    client that waits for the 100 (a review, 2026-12-06: curl stalled for its one-second expect
    timeout, a client waiting for the 100 hung). Such a head goes on at once."""
    with passing_100_continue_on(origin) as envoy:
        signed = presign(envoy.authority, "PUT", f"/{bucket}/continued")
        head = (f"PUT {signed.target} HTTP/1.1\r\nHost: {envoy.authority}\r\n"
                "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", envoy.port), timeout=5) as conn:
            conn.sendall(head)
            assert conn.recv(65536).startswith(b"HTTP/1.1 100 Continue"), "the origin's 100 never came"
            conn.sendall(b"5\r\nhello\r\n0\r\n\r\n")
            answer = conn.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert origin_s3.get_object(Bucket=bucket, Key="continued")["Body"].read() == b"hello"


def test_where_heads_cannot_wait_none_waits(make_proxy, bucket):
    """Istio's WasmPlugin and Envoy Gateway cannot set Envoy's `allow_on_headers_stop_iteration`:
    there a head the filter held for its body would wait until the stream timed out. With the
    filter's `allow_on_headers_stop_iteration: false` (their manifests set it) it holds none: a
    head that says nothing of its body goes on at once (for the origin to frame, as Envoy
    does), and a signed POST typed as a form is judged by its head alone."""
    proxy = make_proxy(allow_on_headers_stop_iteration=False)

    def h2_open(method: str, target: str, extra: dict | None = None):
        """The head alone, the stream left open: answered only by what does not wait."""
        signed = sign_header(proxy.authority, method, target, extra or {}, payload_hash="UNSIGNED-PAYLOAD")
        headers = [(n.lower().encode(), v.encode()) for n, v in signed.headers
                   if n.lower() not in ("host", "content-length")]
        return send_h2(proxy.authority, method, signed.target.encode(), proxy.port, headers, end_stream=False)

    form = h2_open("POST", f"/{bucket}/typed?uploads", {"Content-Type": "multipart/form-data; boundary=x"})
    assert form.status == 400 and b"A browser upload" in form.body, form
    before = proxy.origin_requests()
    got = h2_open("GET", f"/{bucket}/absent")
    assert proxy.origin_requests() == before + 1 and b"A browser upload" not in got.body, got


@pytest.mark.parametrize("heads", ["wait", "cannot-wait", "wait-for-100-continue"])
def test_a_body_whose_length_the_connection_header_hides_is_refused_with_the_head(request, origin, make_proxy,
                                                                                   origin_s3, bucket, heads):
    """Found by an attack run (2026-12-01): `Connection: content-length` has Envoy frame the
    body by the header and then remove it, so the filter saw no body announced, let the head of
    a presigned DELETE go on and refused the body only at its first byte; sent a moment later,
    the DELETE had run. Over HTTP/1 a head that does not end the stream frames a body. Where
    heads may wait for their body (the default) the held head refuses that byte first; where
    they cannot (`allow_on_headers_stop_iteration: false`, as Istio's and Envoy Gateway's
    manifests set it), or where its client waits for a `100 Continue` the origin is to send
    (`proxy_100_continue`), only the check of the head stands (RV137: its HTTP/1 half removed,
    the first case still passes)."""
    if heads == "wait-for-100-continue":
        proxy = passing_100_continue_on(origin)
        request.addfinalizer(proxy.stop)
        expect = "Expect: 100-continue\r\n"
    else:
        proxy = make_proxy(allow_on_headers_stop_iteration=heads == "wait")
        expect = ""
    smuggled = b"GET /other HTTP/1.1\r\nHost: s3.example.com\r\n\r\n"
    for hidden in ("content-length", "transfer-encoding"):
        origin_s3.put_object(Bucket=bucket, Key="victim", Body=b"kept")
        before = proxy.origin_requests()
        signed = presign(proxy.authority, "DELETE", f"/{bucket}/victim")
        framing = (f"Content-Length: {len(smuggled)}\r\n\r\n".encode(), smuggled) if hidden == "content-length" \
            else (b"Transfer-Encoding: chunked\r\n\r\n", b"%x\r\n%s\r\n0\r\n\r\n" % (len(smuggled), smuggled))
        head = (f"DELETE {signed.target} HTTP/1.1\r\nHost: {proxy.authority}\r\n"
                f"{expect}Connection: {hidden}\r\n").encode() + framing[0]
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as conn:
            conn.sendall(head)
            time.sleep(0.3)  # the head alone, as a slow client sends it
            try:
                conn.sendall(framing[1])
            except OSError:
                pass  # answered and closed already
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400"), (hidden, answer[:300])
        assert proxy.origin_requests() == before, (hidden, "the head went on")
        assert origin_s3.get_object(Bucket=bucket, Key="victim")["Body"].read() == b"kept", hidden


def test_a_form_s_head_in_pieces_holds_the_request_until_it_is_verified(proxy, origin_s3, bucket):
    """A browser form whose fields come in two pieces: until the piece that completes its head
    (and its policy's verification) nothing of the request reaches the origin, and a tampered
    policy then keeps it from the origin altogether (RV137: a piece of a pending head let go
    with `Continue`, and the form's request head released before its check, no test failed)."""
    client = s3_client(proxy.endpoint)
    head, body = browser_form_in_two(client, bucket, "pieces.txt", b"the file")
    tampered = re.sub(rb'(name="policy"\r\n\r\n[A-Za-z0-9+/=]*?)[A-Za-z0-9+/]{4}(=*\r\n)', rb"\1AAAA\2", body, count=1)
    assert tampered != body
    cut = tampered.index(b'name="policy"')
    before = proxy.origin_requests()
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        sock.sendall(head.encode() + tampered[:cut])
        time.sleep(0.5)
        assert proxy.origin_requests() == before, "the form's request went on before its head was verified"
        sock.sendall(tampered[cut:])
        answer = sock.recv(65536)
    assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 403")), answer[:300]
    assert proxy.origin_requests() == before
    with pytest.raises(ClientError):
        origin_s3.head_object(Bucket=bucket, Key="pieces.txt")


def test_a_signed_chunked_upload_whose_head_ends_the_stream_never_reaches_the_origin(proxy, origin_s3, bucket):
    """A signed aws-chunked PUT sent with its head alone (`Content-Length: 0` over HTTP/1, the
    head ending the stream over HTTP/2), as one holding another's signed head could send it:
    an aws-chunked body has at least its final chunk, so it is refused at the head and the
    origin gets nothing (RV137: the filter's refusal of a chunked body that cannot come
    removed, no test failed; the re-signed head went on with nothing to verify)."""
    origin_s3.put_object(Bucket=bucket, Key="kept", Body=b"kept")
    signed = chunked_put(proxy.authority, f"/{bucket}/kept", b"the signed data", sign_content_length=False)
    before = proxy.origin_requests()
    headers = [(n, v) for n, v in signed.headers if n.lower() != "content-length"]
    r = send(proxy.authority, RawRequest("PUT", signed.target, headers + [("Content-Length", "0")], b""))
    assert (r.status, error_code(r)) == (400, "IncompleteBody"), r.body
    h2_headers = [(n.lower().encode(), v.encode()) for n, v in headers if n.lower() != "host"]
    r = send_h2(proxy.authority, "PUT", signed.target.encode(), proxy.port, h2_headers)
    assert (r.status, error_code(r)) == (400, "IncompleteBody"), r
    assert proxy.origin_requests() == before
    assert origin_s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"kept"
