"""Browser uploads through the proxy: forms made by boto3's `generate_presigned_post` (SigV4,
and SigV2 with `signature_version="s3"`), posted with `requests` as a browser posts them, to
s3s-fs, which checks the policy's signature itself with the origin keys. And CORS preflights,
which reach the origin unsigned and nothing else does."""

import re
import shutil
import socket
import subprocess
import time
from dataclasses import replace

import pytest
import requests
from botocore.exceptions import ClientError

from harness import Envoy, StandIn, stand_in_origin
from harness.clients import RawRequest, s3_client, send, send_h2, sign_header, target_of
from harness.programs import LENGTHLESS_BODY
from harness.envoy_config import ORIGIN_KEY, ORIGIN_SECRET

KB = 1024


def form_for(client, bucket, key, conditions=None, fields=None, expires=300):
    return client.generate_presigned_post(
        Bucket=bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires
    )


def post(proxy, form, data: bytes, filename="photo.jpg", extra_fields=None, content_type="image/jpeg"):
    """POSTs the form to the proxy's address, with the form's own URL (its path and Host)."""
    url = form["url"]
    fields = dict(form["fields"])
    fields.update(extra_fields or {})
    files = {"file": (filename, data, content_type)}
    return requests.post(url.replace("localhost", "127.0.0.1"), data=fields, files=files, timeout=30,
                         headers={"Host": url.split("/")[2]})


def post_body(url, prepared, body: bytes):
    """POSTs `body` in place of the prepared form's own (same boundary), as `post` does."""
    return requests.post(url.replace("localhost", "127.0.0.1"), data=body, timeout=30,
                         headers={"Host": url.split("/")[2], "Content-Type": prepared.headers["Content-Type"]})


def stored(origin_s3, bucket, key):
    try:
        obj = origin_s3.get_object(Bucket=bucket, Key=key)
        return obj["Body"].read(), obj.get("ContentType"), obj["Metadata"]
    except ClientError:
        return None


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_a_browser_upload_with_conditions(proxy, origin_s3, bucket, signature_version):
    client = s3_client(proxy.endpoint, signature_version=signature_version)
    # (A key of "uploads/${filename}" verifies too, but s3s-fs 0.14.1 stores it literally,
    # posted directly as well: it does not substitute the file name.)
    form = form_for(
        client, bucket, "uploads/cat.jpg",
        fields={"Content-Type": "image/jpeg", "x-amz-meta-owner": "alice", "success_action_status": "201"},
        conditions=[
            ["content-length-range", 1, 64 * KB],
            ["starts-with", "$key", "uploads/"],
            {"Content-Type": "image/jpeg"},
            {"x-amz-meta-owner": "alice"},
            {"success_action_status": "201"},
        ],
    )
    before = proxy.prometheus().get('s3_resign_requests_total{kind="post_policy"}', 0)
    r = post(proxy, form, b"\xff\xd8JPEG" * 100, filename="cat.jpg")
    assert r.status_code == 201, r.text
    assert stored(origin_s3, bucket, "uploads/cat.jpg") == (b"\xff\xd8JPEG" * 100, "image/jpeg", {"owner": "alice"})
    assert proxy.prometheus()['s3_resign_requests_total{kind="post_policy"}'] == before + 1


@pytest.mark.every_origin
@pytest.mark.parametrize("client", ["curl", "frames-7-no-length"])
def test_a_browser_upload_over_http2(h2_proxy, origin_s3, bucket, tmp_path, client, origin_deviation):
    """Browsers post forms over HTTP/2 wherever the listener offers h2: curl -F as one does
    (a Content-Length, DATA frames of 16 KiB), and the same form in DATA frames of 7 bytes and
    no Content-Length (HTTP/2 needs none): the head, each field and the file's boundary come
    cut anywhere while the filter holds the head."""
    if client != "curl":
        origin_deviation(LENGTHLESS_BODY)
    if client == "curl" and shutil.which("curl") is None:
        pytest.skip("curl is not installed: apt-get install -y curl")
    form = form_for(s3_client(h2_proxy.endpoint), bucket, "h2/photo.jpg",
                    conditions=[["content-length-range", 1, 64 * KB]])
    data = b"\xff\xd8JPEG" * 3000
    with h2_proxy.speaking("HTTP/2"):
        if client == "curl":
            photo = tmp_path / "photo.jpg"
            photo.write_bytes(data)
            fields = [arg for name, value in form["fields"].items() for arg in ("-F", f"{name}={value}")]
            done = subprocess.run(["curl", "-sS", "--cacert", h2_proxy.ca_bundle, "-o", "/dev/null", "-w",
                                   "%{http_version} %{http_code}", *fields, "-F", f"file=@{photo}", form["url"]],
                                  capture_output=True, text=True, timeout=30)
            assert done.stdout == "2 204", done.stderr
        else:
            prepared = requests.Request("POST", form["url"], data=form["fields"],
                                        files={"file": ("photo.jpg", data, "image/jpeg")}).prepare()
            r = send_h2(h2_proxy.authority, "POST", target_of(form["url"]).encode(), h2_proxy.port,
                        [(b"content-type", prepared.headers["Content-Type"].encode())], prepared.body,
                        ca=h2_proxy.ca_bundle, frame=7)
            assert r.status == 204, r.body
    assert stored(origin_s3, bucket, "h2/photo.jpg")[0] == data


def test_a_file_over_the_range_leaves_no_object(proxy, origin_s3, bucket):
    client = s3_client(proxy.endpoint)
    form = form_for(client, bucket, "small.bin", conditions=[["content-length-range", 1, 10 * KB]])
    r = post(proxy, form, b"x" * (200 * KB))
    assert r.status_code == 400 and "EntityTooLarge" in r.text, r.text
    assert stored(origin_s3, bucket, "small.bin") is None
    # Within the range, the same form stores.
    assert post(proxy, form, b"x" * KB).status_code == 204
    assert stored(origin_s3, bucket, "small.bin")[0] == b"x" * KB


@pytest.mark.every_origin
@pytest.mark.parametrize("pinned, free", [("x-amz-checksum-sha256", None), ("Content-MD5", None),
                                          ("Content-MD5", "x-amz-checksum-sha256"),
                                          ("x-amz-checksum-sha512", None), ("x-amz-checksum-md5", None)])
def test_a_form_pinning_its_file_by_digest_stores_that_file_only(proxy, origin_s3, bucket, pinned, free):
    """A policy with `{"x-amz-checksum-sha256": …}` allows one file; s3s-fs compares the field
    only after storing the file, Garage not at all: the filter refuses any other file before
    the form's end reaches the origin. Every digest field counts, also beside one the policy
    leaves free for the poster to fill with the digest of another file (a review). S3's SHA-512
    and MD5 checksum fields (2025) pinned nothing (a red team, 2026-12-05)."""
    import base64
    import hashlib

    def digest(name, data):
        algorithm = name.removeprefix("x-amz-checksum-") if name.startswith("x-amz") else "md5"
        return base64.b64encode(hashlib.new(algorithm, data).digest()).decode()

    approved, other = b"the approved file\n" * 100, b"ATTACKER FILE, NOT APPROVED"
    origin_s3.put_object(Bucket=bucket, Key="pinned.txt", Body=b"ORIGINAL")
    conditions = [{pinned: digest(pinned, approved)}] + ([["starts-with", f"${free}", ""]] if free else [])

    def form(content):
        fields = {pinned: digest(pinned, approved)} | ({free: digest(free, content)} if free else {})
        return form_for(s3_client(proxy.endpoint), bucket, "pinned.txt", fields=fields, conditions=conditions)

    r = post(proxy, form(other), other)
    assert r.status_code == 400 and "<Code>BadDigest</Code>" in r.text, r.text
    assert stored(origin_s3, bucket, "pinned.txt")[0] == b"ORIGINAL"
    r = post(proxy, form(approved), approved)
    assert r.status_code == 204, r.text
    assert stored(origin_s3, bucket, "pinned.txt")[0] == approved


@pytest.mark.every_origin
def test_a_form_valid_for_years_uploads_under_a_policy_capped_for_the_origin(proxy, origin_s3, bucket):
    """The origin-signed copy of a ten-year policy expires a week after the upload (the origin
    key signed it); the upload works all the same, the origin checking the capped policy."""
    form = form_for(s3_client(proxy.endpoint), bucket, "years.txt", expires=10 * 365 * 86400,
                    conditions=[["content-length-range", 1, 1024]])
    r = post(proxy, form, b"for years")
    assert r.status_code == 204, r.text
    assert stored(origin_s3, bucket, "years.txt")[0] == b"for years"


def test_forms_for_another_bucket_or_key_are_refused(proxy, origin_s3, bucket):
    client = s3_client(proxy.endpoint)
    other = f"{bucket}-other"
    origin_s3.create_bucket(Bucket=other)
    form = form_for(client, bucket, "users/alice/photo.jpg", conditions=[["starts-with", "$key", "users/alice/"]])
    before = proxy.origin_requests()
    # The form posted to another bucket.
    moved = dict(form, url=form["url"].replace(f"/{bucket}", f"/{other}"))
    r = post(proxy, moved, b"data")
    assert r.status_code == 403 and "AccessDenied" in r.text, r.text
    # Another key than the policy allows.
    r = post(proxy, form, b"data", extra_fields={"key": "users/bob/photo.jpg"})
    assert r.status_code == 403 and "Invalid according to Policy" in r.text, r.text
    # A field the policy does not name.
    r = post(proxy, form, b"data", extra_fields={"x-amz-meta-extra": "1"})
    assert r.status_code == 403 and "Extra input fields" in r.text, r.text
    # A tampered policy.
    tampered = dict(form, fields=dict(form["fields"], policy=form["fields"]["policy"][:-4] + "AAAA"))
    assert post(proxy, tampered, b"data").status_code in (400, 403)
    assert proxy.origin_requests() == before
    assert stored(origin_s3, other, "users/alice/photo.jpg") is None
    assert stored(origin_s3, bucket, "users/bob/photo.jpg") is None


def test_without_credential_translation_the_form_passes_untouched(make_proxy, origin_s3, bucket):
    """Clients that hold the origin's own key pair: the form goes on byte for byte."""
    proxy = make_proxy(credentials=[{"access_key_id": ORIGIN_KEY, "secret_access_key": ORIGIN_SECRET}])
    client = s3_client(proxy.endpoint, ORIGIN_KEY, ORIGIN_SECRET)
    form = form_for(client, bucket, "direct.txt")
    assert post(proxy, form, b"same keys", content_type="text/plain").status_code == 204
    assert stored(origin_s3, bucket, "direct.txt")[0] == b"same keys"


def test_a_form_with_an_unsigned_amz_header_is_refused(proxy, origin_s3, bucket):
    client = s3_client(proxy.endpoint)
    form = form_for(client, bucket, "headers.txt")
    url = form["url"]
    r = requests.post(url.replace("localhost", "127.0.0.1"), data=form["fields"],
                      files={"file": ("a.txt", b"x", "text/plain")}, timeout=30,
                      headers={"Host": url.split("/")[2], "x-amz-server-side-encryption-customer-algorithm": "AES256"})
    assert r.status_code == 403 and "HeadersNotSigned" in r.text, r.text
    # Nor a payload hash, which other requests may leave unsigned: a form has none, and an
    # origin might decode a framing it names (an attack run saw it pass, 2026-12-04).
    r = requests.post(url.replace("localhost", "127.0.0.1"), data=form["fields"],
                      files={"file": ("a.txt", b"x", "text/plain")}, timeout=30,
                      headers={"Host": url.split("/")[2], "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"})
    assert r.status_code == 400 and "<Code>InvalidArgument</Code>" in r.text, r.text
    assert stored(origin_s3, bucket, "headers.txt") is None


def test_cors_preflight_reaches_the_origin_unsigned_and_nothing_else_does(proxy, origin, bucket):
    before = proxy.origin_requests()
    preflight = RawRequest("OPTIONS", f"/{bucket}/photo.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00",
                           [("Origin", "https://app.example"), ("Access-Control-Request-Method", "PUT")])
    r = send(proxy.authority, preflight)
    assert proxy.origin_requests() == before + 1, r.body
    # The origin's own answer (s3s-fs has no CORS rules), not the filter's refusal.
    assert b"Anonymous requests" not in r.body
    # What reached the origin carries no query: no signature of the client's goes on.
    log = origin.log_text()
    assert "X-Amz-Signature=00" not in log
    # An OPTIONS that is not a preflight is an ordinary, unsigned request: refused.
    for headers in ([("Origin", "https://app.example")], [("Access-Control-Request-Method", "PUT")], []):
        r = send(proxy.authority, RawRequest("OPTIONS", f"/{bucket}/photo.jpg", headers))
        assert r.status == 403 and b"AccessDenied" in r.body
    # A preflight carrying an x-amz-* header is refused too.
    r = send(proxy.authority, RawRequest("OPTIONS", f"/{bucket}/photo.jpg", [
        ("Origin", "https://app.example"), ("Access-Control-Request-Method", "PUT"), ("x-amz-acl", "public-read")]))
    assert r.status == 403 and b"HeadersNotSigned" in r.body
    assert proxy.origin_requests() == before + 1
    assert re.search(rb"cors_preflight", proxy.admin_get("/stats"))


def test_a_form_field_an_origin_would_read_under_another_name_is_refused(proxy, origin_s3, bucket):
    """Go's mime package (MinIO) takes `name*=` for a part's name: a field the filter reads as
    `x-ignore-note` (exempt from the policy) would be MinIO's `x-minio-fanout-list`."""
    client = s3_client(proxy.endpoint)
    form = form_for(client, bucket, "fanout.txt")
    url = form["url"]
    fields = dict(form["fields"], **{"x-ignore-note": '{"key":"elsewhere.txt"}'})
    prepared = requests.Request("POST", url, data=fields, files={"file": ("a.txt", b"x", "text/plain")}).prepare()
    disguised = prepared.body.replace(
        b'name="x-ignore-note"', b"name=\"x-ignore-note\"; name*=UTF-8''x-minio-fanout-list")
    assert disguised != prepared.body
    before = proxy.origin_requests()
    r = post_body(url, prepared, disguised)
    assert r.status_code == 400 and "MalformedPOSTRequest" in r.text, r.text
    assert proxy.origin_requests() == before
    assert stored(origin_s3, bucket, "fanout.txt") is None and stored(origin_s3, bucket, "elsewhere.txt") is None
    # The same form, undisguised, uploads.
    r = post_body(url, prepared, prepared.body)
    assert r.status_code == 204, r.text


def test_a_form_whose_parts_end_in_a_semicolon_stores_nothing_but_what_was_signed(proxy, origin_s3, bucket):
    """A `;` ending a part's Content-Disposition passes the filter, as Go's reader (MinIO)
    ignores it. Whatever the origin makes of it, it may store only what the filter verified:
    the signed key with the file's bytes, nothing under another name. (s3s-fs 0.14.1 refuses
    such a form: 400 MalformedPOSTRequest.)"""
    client = s3_client(proxy.endpoint)
    form = form_for(client, bucket, "semicolon.txt", fields={"x-amz-meta-owner": "alice"},
                    conditions=[{"x-amz-meta-owner": "alice"}])
    url = form["url"]
    prepared = requests.Request(
        "POST", url, data=form["fields"], files={"file": ("other-name.txt", b"signed bytes", "text/plain")}
    ).prepare()
    body, parts = re.subn(rb'(Content-Disposition: form-data; name="[^"]+"(?:; filename="[^"]*")?)\r\n',
                          rb"\1;\r\n", prepared.body)
    assert parts == len(form["fields"]) + 1
    r = post_body(url, prepared, body)
    assert stored(origin_s3, bucket, "other-name.txt") is None
    if r.status_code == 204:
        data, _, metadata = stored(origin_s3, bucket, "semicolon.txt")
        assert data == b"signed bytes" and metadata == {"owner": "alice"}
    else:
        assert r.status_code == 400 and "MalformedPOSTRequest" in r.text, r.text
        assert stored(origin_s3, bucket, "semicolon.txt") is None
    # Without the semicolons the same form uploads.
    r = post_body(url, prepared, prepared.body)
    assert r.status_code == 204, r.text
    assert stored(origin_s3, bucket, "semicolon.txt")[0] == b"signed bytes"


@pytest.mark.every_origin
def test_a_form_garage_would_read_under_other_names_is_refused_or_normalised(proxy, origin_s3, bucket):
    """Found by an attack run (2026-12-01): Garage's multipart reader takes a part's name from
    the first lower-case `name=` after white space or `;`, quoted values included, and puts the
    whole file name in place of `${filename}`. A field the filter read as an exempt `x-ignore-`
    one was Garage's `key` (an object stored under a key the filter never checked), `NAME=`
    was a field here and none there, and `filename="dir/a.txt"` was checked as `uploads/a.txt`
    and stored as `uploads/dir/a.txt`. Such names are refused; a file name is cut to its base."""
    client = s3_client(proxy.endpoint)
    form = form_for(client, bucket, "uploads/${filename}", conditions=[["starts-with", "$key", "uploads/"]])
    url = form["url"]
    fields = dict(form["fields"], **{"x-ignore-a": "uploads/not-verified.txt"})
    prepared = requests.Request("POST", url, data=fields, files={"file": ("a.txt", b"x", "text/plain")}).prepare()
    before = proxy.origin_requests()
    for old, new in [(b'name="x-ignore-a"', b'name="x-ignore-a name=key "'), (b'name="key"', b'NAME="key"'),
                     (b'name="file"; filename="a.txt"', b'filename="a.txt"; name="file"')]:
        disguised = prepared.body.replace(old, new)
        assert disguised != prepared.body
        r = post_body(url, prepared, disguised)
        assert r.status_code == 400 and "MalformedPOSTRequest" in r.text, r.text
    assert proxy.origin_requests() == before
    # A file name with a path, or unquoted and followed by a TAB (which ends it here and was
    # part of it at Garage): stored under the key the filter verified.
    for spelling in (b'filename="dir/sub/a.txt"', b"filename=a.txt\t;"):
        r = post_body(url, prepared, prepared.body.replace(b'filename="a.txt"', spelling))
        assert r.status_code == 204, r.text
    keys = [o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert "uploads/not-verified.txt" not in keys and "uploads/dir/sub/a.txt" not in keys, keys
    assert "uploads/a.txt\t" not in keys, keys
    if "uploads/${filename}" not in keys:  # s3s-fs 0.14.1 stores the key literally
        assert keys == ["uploads/a.txt"], keys


@pytest.mark.every_origin
def test_a_signed_post_cannot_carry_a_form(proxy, origin_s3, bucket):
    """Found by an attack run (2026-12-01): origins read a POST whose body is a form as a
    browser upload, whatever its query and its signature. A presigned `POST /bucket`, or a
    header-signed `POST /bucket?x=1`, carried an anonymous form past `anonymous: reject`, and at
    Garage a form with a file its digest field did not pin; a URL remembered by the presigned
    cache while it carried no form carried one on its next repeat."""
    client = s3_client(proxy.endpoint)
    prepared = requests.Request("POST", f"{proxy.endpoint}/{bucket}", data={"key": "wrapped.txt"},
                                files={"file": ("a.txt", b"not checked", "text/plain")}).prepare()
    form_type = prepared.headers["Content-Type"]
    url = client.generate_presigned_url("create_multipart_upload", Params={"Bucket": bucket, "Key": "k"})
    target = url.split(proxy.authority, 1)[1]
    for _ in range(3):  # into the presigned cache, with an innocent body
        assert send(proxy.authority, RawRequest("POST", target, [("Content-Type", "text/plain")], b"")).status == 200
    header = sign_header(proxy.authority, "POST", f"/{bucket}?x=1", {"Content-Type": form_type}, body=prepared.body)
    # Ceph runs an object POST it does not route (`?restore`, `?torrent`, none) as a browser
    # upload keyed and published by the form's fields, under the signer's identity (RT74):
    # a signed RestoreObject carrying a form is refused as one.
    restore = sign_header(proxy.authority, "POST", f"/{bucket}/archived.bin?restore", {"Content-Type": form_type},
                          body=prepared.body, payload_hash="UNSIGNED-PAYLOAD")
    # Without a body the form's type carries no form and goes on (CreateMultipartUpload of an
    # object of that type); the same request with a body, the one thing changed, does not.
    create = sign_header(proxy.authority, "POST", f"/{bucket}/typed?uploads", {"Content-Type": form_type},
                         payload_hash="UNSIGNED-PAYLOAD")
    for bodiless in (RawRequest("POST", target, [("Content-Type", form_type)], b""), create):
        before = proxy.origin_requests()
        r = send(proxy.authority, bodiless)
        assert b"A browser upload" not in r.body and proxy.origin_requests() == before + 1, r.body
    with_body = replace(create, body=prepared.body,
                        headers=[(n, v) for n, v in create.headers if n.lower() != "content-length"])
    # Over HTTP/2 a head may say nothing of its body (no `content-length`, no END_STREAM: the
    # JS SDK v3's CreateMultipartUpload, its end in an empty DATA frame after it). It waits
    # for its body: an empty one goes on, a byte of one is refused, nothing having gone on.
    h2_headers = [(n.lower().encode(), v.encode()) for n, v in create.headers
                  if n.lower() not in ("host", "content-length")]
    before = proxy.origin_requests()
    r = send_h2(proxy.authority, "POST", create.target.encode(), proxy.port, h2_headers, end_late=0.3)
    assert b"A browser upload" not in r.body and proxy.origin_requests() == before + 1, r.body
    for frame in (None, 1):
        before = proxy.origin_requests()
        r = send_h2(proxy.authority, "POST", create.target.encode(), proxy.port, h2_headers, prepared.body,
                    frame=frame, end_late=0.3)
        assert (r.status, re.search(rb"<Code>(\w+)</Code>", r.body)[1]) == (400, b"InvalidArgument"), r.body
        assert proxy.origin_requests() == before
    before = proxy.origin_requests()
    for request in (RawRequest("POST", target, [("Content-Type", form_type)], prepared.body), header, restore,
                    with_body):
        r = send(proxy.authority, request)
        assert (r.status, re.search(rb"<Code>(\w+)</Code>", r.body)[1]) == (400, b"InvalidArgument"), r.body
    assert proxy.origin_requests() == before
    assert stored(origin_s3, bucket, "wrapped.txt") is None


@pytest.mark.every_origin
def test_a_field_value_reaches_the_origin_as_the_text_checked(proxy, origin_s3, bucket):
    """Found by a review (2026-12-01): Garage decodes a field's value by the `charset` of the
    part's `Content-Type` (or a byte-order mark), so `uploads/ESC(B../x` in `iso-2022-jp` was
    checked as sent and stored as `uploads/../x`. A field's `Content-Type` no longer reaches
    the origin, and a value must be UTF-8 text without a byte-order mark."""
    client = s3_client(proxy.endpoint)
    form = form_for(client, bucket, "uploads/x", conditions=[["starts-with", "$key", "uploads/"]])
    url = form["url"]
    prepared = requests.Request("POST", url, data=form["fields"], files={"file": ("a.txt", b"x", "text/plain")}).prepare()
    key_part = b'name="key"\r\n\r\nuploads/x\r\n'
    assert key_part in prepared.body
    escaped = prepared.body.replace(
        key_part, b'name="key"\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n\r\nuploads/\x1b(B../escaped.txt\r\n')
    r = post_body(url, prepared, escaped)
    keys = [o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert "uploads/../escaped.txt" not in keys and "escaped.txt" not in keys, keys
    for value in (b"uploads/caf\xe9.txt", b"\xef\xbb\xbfuploads/bom.txt"):
        r = post_body(url, prepared, prepared.body.replace(key_part, b'name="key"\r\n\r\n' + value + b"\r\n"))
        assert r.status_code == 400 and "MalformedPOSTRequest" in r.text, r.text
    # A file name that is not UTF-8: Garage read none and stored `${filename}` as spelt.
    form = form_for(client, bucket, "uploads/${filename}", conditions=[["starts-with", "$key", "uploads/"]])
    prepared = requests.Request("POST", url, data=form["fields"], files={"file": ("a.txt", b"x", "text/plain")}).prepare()
    r = post_body(url, prepared, prepared.body.replace(b'filename="a.txt"', b'filename="caf\xe9.txt"'))
    assert r.status_code == 400 and "MalformedPOSTRequest" in r.text, r.text


@pytest.mark.every_origin
def test_forms_as_http_libraries_write_them_upload(proxy, origin_s3, bucket):
    """Found by an interoperability run (2026-12-01): OkHttp writes a Content-Length in every
    part, Apache HttpClient a Content-Transfer-Encoding (8bit, binary), .NET a `filename*`
    after the `filename`; the filter refused them all. They change nothing of the content: the
    filter reads past them and the origin gets the parts as browsers write them (s3s-fs, which
    refuses them sent directly, then takes the form)."""
    client = s3_client(proxy.endpoint)
    form = form_for(client, bucket, "lib.txt")
    prepared = requests.Request("POST", form["url"], data=form["fields"],
                                files={"file": ("lib.txt", b"from a library", "text/plain")}).prepare()
    body = re.sub(rb'(Content-Disposition: form-data; name="[^"]+")\r\n\r\n',
                  rb"\1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", prepared.body)
    body = body.replace(b'name="file"; filename="lib.txt"\r\nContent-Type: text/plain\r\n',
                        b"name=\"file\"; filename=\"lib.txt\"; filename*=utf-8''lib.txt\r\n"
                        b"Content-Type: text/plain\r\nContent-Length: 14\r\n")
    assert body.count(b"Content-Transfer-Encoding") == len(form["fields"]) and b"filename*" in body
    r = post_body(form["url"], prepared, body)
    assert r.status_code == 204, r.text
    assert stored(origin_s3, bucket, "lib.txt")[0] == b"from a library"
    # The attacker's version: a `filename*` naming another file and a part length that lies.
    # The origin stores the file the filter read, under the name it checked, whole.
    form = form_for(client, bucket, "up/${filename}", conditions=[["starts-with", "$key", "up/"]])
    prepared = requests.Request("POST", form["url"], data=form["fields"],
                                files={"file": ("good.txt", b"the checked file", "text/plain")}).prepare()
    body = prepared.body.replace(b'name="file"; filename="good.txt"\r\nContent-Type: text/plain\r\n',
                                 b"name=\"file\"; filename=\"good.txt\"; filename*=utf-8''evil.txt\r\n"
                                 b"Content-Type: text/plain\r\nContent-Length: 3\r\n")
    assert b"evil.txt" in body
    r = post_body(form["url"], prepared, body)
    assert r.status_code == 204, r.text
    keys = [o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket, Prefix="up/").get("Contents", [])]
    assert keys and not any("evil" in k for k in keys), keys
    for key in keys:  # `up/good.txt` (s3s-fs stores `${filename}` as spelt)
        assert stored(origin_s3, bucket, key)[0] == b"the checked file"


def with_fields_after_the_file(prepared, fields: dict) -> bytes:
    """The prepared form's body with `fields` after the file part, as a page whose submit
    button (or any input) comes after the file input posts it."""
    boundary = prepared.headers["Content-Type"].split("boundary=")[1].encode()
    closing = b"--" + boundary + b"--\r\n"
    assert prepared.body.endswith(closing)
    after = b"".join(
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n'
        + value.encode() + b"\r\n"
        for name, value in fields.items()
    )
    return prepared.body[: -len(closing)] + after + closing


@pytest.mark.every_origin
def test_fields_after_the_file_are_ignored_as_s3_ignores_them(proxy, origin_s3, bucket):
    """S3 ignores the fields after the file, and the filter checks none of them; the origin
    gets them after the form's closing delimiter, so it ignores them too, and stores the file
    as the policy allows."""
    client = s3_client(proxy.endpoint)
    form = form_for(client, bucket, "after.txt")
    prepared = requests.Request(
        "POST", form["url"], data=form["fields"], files={"file": ("a.txt", b"the file", "text/plain")}
    ).prepare()
    body = with_fields_after_the_file(prepared, {"submit": "Upload", "acl": "public-read-write",
                                                 "x-amz-meta-unchecked": "yes", "key": "elsewhere.txt"})
    r = post_body(form["url"], prepared, body)
    assert r.status_code == 204, r.text
    data, _, metadata = stored(origin_s3, bucket, "after.txt")
    assert data == b"the file" and metadata == {}
    assert stored(origin_s3, bucket, "elsewhere.txt") is None


class _FormRecorder(StandIn):
    """An origin that answers 204 to any POST and keeps the bodies it received."""

    bodies: list = []

    def do_POST(self):
        self.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.answer(204)


def test_the_origin_gets_the_form_closed_after_the_file():
    """Some origins read fields after the file (SeaweedFS; MinIO before it refused fields the
    policy does not name): the delimiter after the file reaches them as the form's closing one,
    the body at its length, so that what follows is the form's epilogue."""
    _FormRecorder.bodies = []
    with stand_in_origin(_FormRecorder) as config:
        with Envoy(config) as envoy:
            form = form_for(s3_client(envoy.endpoint), "bucket", "k.txt")
            prepared = requests.Request(
                "POST", form["url"], data=form["fields"], files={"file": ("a.txt", b"the file", "text/plain")}
            ).prepare()
            body = with_fields_after_the_file(prepared, {"acl": "public-read-write"})
            r = post_body(form["url"], prepared, body)
            assert r.status_code == 204, r.text
    [received] = _FormRecorder.bodies
    boundary = prepared.headers["Content-Type"].split("boundary=")[1].encode()
    file_end = received.index(b"the file") + len(b"the file")
    # The delimiter closes the form; the acl part, less its first two bytes, is the epilogue.
    assert received[file_end:].startswith(b"\r\n--" + boundary + b"--\r\nntent-Disposition: form-data; name=\"acl\"")
    assert received.count(b"\r\n--" + boundary + b"\r\n") == len(form["fields"])
    # Re-signed for the origin's key: the fields before the file changed, not the length after.
    assert len(received) - file_end == len(body) - (body.index(b"the file") + len(b"the file"))


@pytest.mark.parametrize("transport", ["http1", "h2"])
@pytest.mark.parametrize("cut", ["inside the file", "after the head"])
def test_a_form_whose_body_ends_inside_the_file_never_reaches_the_origin_whole(cut, transport):
    """A body that ends inside the file (no closing delimiter, its Content-Length ending
    there), its last byte late: the origin got every byte before the filter saw the end, a
    request complete by its length, and a reader that ends the last part at the body's end
    would store a file the policy forbids (an attack run, 2026-12-04; the next found the same
    for a body ending right after the file part's headers). The last byte of what goes on now
    waits for what follows it."""
    _FormRecorder.bodies = []
    with stand_in_origin(_FormRecorder) as config:
        with Envoy(config) as envoy:
            form = form_for(s3_client(envoy.endpoint), "bucket", "k.txt",
                            conditions=[["content-length-range", 100, 1000]])
            prepared = requests.Request(
                "POST", form["url"], data=form["fields"], files={"file": ("a.txt", b"too short", "text/plain")}
            ).prepare()
            end = prepared.body.rindex(b"too short" if cut == "after the head" else b"\r\n--")
            body = prepared.body[:end]
            host = form["url"].split("/")[2]
            head = (f"POST /bucket HTTP/1.1\r\nHost: {host}\r\n"
                    f"Content-Type: {prepared.headers['Content-Type']}\r\nContent-Length: {len(body)}\r\n\r\n")
            if transport == "h2":
                headers = [(b"content-type", prepared.headers["Content-Type"].encode()),
                           (b"content-length", b"%d" % len(body))]
                assert send_h2(host, "POST", b"/bucket", envoy.port, headers, body, end_late=0.5).status == 400
            else:
                with socket.create_connection(("127.0.0.1", envoy.port), timeout=30) as conn:
                    conn.sendall(head.encode() + body[:-1])
                    time.sleep(0.5)
                    conn.sendall(body[-1:])
                    answer = conn.recv(65536)
                assert answer.startswith(b"HTTP/1.1 400") and b"<Code>MalformedPOSTRequest</Code>" in answer, answer
    # Re-signed for the origin, the form's fields changed length, not the file part: its end tells.
    assert not any(received.endswith(body[-20:]) for received in _FormRecorder.bodies), "the whole body"


def test_a_form_s_key_with_a_dot_segment_is_refused(proxy, origin_s3, bucket):
    """A policy allowing `uploads/` only: s3s-fs stores keys as files, and wrote
    `uploads/../../<bucket>/x` into another bucket (an attack run, 2026-12-04). S3 would keep
    the key as written; here a form's key may hold no `.` or `..` segment, nor begin with `/`."""
    origin_s3.put_object(Bucket=bucket, Key="private.txt", Body=b"private")
    form = form_for(s3_client(proxy.endpoint), bucket, "uploads/${filename}",
                    conditions=[["starts-with", "$key", "uploads/"]])
    before = proxy.origin_requests()
    for key, filename in [("uploads/../private.txt", "a.txt"), ("uploads/${filename}/../x", "a.txt"),
                          ("uploads/./../private.txt", "a.txt"), ("uploads/${filename}/private.txt", "..")]:
        r = post(proxy, form, b"attacker's", filename=filename, extra_fields={"key": key})
        assert r.status_code == 400 and "<Code>InvalidArgument</Code>" in r.text, (key, r.text)
    assert proxy.origin_requests() == before
    assert stored(origin_s3, bucket, "private.txt")[0] == b"private"
    # A key from the root of an origin's files: any key a policy of `starts-with $key ""` (what
    # boto3 writes for Key="${filename}") allows, and s3s-fs wrote another bucket's object so.
    anywhere = form_for(s3_client(proxy.endpoint), bucket, "${filename}", conditions=[["starts-with", "$key", ""]])
    r = post(proxy, anywhere, b"attacker's", extra_fields={"key": "/srv/s3/other-bucket/x"})
    assert r.status_code == 400 and "<Code>InvalidArgument</Code>" in r.text, r.text
    assert proxy.origin_requests() == before
    r = post(proxy, form, b"a photo", extra_fields={"key": "uploads/..photo.jpg"})
    assert r.status_code == 204, r.text
    assert stored(origin_s3, bucket, "uploads/..photo.jpg")[0] == b"a photo"


def test_a_form_without_a_body_is_refused_before_it_waits(proxy, origin_s3, bucket):
    """A form whose head ends the request (`Content-Length: 0`) has no fields to wait for: 400
    `MalformedPOSTRequest`, nothing at the origin. It used to ask for room to wait first, and,
    past the share, took another's waiting form back for nothing (a review, 2026-12-03)."""
    before = proxy.origin_requests()
    r = requests.post(f"{proxy.endpoint}/{bucket}", data=b"",
                      headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 400 and "<Code>MalformedPOSTRequest</Code>" in r.text, r.text
    assert proxy.origin_requests() == before
