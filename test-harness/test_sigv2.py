"""SigV2 clients through the proxy: boto3 with `signature_version="s3"` (header and presigned),
`aws s3 presign` (the AWS CLI v1 presigns with SigV2), s3cmd (`signurl`, and its own requests
with `signature_v2 = True`). s3s-fs checks SigV2 and SigV4 itself, with the origin keys: what
it stores proves the filter verified and re-signed each request. With
`origin_signature_version: v4` the origin must get SigV4, which its log says."""

import datetime
import os
import re
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from harness.clients import RawRequest, s3_client, send, target_of
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from test_rejections import assert_refused

V2 = {"signature_version": "s3"}


@pytest.fixture
def s3_v2(proxy):
    return s3_client(proxy.endpoint, signature_version="s3")


def test_boto3_sigv2_header_auth(s3_v2, origin_s3, bucket):
    s3_v2.put_object(Bucket=bucket, Key="v2/a b.txt", Body=b"signed v2", ContentType="text/plain",
                     Metadata={"owner": "alice"})
    head = origin_s3.head_object(Bucket=bucket, Key="v2/a b.txt")
    assert head["ContentType"] == "text/plain" and head["Metadata"] == {"owner": "alice"}
    assert s3_v2.get_object(Bucket=bucket, Key="v2/a b.txt")["Body"].read() == b"signed v2"
    assert s3_v2.head_object(Bucket=bucket, Key="v2/a b.txt")["ContentLength"] == 9
    got = s3_v2.get_object(Bucket=bucket, Key="v2/a b.txt", Range="bytes=0-5")["Body"].read()
    assert got == b"signed"
    s3_v2.delete_object(Bucket=bucket, Key="v2/a b.txt")
    with pytest.raises(ClientError):
        origin_s3.head_object(Bucket=bucket, Key="v2/a b.txt")


def test_boto3_sigv2_listing(s3_v2, origin_s3, bucket):
    """Listing signs the bucket as `/bucket/` (as the SDKs do). s3s-fs checks a path-style
    bucket as sent (`/bucket`) and refuses botocore's own SigV2 listing; the proxy verifies
    either spelling and signs the one the origin reads."""
    for key in ("p/1", "p/2", "q/3"):
        origin_s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    listed = s3_v2.list_objects(Bucket=bucket, Prefix="p/")
    assert [o["Key"] for o in listed["Contents"]] == ["p/1", "p/2"]
    # ListBuckets' paging and filter (2024), which SigV2 leaves unsigned (CS61, 2026-12-05).
    assert bucket in [b["Name"] for b in s3_v2.list_buckets(MaxBuckets=1000)["Buckets"]]
    listed = s3_v2.list_buckets(MaxBuckets=1000, BucketRegion=origin_s3.meta.region_name)
    assert listed["ResponseMetadata"]["HTTPStatusCode"] == 200 and isinstance(listed["Buckets"], list)


def test_boto3_sigv2_presigned(proxy, origin_s3, bucket):
    v2 = s3_client(proxy.endpoint, signature_version="s3")
    origin_s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"presigned v2")
    url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc.txt"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in url and "X-Amz-" not in url
    assert send(proxy.authority, RawRequest("GET", target_of(url))).body == b"presigned v2"
    head = send(proxy.authority, RawRequest("HEAD", target_of(
        v2.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": "doc.txt"}))))
    assert head.status == 200

    put = v2.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up.txt"}, ExpiresIn=300)
    assert send(proxy.authority, RawRequest("PUT", target_of(put), body=b"uploaded")).status == 200
    assert origin_s3.get_object(Bucket=bucket, Key="up.txt")["Body"].read() == b"uploaded"
    # The SDK copies a signed Content-Type into the URL; the header must come along too.
    typed = v2.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "typed.txt",
                                                            "ContentType": "text/csv"})
    r = send(proxy.authority, RawRequest("PUT", target_of(typed), [("Content-Type", "text/csv")], b"a,b"))
    assert r.status == 200, r.body
    assert origin_s3.head_object(Bucket=bucket, Key="typed.txt")["ContentType"] == "text/csv"

    delete = v2.generate_presigned_url("delete_object", Params={"Bucket": bucket, "Key": "up.txt"})
    assert send(proxy.authority, RawRequest("DELETE", target_of(delete))).status == 204
    with pytest.raises(ClientError):
        origin_s3.head_object(Bucket=bucket, Key="up.txt")


def test_tampered_and_expired_sigv2_urls(proxy, origin_s3, bucket):
    v2 = s3_client(proxy.endpoint, signature_version="s3")
    origin_s3.put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    origin_s3.put_object(Bucket=bucket, Key="b.txt", Body=b"b")
    url = target_of(v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a.txt"}))
    expires = re.search(r"Expires=(\d+)", url).group(1)
    for tampered in (
        url.replace("/a.txt", "/b.txt"),
        url.replace(f"Expires={expires}", f"Expires={int(expires) + 3600}"),
        url.replace("?", "?acl&", 1),
        url.replace("?", "?versionId=1&", 1),
    ):
        assert_refused(proxy, origin_s3, bucket, RawRequest("GET", tampered), 403, "SignatureDoesNotMatch")
    # A parameter an origin would act on that SigV2 does not sign.
    assert_refused(proxy, origin_s3, bucket, RawRequest("GET", url.replace("?", "?retention&", 1)), 403, "AccessDenied")
    # A listing parameter is unsigned; one holding a literal `;` would be two to an origin whose
    # query parser splits there.
    assert_refused(proxy, origin_s3, bucket, RawRequest("GET", url.replace("?", "?prefix=a;tagging&", 1)), 400,
                   "InvalidArgument")
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "time", lambda: past.timestamp())
        old = target_of(v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a.txt"}, ExpiresIn=60))
    r = assert_refused(proxy, origin_s3, bucket, RawRequest("GET", old), 403, "AccessDenied")
    assert b"Request has expired" in r.body


def test_a_part_upload_url_folded_into_one_value_is_refused(proxy, origin_s3, bucket):
    """SigV2 signs sub-resource values decoded and joined with `&`: `partNumber=1&uploadId=U`
    and the one parameter `partNumber=1%26uploadId%3DU` read the same. Folded, an UploadPart
    URL would reach the origin as a PutObject of the key."""
    v2 = s3_client(proxy.endpoint, signature_version="s3")
    upload = origin_s3.create_multipart_upload(Bucket=bucket, Key="folded.bin")["UploadId"]
    url = target_of(v2.generate_presigned_url(
        "upload_part", Params={"Bucket": bucket, "Key": "folded.bin", "UploadId": upload, "PartNumber": 1}))
    # botocore writes uploadId first; the string to sign sorts partNumber first.
    both = re.search(r"uploadId=([^&]+)&partNumber=1", url)
    folded = url.replace(both.group(0), f"partNumber=1%26uploadId%3D{both.group(1)}")
    assert folded != url
    assert_refused(proxy, origin_s3, bucket, RawRequest("PUT", folded, [], b"not the object"), 400, "InvalidArgument")
    # The URL as signed uploads its part.
    assert send(proxy.authority, RawRequest("PUT", url, [], b"part one"), port=proxy.port).status == 200


def aws_cli_env(tmp_path: Path, config: str) -> dict:
    (tmp_path / "aws-config").write_text(config)
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": CLIENT_KEY,
        "AWS_SECRET_ACCESS_KEY": CLIENT_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def test_aws_cli_v1_presign(proxy, origin_s3, bucket, tmp_path):
    origin_s3.put_object(Bucket=bucket, Key="report 2026.pdf", Body=b"%PDF")
    cli = str(Path(sys.executable).parent / "aws")
    done = subprocess.run(
        [cli, "--endpoint-url", proxy.endpoint, "s3", "presign", f"s3://{bucket}/report 2026.pdf", "--expires-in", "300"],
        env=aws_cli_env(tmp_path, "[default]\n"), capture_output=True, text=True, timeout=60, check=True,
    )
    url = done.stdout.strip()
    assert "AWSAccessKeyId=" in url, url
    assert send(proxy.authority, RawRequest("GET", target_of(url))).body == b"%PDF"


def s3cmd(tmp_path: Path, host_bucket: str, *args: str, proxy=None, v2: bool = True) -> str:
    config = tmp_path / "s3cfg"
    lines = [
        "[default]",
        f"access_key = {CLIENT_KEY}",
        f"secret_key = {CLIENT_SECRET}",
        f"host_base = {PUBLIC_TEST_DOMAIN}",
        f"host_bucket = {host_bucket}",
        "use_https = False",
        f"signature_v2 = {v2}",
        "check_ssl_certificate = False",
    ]
    if proxy is not None:
        lines += ["proxy_host = 127.0.0.1", f"proxy_port = {proxy.port}"]
    config.write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "s3cmd"), "-c", str(config), *args],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, f"s3cmd {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.parametrize("style", ["path", "virtual"])
def test_s3cmd_signurl(proxy, origin_s3, bucket, tmp_path, style):
    origin_s3.put_object(Bucket=bucket, Key="photo.jpg", Body=b"JPEG")
    host_bucket = PUBLIC_TEST_DOMAIN if style == "path" else f"%(bucket)s.{PUBLIC_TEST_DOMAIN}"
    url = s3cmd(tmp_path, host_bucket, "signurl", f"s3://{bucket}/photo.jpg", "+300").strip()
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname == (PUBLIC_TEST_DOMAIN if style == "path" else f"{bucket}.{PUBLIC_TEST_DOMAIN}"), url
    r = send(parts.netloc, RawRequest("GET", target_of(url)), port=proxy.port)
    assert (r.status, r.body) == (200, b"JPEG"), r.body


@pytest.mark.parametrize("v2", [True, False])
def test_s3cmd_requests(proxy, origin_s3, bucket, tmp_path, v2):
    """s3cmd's own requests, SigV2 or SigV4, virtual-hosted through Envoy as its HTTP proxy."""
    local = tmp_path / "notes.txt"
    local.write_bytes(b"s3cmd was here")
    host_bucket = f"%(bucket)s.{PUBLIC_TEST_DOMAIN}"
    s3cmd(tmp_path, host_bucket, "put", str(local), f"s3://{bucket}/notes.txt", proxy=proxy, v2=v2)
    assert origin_s3.get_object(Bucket=bucket, Key="notes.txt")["Body"].read() == b"s3cmd was here"
    listing = s3cmd(tmp_path, host_bucket, "ls", f"s3://{bucket}/", proxy=proxy, v2=v2)
    assert "notes.txt" in listing
    back = tmp_path / "back.txt"
    s3cmd(tmp_path, host_bucket, "get", f"s3://{bucket}/notes.txt", str(back), proxy=proxy, v2=v2)
    assert back.read_bytes() == b"s3cmd was here"
    s3cmd(tmp_path, host_bucket, "del", f"s3://{bucket}/notes.txt", proxy=proxy, v2=v2)


def test_sigv2_upgraded_to_sigv4(origin, make_proxy, origin_s3, bucket):
    """`origin_signature_version: v4`: the origin gets SigV4 for SigV2 clients; s3s-fs logs
    which version it checked."""
    proxy = make_proxy(origin_signature_version="v4")
    v2 = s3_client(proxy.endpoint, signature_version="s3")
    mark = len(origin.log_text())
    v2.put_object(Bucket=bucket, Key="upgraded.txt", Body=b"now v4", ContentType="text/plain",
                  Metadata={"k": "v"})
    assert v2.get_object(Bucket=bucket, Key="upgraded.txt")["Body"].read() == b"now v4"
    url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "upgraded.txt"}, ExpiresIn=120)
    assert "AWSAccessKeyId=" in url
    assert send(proxy.authority, RawRequest("GET", target_of(url))).body == b"now v4"
    assert v2.list_objects(Bucket=bucket)["Contents"][0]["Key"] == "upgraded.txt"
    head = origin_s3.head_object(Bucket=bucket, Key="upgraded.txt")
    assert head["ContentType"] == "text/plain" and head["Metadata"] == {"k": "v"}
    log = origin.log_text()[mark:]
    assert "checked signature v4" in log and "checked signature v2" not in log, log[-2000:]


def test_sigv2_clients_reach_an_origin_that_refuses_sigv2():
    """Garage refuses SigV2 outright; with `origin_signature_version: v4` SigV2 clients work
    through the proxy all the same."""
    from harness import Envoy, filter_config_json, render
    from harness.programs import Garage

    with Garage() as garage:
        direct = s3_client(garage.endpoint, garage.access_key, garage.secret_key, region=garage.region)
        direct.create_bucket(Bucket="legacy")
        with pytest.raises(ClientError):
            s3_client(garage.endpoint, garage.access_key, garage.secret_key, region=garage.region,
                      signature_version="s3").put_object(Bucket="legacy", Key="direct", Body=b"x")
        config = render(origin_host="127.0.0.1", origin_port=garage.port,
                        filter_config=filter_config_json(garage, origin_signature_version="v4"))
        with Envoy(config) as proxy:
            v2 = s3_client(proxy.endpoint, signature_version="s3")
            v2.put_object(Bucket="legacy", Key="old client.txt", Body=b"v2 in, v4 out", ContentType="text/plain")
            assert direct.get_object(Bucket="legacy", Key="old client.txt")["Body"].read() == b"v2 in, v4 out"
            url = v2.generate_presigned_url("get_object", Params={"Bucket": "legacy", "Key": "old client.txt"})
            assert send(proxy.authority, RawRequest("GET", target_of(url))).body == b"v2 in, v4 out"
            assert [o["Key"] for o in v2.list_objects(Bucket="legacy")["Contents"]] == ["old client.txt"]
