"""Requests the filter must refuse: each gets the right S3 error from the filter itself, and
the origin never sees it (Envoy's upstream request counter does not move, and the object does
not exist afterwards)."""

import contextlib
import datetime
import re
from dataclasses import replace

import pytest
import requests
from botocore.exceptions import ClientError

from harness.clients import RawRequest, content_md5, presign, s3_client, send, sign_header
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN, filter_operations
from harness.paths import ROOT


def utc_now() -> datetime.datetime:
    """Now, read by each test: a time read at import is minutes old by the time a long run
    reaches a test (a request "10 minutes old" was then past the 15-minute skew)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def error_code(response) -> str:
    match = re.search(rb"<Code>([^<]*)</Code>", response.body)
    return match.group(1).decode() if match else ""


def assert_refused(proxy, origin_s3, bucket, request: RawRequest, status: int, code: str, authority=None):
    before = proxy.origin_requests()
    r = send(authority or proxy.authority, request, port=proxy.port)
    assert (r.status, error_code(r)) == (status, code), r.body
    assert r.headers["content-type"] == "application/xml"
    # A shared cache in front must not keep for the URL what this request's own parts caused.
    assert r.headers["cache-control"] == "no-store"
    assert re.fullmatch(
        rb'<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>\w+</Code><Message>[^<]+</Message>(<HeadersNotSigned>[^<]+</HeadersNotSigned>|<Method>[^<]+</Method>(<ResourceType>[^<]+</ResourceType>)?)?(<RequestId>[^<]+</RequestId>)?</Error>',
        r.body,
    ), r.body
    assert proxy.origin_requests() == before, "the origin must not see a refused request"
    if request.method == "PUT" and request.target.count("/") > 1:
        key = request.target.split("?")[0].split("/", 2)[2]
        with pytest.raises(ClientError):
            origin_s3.head_object(Bucket=bucket, Key=key)
    return r


def test_wrong_secret(proxy, origin_s3, bucket):
    bad = s3_client(proxy.endpoint, CLIENT_KEY, "not-the-secret")
    with pytest.raises(ClientError) as e:
        bad.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError):
        origin_s3.head_object(Bucket=bucket, Key="k")


def test_unknown_access_key(proxy, bucket):
    with pytest.raises(ClientError) as e:
        s3_client(proxy.endpoint, "NOSUCHKEY", CLIENT_SECRET).list_objects_v2(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_origin_keys_are_not_client_keys(proxy, origin, bucket):
    with pytest.raises(ClientError) as e:
        s3_client(proxy.endpoint, origin.access_key, origin.secret_key).list_objects_v2(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_anonymous_is_refused(proxy, origin_s3, bucket):
    assert_refused(proxy, origin_s3, bucket, RawRequest("GET", f"/{bucket}/k"), 403, "AccessDenied")
    assert_refused(proxy, origin_s3, bucket, RawRequest("PUT", f"/{bucket}/k", body=b"x"), 403, "AccessDenied")
    before = proxy.origin_requests()
    head = send(proxy.authority, RawRequest("HEAD", f"/{bucket}/k"))
    assert (head.status, head.body) == (403, b"")
    assert proxy.origin_requests() == before


def put_request(proxy, bucket, **kwargs) -> RawRequest:
    return sign_header(
        proxy.authority,
        "PUT",
        f"/{bucket}/tampered",
        {"Content-Type": "text/plain", "X-Amz-Meta-Owner": "alice"},
        b"the body",
        **kwargs,
    )


def other_second(amz_date: str) -> str:
    """The same X-Amz-Date one second off."""
    seconds = amz_date[13:15]
    return amz_date[:13] + ("01" if seconds == "00" else "00") + "Z"


def flip_last_hex(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


HEADER_TAMPERING = {
    "method": lambda r: replace(r, method="DELETE"),
    "path": lambda r: replace(r, target=r.target.replace("tampered", "tampereD")),
    "query param added": lambda r: replace(r, target=r.target + "?uploads"),
    "signed header value": lambda r: r.with_header("X-Amz-Meta-Owner", "mallory"),
    "signed header dropped": lambda r: RawRequest(
        r.method, r.target, [(n, v) for n, v in r.headers if n != "X-Amz-Meta-Owner"], r.body
    ),
    "content type": lambda r: r.with_header("Content-Type", "text/html"),
    "payload hash": lambda r: r.with_header("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"),
    "date": lambda r: r.with_header("X-Amz-Date", other_second(r.header("X-Amz-Date"))),
    "credential region": lambda r: r.with_header(
        "Authorization", r.header("Authorization").replace("/us-east-1/", "/eu-west-1/")
    ),
    "signature byte": lambda r: r.with_header("Authorization", flip_last_hex(r.header("Authorization"))),
}


@pytest.mark.parametrize("part", HEADER_TAMPERING)
def test_tampered_header_signed_request(proxy, origin_s3, bucket, part):
    request = HEADER_TAMPERING[part](put_request(proxy, bucket))
    assert_refused(proxy, origin_s3, bucket, request, 403, "SignatureDoesNotMatch")


def test_untampered_control_succeeds(proxy, origin_s3, bucket):
    r = send(proxy.authority, put_request(proxy, bucket))
    assert r.status == 200, r.body
    assert origin_s3.get_object(Bucket=bucket, Key="tampered")["Body"].read() == b"the body"


def test_query_params_are_bound(proxy, origin_s3, bucket):
    for key in ("a1", "a2", "b1"):
        origin_s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    signed = sign_header(proxy.authority, "GET", f"/{bucket}?list-type=2&prefix=a")
    assert send(proxy.authority, signed).status == 200
    for target in (
        f"/{bucket}?list-type=2&prefix=b",
        f"/{bucket}?list-type=2",
        f"/{bucket}?list-type=2&prefix=a&max-keys=1",
    ):
        assert_refused(proxy, origin_s3, bucket, replace(signed, target=target), 403, "SignatureDoesNotMatch")


def test_signed_for_another_host(proxy, origin_s3, bucket):
    """Another served authority than the one signed (here the same name on another port)."""
    request = put_request(proxy, bucket)
    assert_refused(
        proxy, origin_s3, bucket, request, 403, "SignatureDoesNotMatch", authority=f"localhost:{proxy.port + 1}"
    )


def presigned_put(proxy, bucket, **kwargs) -> RawRequest:
    request = presign(proxy.authority, "PUT", f"/{bucket}/presigned", {"Content-Type": "text/plain"}, **kwargs)
    return replace(request, body=b"data")


def edit_query(request: RawRequest, name: str, edit) -> RawRequest:
    path, query = request.target.split("?", 1)
    params = []
    for param in query.split("&"):
        n, _, v = param.partition("=")
        if n == name:
            v = edit(v)
            if v is None:
                continue
        params.append(f"{n}={v}")
    return replace(request, target=f"{path}?{'&'.join(params)}")


PRESIGNED_TAMPERING = {
    "method": lambda r: replace(r, method="DELETE"),
    "path": lambda r: replace(r, target=r.target.replace("presigned", "presigneD")),
    "query param added": lambda r: replace(r, target=r.target + "&x-id=PutObject"),
    "expires": lambda r: edit_query(r, "X-Amz-Expires", lambda v: str(int(v) + 1)),
    "date": lambda r: edit_query(r, "X-Amz-Date", other_second),
    "credential region": lambda r: edit_query(r, "X-Amz-Credential", lambda v: v.replace("us-east-1", "eu-west-1")),
    "signed headers": lambda r: edit_query(r, "X-Amz-SignedHeaders", lambda v: "host"),
    "signed header value": lambda r: r.with_header("Content-Type", "text/html"),
    "signature byte": lambda r: edit_query(r, "X-Amz-Signature", flip_last_hex),
}


@pytest.mark.parametrize("part", PRESIGNED_TAMPERING)
def test_tampered_presigned_url(proxy, origin_s3, bucket, part):
    request = PRESIGNED_TAMPERING[part](presigned_put(proxy, bucket))
    assert_refused(proxy, origin_s3, bucket, request, 403, "SignatureDoesNotMatch")


def test_presigned_control_succeeds(proxy, origin_s3, bucket):
    assert send(proxy.authority, presigned_put(proxy, bucket)).status == 200
    assert origin_s3.get_object(Bucket=bucket, Key="presigned")["Body"].read() == b"data"


def test_clock_skew_and_expiry(proxy, origin_s3, bucket):
    hour = datetime.timedelta(hours=1)
    now = utc_now()
    assert_refused(proxy, origin_s3, bucket, put_request(proxy, bucket, when=now - hour), 403, "RequestTimeTooSkewed")
    assert_refused(proxy, origin_s3, bucket, put_request(proxy, bucket, when=now + hour), 403, "RequestTimeTooSkewed")
    assert_refused(proxy, origin_s3, bucket, presigned_put(proxy, bucket, when=now + hour), 403, "RequestTimeTooSkewed")
    expired = presigned_put(proxy, bucket, when=now - 2 * hour, expires=3600)
    r = assert_refused(proxy, origin_s3, bucket, expired, 403, "AccessDenied")
    assert b"Request has expired" in r.body
    # Within the allowed skew, and a presigned URL signed an hour ago for two hours, pass.
    assert send(proxy.authority, put_request(proxy, bucket, when=now - datetime.timedelta(minutes=10))).status == 200
    assert send(proxy.authority, presigned_put(proxy, bucket, when=now - hour, expires=7200)).status == 200


def test_listed_web_pages_can_read_refusals(proxy, make_proxy, origin_s3, bucket):
    """A web developer's walk-through (2026-12-01): a page whose presigned URL had expired, or
    whose form upload was too large, saw a network error, since the filter's refusals carried
    no CORS header. Pages listed in `error_cors_origins` may now read them; others still not."""
    app = "https://app.example"
    expired = presigned_put(proxy, bucket, when=utc_now() - datetime.timedelta(hours=2), expires=3600)
    r = assert_refused(proxy, origin_s3, bucket, expired.with_header("Origin", app), 403, "AccessDenied")
    assert not {"access-control-allow-origin", "vary"} & set(r.headers), "none unless configured"

    listed = make_proxy(error_cors_origins=[app, "http://localhost:3000"])
    r = assert_refused(listed, origin_s3, bucket, expired.with_header("Origin", app), 403, "AccessDenied")
    assert (r.headers["access-control-allow-origin"], r.headers["vary"]) == (app, "Origin")
    for other in ("https://evil.example", "https://app.example.evil", "null", "HTTPS://APP.EXAMPLE"):
        r = assert_refused(listed, origin_s3, bucket, expired.with_header("Origin", other), 403, "AccessDenied")
        assert "access-control-allow-origin" not in r.headers and r.headers["vary"] == "Origin", other
    # Refused once the head has gone on: the form's file is over the policy's size.
    form = s3_client(listed.endpoint).generate_presigned_post(
        Bucket=bucket, Key="form.txt", Conditions=[["content-length-range", 1, 10]])
    r = requests.post(f"http://127.0.0.1:{listed.port}/{bucket}", data=form["fields"], timeout=30,
                      files={"file": ("f.txt", b"x" * 100_000, "text/plain")},
                      headers={"Host": listed.authority, "Origin": app})
    assert (r.status_code, r.headers.get("access-control-allow-origin")) == (400, app), r.text
    assert b"<Code>EntityTooLarge</Code>" in r.content
    with pytest.raises(ClientError):
        origin_s3.head_object(Bucket=bucket, Key="form.txt")
    # What the origin answers is its own.
    ok = send(listed.authority, presigned_put(listed, bucket).with_header("Origin", app))
    assert ok.status == 200 and ok.headers.get("access-control-allow-origin") != app


def test_malformed_authentication(proxy, origin_s3, bucket):
    valid = put_request(proxy, bucket)
    authz = valid.header("Authorization")
    cases = [
        (valid.with_header("Authorization", authz.replace("SignedHeaders=", "Signed=")), 400, "AuthorizationHeaderMalformed"),
        (valid.with_header("Authorization", authz.replace("/s3/", "/ec2/")), 400, "AuthorizationHeaderMalformed"),
        (valid.with_header("Authorization", "AWS4-HMAC-SHA256 garbage"), 400, "AuthorizationHeaderMalformed"),
        (valid.with_header("Authorization", "Bearer token"), 400, "InvalidArgument"),
        (
            RawRequest("PUT", valid.target, [(n, v) for n, v in valid.headers if n != "X-Amz-Content-SHA256"], b"x"),
            400,
            "InvalidRequest",
        ),
        (valid.with_header("X-Amz-Content-SHA256", "not-a-hash"), 400, "InvalidArgument"),
    ]
    presigned = presigned_put(proxy, bucket)
    cases += [
        (edit_query(presigned, "X-Amz-Expires", lambda v: "604801"), 400, "AuthorizationQueryParametersError"),
        (edit_query(presigned, "X-Amz-Expires", lambda v: None), 400, "AuthorizationQueryParametersError"),
        (edit_query(presigned, "X-Amz-Algorithm", lambda v: "HMAC-MD5"), 400, "AuthorizationQueryParametersError"),
        (edit_query(presigned, "X-Amz-Date", lambda v: "yesterday"), 400, "AuthorizationQueryParametersError"),
        (presigned.with_header("Authorization", authz), 400, "InvalidArgument"),
    ]
    for request, status, code in cases:
        assert_refused(proxy, origin_s3, bucket, request, status, code)


def test_unsupported_schemes_answer_not_implemented(proxy, origin_s3, bucket):
    valid = put_request(proxy, bucket)
    cases = [
        valid.with_header("Authorization", valid.header("Authorization").replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256")),
        sign_header(
            proxy.authority,
            "PUT",
            f"/{bucket}/chunked",
            {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": "1"},
            b"1;chunk-signature=" + b"0" * 144 + b"\r\nx\r\n",
            payload_hash="STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        ),
    ]
    for request in cases:
        assert_refused(proxy, origin_s3, bucket, request, 501, "NotImplemented")


def test_bad_sigv2_requests(proxy, origin_s3, bucket):
    """SigV2 is verified like SigV4: a wrong signature, or one that is not base64 of 20 bytes."""
    valid = put_request(proxy, bucket)
    forged = valid.with_header("Authorization", "AWS CLIENTKEY:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=")
    assert_refused(proxy, origin_s3, bucket, forged, 403, "SignatureDoesNotMatch")
    old = RawRequest("GET", f"/{bucket}/k", [("Date", "Sun, 01 Mar 2020 12:00:00 GMT"),
                                             ("Authorization", "AWS CLIENTKEY:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=")])
    assert_refused(proxy, origin_s3, bucket, old, 403, "RequestTimeTooSkewed")
    assert_refused(proxy, origin_s3, bucket, valid.with_header("Authorization", "AWS CLIENTKEY:abc"), 400, "AuthorizationHeaderMalformed")
    query = RawRequest("GET", f"/{bucket}/k?AWSAccessKeyId=CLIENTKEY&Expires=9999999999&Signature=abc%3D")
    assert_refused(proxy, origin_s3, bucket, query, 403, "AccessDenied")
    forged = RawRequest("GET", f"/{bucket}/k?AWSAccessKeyId=CLIENTKEY&Expires=9999999999&Signature=qgk2%2B6Sv9%2FoM7G3qLEjTH1a1l1g%3D")
    assert_refused(proxy, origin_s3, bucket, forged, 403, "SignatureDoesNotMatch")


def test_bytes_that_are_not_utf8_get_an_error_not_a_crash(proxy, origin_s3, bucket):
    valid = put_request(proxy, bucket)
    garbage = RawRequest(valid.method, valid.target, valid.headers, valid.body).with_header(
        "Authorization", "AWS4-HMAC-SHA256 Credential=\xff\xfe"
    )
    assert_refused(proxy, origin_s3, bucket, garbage, 400, "AuthorizationHeaderMalformed")
    # An unsigned extra header with raw bytes does not disturb a valid request, and the VM
    # that just saw the garbage still serves.
    extra = valid.with_header("X-Unsigned-Junk", "caf\xe9\xff")
    assert send(proxy.authority, extra).status == 200


def test_rejections_are_logged_without_secrets_or_signatures(proxy, origin_s3, bucket):
    request = PRESIGNED_TAMPERING["path"](presigned_put(proxy, bucket))
    assert_refused(proxy, origin_s3, bucket, request, 403, "SignatureDoesNotMatch")
    signature = re.search(r"X-Amz-Signature=([0-9a-f]{64})", request.target).group(1)
    log = proxy.log_text()
    assert f"rejected PUT /{bucket}/presigneD?" in log
    assert "(access key CLIENTKEY): SignatureDoesNotMatch" in log
    assert "X-Amz-Signature=*****" in log
    assert signature not in log
    assert CLIENT_SECRET not in log and "origin-secret" not in log


@pytest.mark.every_origin
def test_methods_s3_has_not_and_cephs_own_apis_are_refused(make_proxy, origin_s3, bucket):
    """Found by a red team against Ceph RGW 16.2.15 (2026-12-04): `COPY /swift/v1/x/` with a
    `Destination`, signed by any client key (or unsigned under `anonymous: forward`), reached
    Ceph's Swift API, which read it as a copy from no object and died (a segmentation fault)
    before any authentication, every request after it answered 503; and Swift answered
    unsigned requests (`/swift/info` gave Ceph's version) and acts on headers no S3 signature
    covers. A method S3 has not is refused with 405, and the names Ceph keeps for Swift, its
    logins and its admin API are refused as buckets in either style, as MinIO's is; the
    origin still serves."""
    proxy = make_proxy(anonymous="forward")
    origin_s3.put_object(Bucket=bucket, Key="k", Body=b"kept")
    for method in ("COPY", "PATCH", "PROPFIND", "MOVE"):
        for target in ("/swift/v1/x/", f"/{bucket}/k"):
            headers = {"destination": f"{bucket}/x"}
            for request in (RawRequest(method, target, list(headers.items())),
                            sign_header(proxy.authority, method, target, headers)):
                r = assert_refused(proxy, origin_s3, bucket, request, 405, "MethodNotAllowed")
                assert f"<Method>{method}</Method>".encode() in r.body, r.body
                assert r.headers["allow"] == "GET, HEAD, PUT, POST, DELETE, OPTIONS"
    swift = f"swift.{PUBLIC_TEST_DOMAIN}"
    for authority, request in [
        (proxy.authority, RawRequest("GET", "/swift/info")),
        (proxy.authority, RawRequest("GET", "/swift/healthcheck")),
        (proxy.authority, RawRequest("GET", "/auth/v1.0")),
        (proxy.authority, RawRequest("GET", "/admin/info")),
        (proxy.authority, sign_header(proxy.authority, "PUT", f"/swift/v1/{bucket}/copy",
                                      {"x-copy-from": f"{bucket}/k"})),
        (proxy.authority, sign_header(proxy.authority, "GET", "/admin/user?uid=u")),
        (proxy.authority, presign(proxy.authority, "GET", "/admin/usage")),
        (swift, sign_header(swift, "GET", f"/v1/{bucket}")),
    ]:
        assert_refused(proxy, origin_s3, bucket, request, 400, "InvalidBucketName", authority=authority)
    r = send(proxy.authority, sign_header(proxy.authority, "GET", f"/{bucket}/k"))
    assert (r.status, r.body) == (200, b"kept")


@pytest.mark.every_origin
def test_the_service_is_neither_put_nor_deleted(make_proxy, origin_s3, bucket):
    """Found by a red team (RT88, 2026-12-05): Ceph RGW 16.2 given an `rgw_dns_name` other than
    the origin's authority reads that authority as a bucket's name, and a signed `PUT /`
    (which S3 answers 405) made the bucket, into which every path-style request then went.
    The filter answers S3's 405 (`Allow: GET`) signed, presigned or anonymous; the origin's
    buckets are as they were."""
    proxy = make_proxy(anonymous="forward")
    buckets = sorted(b["Name"] for b in origin_s3.list_buckets()["Buckets"])
    for method in ("PUT", "DELETE"):
        for request in (sign_header(proxy.authority, method, "/"), presign(proxy.authority, method, "/"),
                        RawRequest(method, "/"), RawRequest(method, "/?acl")):
            r = assert_refused(proxy, origin_s3, bucket, request, 405, "MethodNotAllowed")
            assert f"<Method>{method}</Method><ResourceType>SERVICE</ResourceType>".encode() in r.body, r.body
            assert r.headers["allow"] == "GET"
    assert sorted(b["Name"] for b in origin_s3.list_buckets()["Buckets"]) == buckets
    assert send(proxy.authority, sign_header(proxy.authority, "GET", "/")).status == 200


def test_reserved_buckets_are_the_configurations(make_proxy, origin_s3):
    """An origin without those APIs (s3s-fs here, Garage, AWS S3) may have buckets named
    `admin` or `auth`: `reserved_buckets` lists the names refused, replacing the default."""
    origin_s3.create_bucket(Bucket="admin")
    origin_s3.put_object(Bucket="admin", Key="k", Body=b"an ordinary bucket")
    default = make_proxy()
    r = send(default.authority, sign_header(default.authority, "GET", "/admin/k"), port=default.port)
    assert (r.status, error_code(r)) == (400, "InvalidBucketName"), r.body
    listed = make_proxy(reserved_buckets=["minio", "swift"])
    for name in ("admin", "auth"):
        request = sign_header(listed.authority, "GET", f"/{name}/k")
        r = send(listed.authority, request, port=listed.port)
        assert r.status == (200 if name == "admin" else 404), r.body
    assert send(listed.authority, sign_header(listed.authority, "GET", "/admin/k")).body == b"an ordinary bucket"
    r = send(listed.authority, RawRequest("GET", "/swift/info"), port=listed.port)
    assert (r.status, error_code(r)) == (400, "InvalidBucketName"), r.body


@pytest.mark.every_origin
def test_what_ceph_reads_twice_or_answers_with_a_body_is_refused(make_proxy, origin_s3, bucket):
    """Found by a red team against Ceph RGW 16.2.15 (2026-12-04): a part copy whose source is
    the key `%` aborted the gateway, sent anonymously under `anonymous: forward` as with any
    key (Ceph decodes the source twice, before it checks any right); a HEAD of the service or of
    a sub-resource was answered with a body, which Envoy read as the next answer on the shared
    connection, so another client's request failed with 502 (and, RT82, 2026-12-05, any request
    whose path holds `%00`). Each is refused before the origin, which still serves."""
    proxy = make_proxy(anonymous="forward")
    origin_s3.put_object(Bucket=bucket, Key="%", Body=b"percent")
    upload = origin_s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    part = f"/{bucket}/dst?partNumber=1&uploadId={upload}"
    # and (later red teams) a source whose key is empty as Ceph reads it; that Ceph reads as no
    # source at all (a malformed escape: it stored the body), cuts at a raw `?` other than the
    # version's, or decodes again reading `+` after a `?` as a space; a key beginning with `/`
    for source in (f"/{bucket}/%", f"/{bucket}/%25", f"/{bucket}/", f"/{bucket}/%3FversionId=x", f"%2F{bucket}%2F",
                   f"/{bucket}/src?versionId=%zz", f"/{bucket}/src?versionID=x", f"/{bucket}/src?&versionId=x",
                   f"/{bucket}/a%3Fb%2Bc", f"/{bucket}//src",
                   # and (a fourth) a version Ceph reads otherwise, a bucket that is a dot segment
                   f"/{bucket}/src?versionId=a&versionId=b", f"/{bucket}/src?versionId=", f"/../{bucket}/src",
                   # and (RT102, 2026-12-06) an origin's own data: MinIO's IAM secrets, its admin
                   "/.minio.sys/config/iam/format.json", "/minio/admin/v3/info"):
        for request in (RawRequest("PUT", part, [("x-amz-copy-source", source)]),
                        sign_header(proxy.authority, "PUT", part, {"x-amz-copy-source": source})):
            assert_refused(proxy, origin_s3, bucket, request, 400, "InvalidArgument")
    # A source range outside a part copy (Ceph's CopyObject stores only that range), or with an
    # upload named without a value or a part (Ceph's PutObject from a source).
    ranged = {"x-amz-copy-source": f"/{bucket}/src", "x-amz-copy-source-range": "bytes=0-3"}
    for target in (f"/{bucket}/dst", f"/{bucket}/dst?uploadId=", f"/{bucket}/dst?partNumber=1&uploadId="):
        assert_refused(proxy, origin_s3, bucket, sign_header(proxy.authority, "PUT", target, ranged),
                       400, "InvalidArgument")
    # and (RT82, 2026-12-05) any request whose path holds an escaped NUL, which Ceph answers,
    # HEAD or not, with a body before it reads the request
    for method, target in [("HEAD", t) for t in ("/", f"/{bucket}?acl", f"/{bucket}?uploads", f"/{bucket}/%25?acl",
                                                  f"/{bucket}?acl%3D", f"/{bucket}?uploads%3Dx", f"/{bucket}/k%00",
                                                  f"/{bucket}%00/k", "/%00")] + [("GET", f"/{bucket}/k%00")]:
        for request in (RawRequest(method, target), sign_header(proxy.authority, method, target)):
            before = proxy.origin_requests()
            assert send(proxy.authority, request).status == 400, target
            assert proxy.origin_requests() == before, target
    assert origin_s3.get_object(Bucket=bucket, Key="%")["Body"].read() == b"percent"
    assert send(proxy.authority, sign_header(proxy.authority, "HEAD", f"/{bucket}/%25")).status == 200


@pytest.mark.every_origin
def test_a_copy_object_of_a_key_holding_percent_copies_that_key(proxy, origin_s3, bucket):
    """Ceph decodes a part copy's source twice, a CopyObject's once, as S3, s3s-fs and Garage
    do: the refusal of keys holding `%` (or `+` after a `?`) is a part copy's alone. It was
    every copy's, and `aws s3 cp`, rclone and s3cmd failed to copy such keys between prefixes
    (a compatibility sweep, 2026-12-05; s3cmd then fell back to SigV2 for the rest of its run).
    Each copy takes the object named, not the one a second decoding names; a source Ceph reads
    as a part copy's (an escaped `/` first, RT69) is refused."""
    client = s3_client(proxy.endpoint)
    objects = {"a%41": b"literal percent-41", "aA": b"decoded A", "p%2Bq": b"percent-2B", "p+q": b"plus",
               "x?y+z": b"plus after a question mark", "x?y z": b"space after a question mark", "100% off": b"sale"}
    for key, body in objects.items():
        origin_s3.put_object(Bucket=bucket, Key=key, Body=body)
    for key, body in objects.items():
        client.copy_object(Bucket=bucket, Key=f"copy/{key}", CopySource={"Bucket": bucket, "Key": key})
        assert origin_s3.get_object(Bucket=bucket, Key=f"copy/{key}")["Body"].read() == body, key
    # A source that begins with an escaped `/`: Ceph strips a raw `/` before it decodes, reads no
    # bucket and copies as a part copy, decoding twice; `%2F<bucket>/%25` aborted it (RT69).
    before = proxy.origin_requests()
    for source in (f"%2F{bucket}/%25", f"%2f{bucket}/a%252541", f"%2F{bucket}/aA"):
        r = send(proxy.authority, sign_header(proxy.authority, "PUT", f"/{bucket}/dst", {"x-amz-copy-source": source}))
        assert (r.status, error_code(r)) == (400, "InvalidArgument"), (source, r.body)
    assert proxy.origin_requests() == before


def test_a_copy_source_minio_parses_as_a_url_is_refused(proxy, origin_s3, bucket):
    """MinIO parses a copy source as a URL (RT90, 2026-12-05, read in its source): a `#` begins
    a fragment, a bucket ending in `:` is a scheme (`evil:/b/secret` copies `b/secret`), a
    control byte leaves the source undecoded, a version of white space is none; and it trims a
    `versionId` parameter of white space to none, the current object's. Refused, signed and
    presigned; escaped, the same names copy."""
    origin_s3.put_object(Bucket=bucket, Key="a#b", Body=b"hash")
    origin_s3.put_object(Bucket=bucket, Key="k", Body=b"kept")
    before = proxy.origin_requests()
    for source in (f"/{bucket}/a#b", f"evil:/{bucket}/k", f"/{bucket}/a\tb", f"/{bucket}/k?versionId=%20"):
        r = send(proxy.authority, sign_header(proxy.authority, "PUT", f"/{bucket}/dst", {"x-amz-copy-source": source}))
        assert (r.status, error_code(r)) == (400, "InvalidArgument"), (source, r.body)
    for query in ("versionId=%20", "versionId=+", "versionId=%09"):
        r = send(proxy.authority, presign(proxy.authority, "DELETE", f"/{bucket}/k?{query}"))
        assert (r.status, error_code(r)) == (400, "InvalidArgument"), (query, r.body)
    assert proxy.origin_requests() == before
    assert origin_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"
    r = send(proxy.authority, sign_header(proxy.authority, "PUT", f"/{bucket}/dst", {"x-amz-copy-source": f"/{bucket}/a%23b"}))
    assert r.status == 200, r.body
    assert origin_s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"hash"


@pytest.mark.every_origin
def test_a_part_s3_would_refuse_is_refused_before_the_origin(proxy, origin_s3, bucket):
    """RT70 (2026-12-05): Ceph read a part copy's range from 2^63 on as "from the end" and
    copied the source over and over (a 1 GiB part in 2.6 s; a range of 2^40 held a gateway
    thread at full CPU without end), and origins stored part numbers S3 refuses, each its own
    way. S3's bounds are kept here, before any origin."""
    origin_s3.put_object(Bucket=bucket, Key="src", Body=b"source")
    upload = origin_s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    before = proxy.origin_requests()
    part = f"/{bucket}/mp?partNumber=1&uploadId={upload}"
    # An open end too: Ceph reads it as 0 and copies one byte, s3s-fs the source's rest (RT71).
    for range_ in ("bytes=9223372036854775808-9223372036921884671", "bytes=9223372036854775808-", "bytes=0-5368709120",
                   "bytes=0-"):
        r = send(proxy.authority, sign_header(proxy.authority, "PUT", part,
                                              {"x-amz-copy-source": f"/{bucket}/src", "x-amz-copy-source-range": range_}))
        assert (r.status, error_code(r)) == (400, "InvalidArgument"), (range_, r.body)
    # Garage reads a presigned URL's `x-amz-*` parameters as headers, Ceph and s3s-fs do not:
    # a range (or source) there reached Garage unscreened (RT71).
    for hoisted in ("x-amz-copy-source-range=bytes%3D0-5368709120", "x-amz-copy-source-range=bytes%3D-2",
                    f"x-amz-copy-source=%2F{bucket}%2Fsrc"):
        url = presign(proxy.authority, "PUT", f"{part}&{hoisted}", {"x-amz-copy-source": f"/{bucket}/src"})
        r = send(proxy.authority, url)
        assert (r.status, error_code(r)) == (400, "InvalidArgument"), (hoisted, r.body)
    for number in ("0", "10001", "2147483647", "01"):
        r = send(proxy.authority, sign_header(proxy.authority, "PUT", f"/{bucket}/mp?partNumber={number}&uploadId={upload}",
                                              {}, b"part"))
        assert (r.status, error_code(r)) == (400, "InvalidArgument"), (number, r.body)
    assert proxy.origin_requests() == before
    # Within them, a part copy goes on.
    r = send(proxy.authority, sign_header(proxy.authority, "PUT", part,
                                          {"x-amz-copy-source": f"/{bucket}/src", "x-amz-copy-source-range": "bytes=0-2"}))
    assert r.status in (200, 400), r.body  # Garage refuses a part copy smaller than 5 MiB but the last
    origin_s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload)


def test_a_parameter_sent_twice_is_refused(proxy, origin_s3, bucket):
    """An attack run (2026-12-08): SigV4 signs a repeated parameter's values sorted, so a
    request signed over two versions verifies with them in either order, and origins read the
    first value (MinIO) or the last. Refused, nothing reaching the origin; one version goes on."""
    origin_s3.put_object(Bucket=bucket, Key="v", Body=b"x")
    for query in ("versionId=a&versionId=b", "versionId=b&versionId=a", "list-type=2&prefix=a&prefix=b"):
        target = f"/{bucket}/v?{query}" if "versionId" in query else f"/{bucket}?{query}"
        request = sign_header(proxy.authority, "GET", target)
        assert_refused(proxy, origin_s3, bucket, request, 400, "InvalidArgument")
        assert b"more than once" in send(proxy.authority, request).body
    before = proxy.origin_requests()
    send(proxy.authority, sign_header(proxy.authority, "GET", f"/{bucket}/v?versionId=a"))
    assert proxy.origin_requests() == before + 1


def test_the_operations_the_filter_can_refuse_are_routed_as_s3_routes_them():
    """`src/operations.rs` names each operation and its route as botocore's S3 model does."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("s3")
    operations = filter_operations()
    assert len(operations) == 47
    for name, method, on_object, sub_resource, id_, _ in operations:
        operation = model.operation_model(name)
        http = operation.http
        path, _, query = http["requestUri"].partition("?")
        assert (http["method"], "{Key+}" in path, query.split("&")[0]) == (method, on_object, sub_resource), name
        # A Get names the configuration, a List of the same sub-resource does not.
        shape = operation.input_shape
        names_id = "Id" in shape.members and "Id" in shape.required_members
        siblings = [o for o in operations if o[1:4] == (method, on_object, sub_resource) and o[0] != name]
        assert id_ == ("Any" if not siblings else "Named" if names_id else "None"), name


def test_a_post_sends_its_document_whole(proxy, origin_s3, bucket):
    """MinIO decodes aws-chunked framing on a PUT alone: a DeleteObjects sent in chunks (its
    Content-MD5 signed, the chunks split inside a key) was read as XML with the chunk headers
    inside the key (RT94, 2026-12-05, read in MinIO's source). Refused before the origin."""
    document = b"<Delete><Object><Key>k</Key></Object><Quiet>true</Quiet></Delete>"
    chunked = (b"%x\r\n" % 30 + document[:30] + b"\r\n" + b"%x\r\n" % (len(document) - 30) + document[30:]
               + b"\r\n0\r\n\r\n")
    origin_s3.put_object(Bucket=bucket, Key="k", Body=b"kept")
    before = proxy.origin_requests()
    request = sign_header(proxy.authority, "POST", f"/{bucket}?delete",
                          {"content-md5": content_md5(document), "content-encoding": "aws-chunked",
                           "x-amz-decoded-content-length": str(len(document))},
                          body=chunked, payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    r = send(proxy.authority, request)
    assert (r.status, error_code(r)) == (400, "InvalidRequest"), r.body
    assert proxy.origin_requests() == before
    assert origin_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"


def test_a_form_s_type_in_unicode_is_no_plain_type(proxy, origin_s3, bucket):
    """Go's `mime.ParseMediaType`, which MinIO reads a POST's type with, lower-cases by
    Unicode's rules: `multİpart/form-data` (U+0130) is a browser upload to MinIO's router, which
    an unsigned `Content-Type` on a signed DeleteObjects made of it (RT97, 2026-12-05). Refused
    as any form in a signed POST."""
    document = b"<Delete><Object><Key>k</Key></Object><Quiet>true</Quiet></Delete>"
    origin_s3.put_object(Bucket=bucket, Key="k", Body=b"kept")
    before = proxy.origin_requests()
    request = sign_header(proxy.authority, "POST", f"/{bucket}?delete", {"content-md5": content_md5(document)},
                          body=document)
    typed = request.with_header("content-type", "multİpart/form-data; boundary=x".encode())
    r = send(proxy.authority, typed)
    assert (r.status, error_code(r)) == (400, "InvalidArgument"), r.body
    assert proxy.origin_requests() == before
    assert origin_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"


def test_a_version_is_taken_on_the_writes_s3_versions(proxy, origin_s3, bucket):
    """MinIO writes the version a PutObject, CopyObject or multipart upload names, replacing one
    that exists (RT92, 2026-12-05, read in its source); S3 takes a `versionId` on no such write.
    The filter's list of the writes that take one (`VERSIONED_WRITES` in
    `src/gateway/screen.rs`) is botocore's model's, and the others are refused before the
    origin."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("s3")
    versioned = set()
    for name in model.operation_names:
        operation = model.operation_model(name)
        members = operation.input_shape.members if operation.input_shape else {}
        if operation.http["method"] in ("PUT", "POST") and any(
                m.serialization.get("location") == "querystring" and m.serialization.get("name") == "versionId"
                for m in members.values()):
            versioned.add((operation.http["method"], operation.http["requestUri"].partition("?")[2].split("&")[0]))
    text = (ROOT / "src" / "gateway" / "screen.rs").read_text()
    listed = re.search(r"const VERSIONED_WRITES: \[\(&\[u8\], &\[u8\]\); \d+\] = \[(.*?)\];", text, re.S).group(1)
    assert set(re.findall(r'\(b"(\w+)", b"([\w-]+)"\)', listed)) == versioned
    origin_s3.put_object(Bucket=bucket, Key="k", Body=b"kept")
    before = proxy.origin_requests()
    # Spelt so that MinIO's router reads no sub-resource (RV95, RV96): its PutObject too.
    for method, query, headers in (("PUT", "versionId=v", {}), ("POST", "uploads&versionId=v", {}),
                                   ("PUT", "tagging&versionId=v", {"x-amz-copy-source": f"/{bucket}/k"}),
                                   ("PUT", "versionId=v&%3Ftagging", {}), ("PUT", "tagging=%0A&versionId=v", {}),
                                   ("PUT", "partNumber=1&uploadId=u%0A", {})):
        r = send(proxy.authority, sign_header(proxy.authority, method, f"/{bucket}/k?{query}", headers))
        assert (r.status, error_code(r)) == (400, "InvalidArgument"), (query, r.body)
    assert proxy.origin_requests() == before
    assert origin_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"
    # One valid versioned write, replayed with one unsigned thing changed: a copy source, the
    # method, the host, the bucket style. None reaches the origin.
    tags = sign_header(proxy.authority, "PUT", f"/{bucket}/k?tagging&versionId=v")
    for replay in (tags.with_header("x-amz-copy-source", f"/{bucket}/k"), replace(tags, method="POST"),
                   tags.with_header("host", "other.example"),
                   replace(tags, target="/k?tagging&versionId=v").with_header("host", f"{bucket}.{proxy.authority}")):
        r = send(proxy.authority, replay)
        assert r.status in (400, 403), (replay, r.body)
    assert proxy.origin_requests() == before
    assert origin_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"
    # As signed, it goes on to the origin, whatever the origin answers; so does a version's ACL
    # as boto3 writes it.
    send(proxy.authority, tags)
    assert proxy.origin_requests() == before + 1
    with contextlib.suppress(ClientError):
        s3_client(proxy.endpoint).put_object_acl(Bucket=bucket, Key="k", VersionId="null", ACL="private")
    assert proxy.origin_requests() == before + 2


@pytest.mark.every_origin
def test_an_operation_the_origin_lacks_is_answered_before_it(proxy, origin_s3, bucket):
    """RT72 (2026-12-05): an origin runs an S3 operation it does not know as the one the rest
    of the request names (Ceph deleted an empty bucket for a DeleteBucketMetricsConfiguration,
    Ceph and Garage served the object for a GetObjectAttributes, all three stored a presigned
    RenameObject's body), and an empty `uploadId` or `versionId` as another operation still
    (Ceph and Garage deleted the key for an AbortMultipartUpload of `uploadId=`)."""
    origin_s3.put_object(Bucket=bucket, Key="victim", Body=b"kept")
    empty = f"{bucket}-e"
    origin_s3.create_bucket(Bucket=empty)
    before = proxy.origin_requests()
    lacking, empty_id = (501, "NotImplemented"), (400, "InvalidArgument")
    for method, target, body, answer in (
        ("DELETE", f"/{empty}?metrics", b"", lacking),
        ("DELETE", f"/{empty}?ownershipControls", b"", lacking),
        ("GET", f"/{empty}?metrics", b"", lacking),
        ("GET", f"/{bucket}?accelerate", b"", lacking),
        ("GET", f"/{bucket}/victim?attributes", b"", lacking),
        # MinIO's router runs these as DeleteBucket and CreateBucket (RT97, 2026-12-05).
        ("DELETE", f"/{empty}?publicAccessBlock", b"", lacking),
        ("PUT", f"/{bucket}-w?website", b"", lacking),
        ("PUT", f"/{bucket}/victim?encryption", b"<UpdateObjectEncryptionRequest/>", lacking),
        ("DELETE", f"/{bucket}/victim?uploadId=", b"", empty_id),
        ("PUT", f"/{bucket}/victim?partNumber=1&uploadId=", b"overwritten", empty_id),
        ("GET", f"/{bucket}/victim?uploadId=", b"", empty_id),
        ("DELETE", f"/{bucket}/victim?versionId=", b"", empty_id),
    ):
        r = send(proxy.authority, sign_header(proxy.authority, method, target, {}, body))
        assert (r.status, error_code(r)) == answer, (method, target, r.body)
    url = presign(proxy.authority, "PUT", f"/{bucket}/new?renameObject", {"x-amz-rename-source": f"/{bucket}/victim"})
    r = send(proxy.authority, replace(url, body=b"<script>alert(1)</script>"))
    assert (r.status, error_code(r)) == lacking, r.body
    assert proxy.origin_requests() == before
    origin_s3.head_bucket(Bucket=empty)
    assert origin_s3.get_object(Bucket=bucket, Key="victim")["Body"].read() == b"kept"
    assert "Contents" not in origin_s3.list_objects_v2(Bucket=bucket, Prefix="new")
    origin_s3.delete_bucket(Bucket=empty)
