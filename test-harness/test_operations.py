"""boto3 through the proxy, signing for the public host with the client key pair; the origin
accepts only the origin key pair, so every success here is a verified, re-signed request.
What the origin stored is checked with a client that talks to it directly."""

import hashlib
import uuid
from dataclasses import replace

import botocore.auth
import pytest
from botocore.exceptions import ClientError

from harness.clients import presign, send, sign_header
from harness.programs import EMPTY_PART, FORM_TYPED_UPLOAD
from test_rejections import assert_refused

# The core client matrix: every test here runs against every origin kind.
pytestmark = pytest.mark.every_origin

KEYS = [
    "plain.txt",
    "with space.txt",
    "ünïcödé/ключ/鍵.bin",
    "plus+sign",
    "percent%25%literal",
    "equals=and&ampersand",
    "double//slash",
    "tilde~and'quote",
    "dots..in..name",
    "dir/../parent",
    "star*(paren)!",
    "semi;colon,comma:colon@at$dollar",
]


def test_bucket_create_list_delete(s3, origin_s3):
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert name in [b["Name"] for b in origin_s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket=name)
    s3.delete_bucket(Bucket=name)
    assert name not in [b["Name"] for b in origin_s3.list_buckets()["Buckets"]]


def test_put_get_head_delete(s3, origin_s3, bucket):
    body = b"hello, origin\n" * 100
    s3.put_object(Bucket=bucket, Key="obj", Body=body, ContentType="text/plain", Metadata={"who": "me"})
    assert origin_s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == body
    got = s3.get_object(Bucket=bucket, Key="obj")
    assert got["Body"].read() == body
    head = s3.head_object(Bucket=bucket, Key="obj")
    assert head["ContentLength"] == len(body)
    assert head["ContentType"] == "text/plain"
    assert head["Metadata"] == {"who": "me"}
    s3.delete_object(Bucket=bucket, Key="obj")
    with pytest.raises(ClientError) as e:
        origin_s3.head_object(Bucket=bucket, Key="obj")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.parametrize("expect", ["100-continue", "100-Continue"])
def test_a_signed_expect_that_envoy_answered(proxy, origin_s3, bucket, monkeypatch, expect):
    """aws-sdk-go v1 signs every header but a few, `Expect: 100-continue` of its large uploads
    included; boto 2 signs `Expect: 100-Continue` (test_boto2.py). Envoy answers the Expect, in
    any case, and drops it, so the origin gets none: the filter verifies the client's signature
    over it and leaves it out of the origin's."""
    monkeypatch.setattr(botocore.auth, "SIGNED_HEADERS_BLACKLIST", ["user-agent", "x-amzn-trace-id"])
    request = sign_header(proxy.authority, "PUT", f"/{bucket}/expected", {"Expect": expect}, b"continued")
    assert "expect;" in request.header("authorization")
    r = send(proxy.authority, request)
    assert r.status == 200, r.body
    assert origin_s3.get_object(Bucket=bucket, Key="expected")["Body"].read() == b"continued"
    # Such a request with one thing its signature covers changed leaves the origin untouched:
    # another body, an unsigned x-amz-acl added, another key in the path, another method.
    guarded = sign_header(proxy.authority, "PUT", f"/{bucket}/guarded", {"Expect": expect}, b"guarded")
    for tampered in (
        replace(guarded, body=b"something else"),
        replace(guarded, headers=guarded.headers + [("x-amz-acl", "public-read")]),
        replace(guarded, target=guarded.target.replace("/guarded", "/elsewhere")),
        replace(guarded, method="POST"),
    ):
        r = send(proxy.authority, tampered)
        assert r.status >= 400, (tampered.method, tampered.target, r.status)
    for key in ("guarded", "elsewhere"):
        with pytest.raises(ClientError):
            origin_s3.head_object(Bucket=bucket, Key=key)


def test_answers_keep_the_origins_header_name_case(proxy, origin, origin_s3, bucket):
    """Over HTTP/1 an answer's header names reach the client as the origin wrote them (ETag,
    Content-Type, x-amz-meta-*: Ceph's, as S3's), not in Envoy's lower case: htslib and libs3
    look for `ETag: "` in that case, and htslib abandoned every upload it could not find it in
    (test_htslib.py). envoy.yaml's preserve_case formatters, listener and cluster."""
    origin_s3.put_object(Bucket=bucket, Key="cased", Body=b"case", ContentType="text/plain",
                         Metadata={"who": "me"})
    path = f"/{bucket}/cased"
    straight = send(origin.authority, presign(origin.authority, "GET", path, key=origin.access_key,
                                              secret=origin.secret_key, region=origin.region))
    through = send(proxy.authority, presign(proxy.authority, "GET", path))
    assert straight.status == through.status == 200, (straight.body, through.body)
    kept = {"etag", "content-type", "last-modified", "accept-ranges", "x-amz-meta-who"}
    written = [name for name in straight.names if name.lower() in kept]
    assert "etag" in [name.lower() for name in written], straight.names
    assert [name for name in through.names if name.lower() in kept] == written, through.names


def test_header_names_in_another_case_reach_the_origin_as_what_was_signed(proxy, origin_s3, bucket):
    """The origin gets header names in the client's case (preserve_case): a signed request
    whose names are upper case stores what its lower-case twin stores, and the same request
    with an unsigned header added in upper case is refused, the origin untouched."""

    def shouting(request):
        return replace(request, headers=[(name.upper(), value) for name, value in request.headers])

    signed = sign_header(proxy.authority, "PUT", f"/{bucket}/shouted", {"Content-Type": "text/x-case",
                                                                         "x-amz-meta-who": "me"}, b"case")
    r = send(proxy.authority, shouting(signed))
    assert r.status == 200, r.body
    got = origin_s3.get_object(Bucket=bucket, Key="shouted")
    assert (got["Body"].read(), got["ContentType"], got["Metadata"]) == (b"case", "text/x-case", {"who": "me"})
    other = sign_header(proxy.authority, "PUT", f"/{bucket}/unsigned", {"x-amz-meta-who": "me"}, b"case")
    for name, value in (("X-AMZ-ACL", "public-read"), ("X-Amz-Meta-Evil", "1"), ("X-AMZ-TAGGING", "a=b")):
        assert_refused(proxy, origin_s3, bucket, shouting(other).with_header(name, value), 403, "AccessDenied")


@pytest.mark.parametrize("key", KEYS)
def test_awkward_keys_round_trip(s3, origin_s3, bucket, key):
    body = f"key={key}".encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(body)
    # The proxy is transparent: the origin holds the object under the same key.
    assert origin_s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    listed_via_proxy = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    listed_direct = [o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert listed_via_proxy == listed_direct
    s3.delete_object(Bucket=bucket, Key=key)
    assert origin_s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_list_with_prefix_delimiter_and_pages(s3, origin_s3, bucket):
    keys = [f"logs/2026/{i:02d}.txt" for i in range(7)] + ["logs/readme", "other/x", "top"]
    for key in keys:
        origin_s3.put_object(Bucket=bucket, Key=key, Body=key.encode())

    listed = s3.list_objects_v2(Bucket=bucket, Prefix="logs/", Delimiter="/")
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["logs/2026/"]
    assert [o["Key"] for o in listed["Contents"]] == ["logs/readme"]

    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="logs/2026/", MaxKeys=3)
    seen = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert seen == sorted(k for k in keys if k.startswith("logs/2026/"))

    v1 = s3.get_paginator("list_objects").paginate(Bucket=bucket, MaxKeys=4)
    assert [o["Key"] for page in v1 for o in page.get("Contents", [])] == sorted(keys)


def test_multipart_upload(s3, origin_s3, bucket):
    part1 = b"a" * (5 * 1024 * 1024)
    part2 = b"b" * 1234
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big", ContentType="application/octet-stream")
    uid = upload["UploadId"]
    etag1 = s3.upload_part(Bucket=bucket, Key="big", UploadId=uid, PartNumber=1, Body=part1)["ETag"]
    etag2 = s3.upload_part(Bucket=bucket, Key="big", UploadId=uid, PartNumber=2, Body=part2)["ETag"]
    parts = s3.list_parts(Bucket=bucket, Key="big", UploadId=uid)["Parts"]
    assert sorted(p["PartNumber"] for p in parts) == [1, 2]  # s3s-fs lists parts unordered
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="big",
        UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag1}, {"PartNumber": 2, "ETag": etag2}]},
    )
    stored = origin_s3.get_object(Bucket=bucket, Key="big")["Body"].read()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(part1 + part2).digest()


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=x"])
def test_a_multipart_upload_of_an_object_typed_as_a_form(s3, origin_s3, bucket, origin_deviation, content_type):
    """CreateMultipartUpload carries the object's type and no body: a form's type is no form
    (a signed POST with a body of that type is refused:
    `test_post_policy.py::test_a_signed_post_cannot_carry_a_form`)."""
    origin_deviation(FORM_TYPED_UPLOAD, raises=ClientError)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="form", ContentType=content_type)["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="form", UploadId=uid, PartNumber=1, Body=b"--x--")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="form", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    stored = origin_s3.get_object(Bucket=bucket, Key="form")
    assert (stored["ContentType"], stored["Body"].read()) == (content_type, b"--x--")


def test_the_origin_takes_an_empty_part_directly(origin, origin_s3, bucket, origin_deviation):
    """Without the proxy: S3 takes an empty last part (the multipart upload of an empty file)."""
    origin_deviation(EMPTY_PART)
    uid = origin_s3.create_multipart_upload(Bucket=bucket, Key="empty")["UploadId"]
    try:
        etag = origin_s3.upload_part(Bucket=bucket, Key="empty", UploadId=uid, PartNumber=1, Body=b"")["ETag"]
    except ClientError as e:
        origin_s3.abort_multipart_upload(Bucket=bucket, Key="empty", UploadId=uid)
        raise AssertionError(f"{origin.kind} refused an empty part: {e}") from e
    origin_s3.complete_multipart_upload(Bucket=bucket, Key="empty", UploadId=uid,
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert origin_s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""


def test_abort_multipart_upload(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="aborted")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="aborted", UploadId=uid, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket=bucket, Key="aborted", UploadId=uid)


def test_copy_object(s3, origin_s3, bucket):
    origin_s3.put_object(Bucket=bucket, Key="src key+1", Body=b"copy me")
    s3.copy_object(Bucket=bucket, Key="dst/key", CopySource={"Bucket": bucket, "Key": "src key+1"})
    assert origin_s3.get_object(Bucket=bucket, Key="dst/key")["Body"].read() == b"copy me"


def test_ranged_get(s3, origin_s3, bucket):
    origin_s3.put_object(Bucket=bucket, Key="digits", Body=b"0123456789")
    got = s3.get_object(Bucket=bucket, Key="digits", Range="bytes=2-5")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["Body"].read() == b"2345"


def test_delete_objects(s3, origin_s3, bucket):
    for key in ("d1", "d 2", "d+3"):
        origin_s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    origin_s3.put_object(Bucket=bucket, Key="keep", Body=b"x")
    result = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "d1"}, {"Key": "d 2"}, {"Key": "d+3"}]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["d 2", "d+3", "d1"]
    remaining = [o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert remaining == ["keep"]


def test_upload_and_download_with_the_transfer_manager(s3, origin_s3, bucket, tmp_path):
    from boto3.s3.transfer import TransferConfig

    data = bytes(range(256)) * (12 * 1024 * 1024 // 256 + 7)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    # boto3's own transfer manager: with awscrt installed (test_awscrt.py), boto3's default
    # ("auto") hands transfers to the CRT on the EC2 instance types the CRT is tuned for, and its
    # CRT transfers do not use the client's endpoint_url.
    small_parts = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024,
                                 preferred_transfer_client="classic")
    s3.upload_file(str(src), bucket, "managed.bin", Config=small_parts)
    dst = tmp_path / "dst.bin"
    s3.download_file(bucket, "managed.bin", str(dst), Config=small_parts)
    assert dst.read_bytes() == data
    assert origin_s3.head_object(Bucket=bucket, Key="managed.bin")["ContentLength"] == len(data)
