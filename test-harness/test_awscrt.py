"""The AWS Common Runtime (`awscrt`: aws-c-auth's SigV4 signer and aws-c-s3's S3 client, an
implementation of its own that the AWS CLI v2, Mountpoint for S3, the Java SDK's CRT client and
boto3's CRT transfers run) through the proxy. What it sends was read off the wire:

- s3transfer's `CRTTransferManager` (behind boto3's `preferred_transfer_client="crt"`; the AWS
  CLI v2 runs its own copy): a 20 MiB file up and down in 8 MiB parts.
  `CreateMultipartUpload` signs `x-amz-checksum-algorithm: CRC32`; each part is one aws-chunked
  chunk of the whole part, `STREAMING-UNSIGNED-PAYLOAD-TRAILER` with an `x-amz-checksum-crc32`
  trailer even over plain HTTP (`content-encoding`, `x-amz-trailer` and
  `x-amz-decoded-content-length` signed); the completion signs `x-amz-mp-object-size`; a
  download is a HEAD and ranged GETs signing `if-match`, `range` and `x-amz-checksum-mode`.
- boto3's own route to it (`TransferConfig(preferred_transfer_client="crt")`), over HTTPS only:
  boto3 ignores the client's `endpoint_url` there (the CRT's requests are serialised for AWS's
  endpoint, or `AWS_ENDPOINT_URL_S3`) and always speaks TLS.
- botocore with awscrt installed, which signs every SigV4 request with the CRT's signer in
  place of its own (`boto3[crt]`, the AWS CLI v2): put/get/list, parts, presigned URLs.
- `awscrt.s3.S3Client` itself: with no checksum configured it signs `UNSIGNED-PAYLOAD` and
  `content-length` on every request, parts included; with each checksum algorithm in a header
  (which the filter checks the body against for SHA-1 and SHA-256) or a trailer.
- `awscrt.auth.aws_sign_request`: header-signed requests with the body's SHA-256 and presigned
  URLs, sent with `http.client`.
- SigV4a (`AWS4-ECDSA-P256-SHA256`), which the CRT signs: 501 from the filter, the origin never
  reached."""

import datetime
import hashlib
import io
import os
import subprocess
import sys
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from harness.clients import REGION, RawRequest, quote_key, send
from harness.programs import UNSIGNED_TRAILER
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET
from test_post_policy import stored
from test_rejections import assert_refused, error_code
from test_sdk_rust import file_of

awscrt = pytest.importorskip("awscrt", reason="awscrt is not installed: make deps (test-harness/requirements.txt)")
from awscrt import auth, http  # noqa: E402
from awscrt import io as crt_io  # noqa: E402
from awscrt import s3 as crt_s3  # noqa: E402

MIB = 1024 * 1024
PART = 8 * MIB
TIMEOUT = 120
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@pytest.fixture(scope="module")
def bootstrap():
    group = crt_io.EventLoopGroup(2)
    return crt_io.ClientBootstrap(group, crt_io.DefaultHostResolver(group))


def credentials(secret: str = CLIENT_SECRET) -> "auth.AwsCredentialsProvider":
    return auth.AwsCredentialsProvider.new_static(CLIENT_KEY, secret)


def crt_client(bootstrap, secret: str = CLIENT_SECRET) -> "crt_s3.S3Client":
    return crt_s3.S3Client(bootstrap=bootstrap, region=REGION, credential_provider=credentials(secret),
                           tls_mode=crt_s3.S3RequestTlsMode.DISABLED, part_size=PART)


def meta_request(client, proxy, kind, method: str, target: str, length: int | None = None, **options) -> bytes:
    """One meta-request of the CRT's S3 client through the proxy; the body it received."""
    headers = [("host", proxy.authority)] + ([("content-length", str(length))] if length is not None else [])
    received = bytearray()

    def on_body(chunk, offset, **kwargs):
        received[offset:offset + len(chunk)] = chunk

    request = client.make_request(type=kind, request=http.HttpRequest(method, target, http.HttpHeaders(headers)),
                                  on_body=on_body, **options)
    request.finished_future.result(TIMEOUT)
    return bytes(received)


def put_bytes(client, proxy, target: str, body: bytes, **options) -> None:
    """A PUT_OBJECT of `body` from memory."""
    headers = http.HttpHeaders([("host", proxy.authority), ("content-length", str(len(body)))])
    request = client.make_request(type=crt_s3.S3RequestType.PUT_OBJECT,
                                  request=http.HttpRequest("PUT", target, headers, io.BytesIO(body)), **options)
    request.finished_future.result(TIMEOUT)


def trailer(algorithm="CRC32") -> "crt_s3.S3ChecksumConfig":
    return crt_s3.S3ChecksumConfig(algorithm=crt_s3.S3ChecksumAlgorithm[algorithm],
                                   location=crt_s3.S3ChecksumLocation.TRAILER)


# s3transfer's CRT transfer manager, built for the proxy's endpoint.


def transfer_manager(proxy, secret: str = CLIENT_SECRET):
    import botocore.session
    from botocore.config import Config
    from s3transfer.crt import BotocoreCRTRequestSerializer, CRTTransferManager, create_s3_crt_client

    client = create_s3_crt_client(REGION, crt_credentials_provider=credentials(secret), part_size=PART, use_ssl=False)
    serializer = BotocoreCRTRequestSerializer(botocore.session.Session(), {
        "region_name": REGION, "endpoint_url": proxy.endpoint, "config": Config(s3={"addressing_style": "path"})})
    return CRTTransferManager(client, serializer)


@pytest.mark.every_origin
def test_transfer_manager_round_trip_in_parts(proxy, origin_s3, bucket, tmp_path, origin_deviation):
    # Its parts go with an unsigned CRC32 trailer.
    origin_deviation(UNSIGNED_TRAILER, raises=ClientError)
    source = file_of(tmp_path, 20 * MIB)
    data = source.read_bytes()
    with transfer_manager(proxy) as manager:
        manager.upload(str(source), bucket, "crt/large é.bin").result(TIMEOUT)
        obj = origin_s3.get_object(Bucket=bucket, Key="crt/large é.bin")
        assert obj["ETag"].endswith('-3"')
        assert obj["Body"].read() == data
        manager.download(bucket, "crt/large é.bin", str(tmp_path / "back")).result(TIMEOUT)
    assert (tmp_path / "back").read_bytes() == data


def test_transfer_manager_wrong_secret_is_refused(proxy, origin_s3, bucket, tmp_path):
    before = proxy.origin_requests()
    with transfer_manager(proxy, "not-the-secret") as manager:
        with pytest.raises(ClientError) as e:
            manager.upload(str(file_of(tmp_path, 3 * MIB)), bucket, "refused").result(TIMEOUT)
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert proxy.origin_requests() == before
    assert stored(origin_s3, bucket, "refused") is None


# boto3 and botocore as they run with awscrt installed (`pip install boto3[crt]`, and the AWS CLI
# v2's botocore), each in a process of its own: the harness turns botocore's use of the CRT off
# for every other test (BOTO_DISABLE_CRT, harness/__init__.py).

BOTO3_CRT_TRANSFER = """
import sys
import boto3, boto3.crt, boto3.s3.transfer
from boto3.s3.transfer import S3Transfer, TransferConfig
from s3transfer.crt import CRTTransferManager, acquire_crt_s3_process_lock, create_s3_crt_client

endpoint, ca, bucket, source, back = sys.argv[1:]
if acquire_crt_s3_process_lock(boto3.crt.PROCESS_LOCK_NAME) is None:
    sys.exit(3)
# The throw-away CA, for which boto3 has no setting.
boto3.crt.create_s3_crt_client = lambda **kw: create_s3_crt_client(**kw, verify=ca)
client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="%s", aws_secret_access_key="%s",
                      region_name="%s")
config = TransferConfig(preferred_transfer_client="crt", multipart_chunksize=%d, multipart_threshold=%d)
manager = boto3.s3.transfer.create_transfer_manager(client, config)
assert isinstance(manager, CRTTransferManager), manager
with S3Transfer(manager=manager) as transfer:
    transfer.upload_file(source, bucket, "boto3-crt.bin")
    transfer.download_file(bucket, "boto3-crt.bin", back)
""" % (CLIENT_KEY, CLIENT_SECRET, REGION, PART, PART)

BOTOCORE_CRT_SIGNER = """
import io, sys
import boto3, botocore.auth, requests
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

endpoint, bucket = sys.argv[1:]
assert botocore.auth.AUTH_TYPE_MAPS["s3v4"].__module__ == "botocore.crt.auth", botocore.auth.AUTH_TYPE_MAPS
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="%s", aws_secret_access_key="%s",
                  region_name="%s", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
key = "crt signer/a b=c é.txt"
s3.put_object(Bucket=bucket, Key=key, Body=b"signed by botocore's CRT signer", ContentType="text/x-crt",
              Metadata={"signer": "aws-c-auth"})
got = s3.get_object(Bucket=bucket, Key=key, Range="bytes=10-18")["Body"].read()
assert got == b"botocore'", got
listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="crt signer/")["Contents"]]
assert listed == [key], listed
# A multipart upload through boto3's classic transfer manager.
s3.upload_fileobj(io.BytesIO(bytes(range(256)) * 45000), bucket, "parts.bin",
                  Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20,
                                        preferred_transfer_client="classic"))
url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "presigned é.txt"}, ExpiresIn=300)
r = requests.put(url, data=b"presigned by the CRT", timeout=30)
assert r.status_code == 200, r.text
url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "presigned é.txt"}, ExpiresIn=300)
r = requests.get(url, timeout=30)
assert (r.status_code, r.content) == (200, b"presigned by the CRT"), r.text
""" % (CLIENT_KEY, CLIENT_SECRET, REGION)


def with_the_crt(script: str, *args: str) -> subprocess.CompletedProcess:
    """`script` in a Python of its own where botocore uses awscrt, as it does once installed."""
    env = {k: v for k, v in os.environ.items() if k != "BOTO_DISABLE_CRT"}
    return subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True,
                          timeout=TIMEOUT)


def test_boto3_transfer_config_crt_over_https(tls_proxy, origin_s3, bucket, tmp_path, monkeypatch):
    """boto3 hands a transfer to the CRT only as it would to AWS: its CRT client is built with
    TLS on and its requests serialised by a fresh botocore session, so the client's
    `endpoint_url` is not used (`AWS_ENDPOINT_URL_S3` and the config file are)."""
    config_file = tmp_path / "config"
    config_file.write_text("[default]\ns3 =\n    addressing_style = path\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", tls_proxy.endpoint)
    source = file_of(tmp_path, 20 * MIB)
    done = with_the_crt(BOTO3_CRT_TRANSFER, tls_proxy.endpoint, tls_proxy.ca_bundle, bucket, str(source),
                        str(tmp_path / "back"))
    if done.returncode == 3:
        pytest.skip("another process holds boto3's CRT lock: boto3 would use its classic transfer manager")
    assert done.returncode == 0, done.stderr
    data = source.read_bytes()
    obj = origin_s3.get_object(Bucket=bucket, Key="boto3-crt.bin")
    assert obj["ETag"].endswith('-3"')
    assert obj["Body"].read() == data
    assert (tmp_path / "back").read_bytes() == data


@pytest.mark.every_origin
def test_botocore_with_the_crt_signer(proxy, origin_s3, bucket):
    """With awscrt installed, botocore signs every SigV4 request with aws-c-auth
    (`botocore.crt.auth`), headers and presigned URLs alike."""
    done = with_the_crt(BOTOCORE_CRT_SIGNER, proxy.endpoint, bucket)
    assert done.returncode == 0, done.stderr
    assert stored(origin_s3, bucket, "crt signer/a b=c é.txt") == (
        b"signed by botocore's CRT signer", "text/x-crt", {"signer": "aws-c-auth"})
    assert origin_s3.get_object(Bucket=bucket, Key="parts.bin")["ETag"].endswith('-3"')
    assert stored(origin_s3, bucket, "presigned é.txt")[0] == b"presigned by the CRT"


# awscrt.s3.S3Client.


@pytest.mark.every_origin
def test_s3_client_put_and_get(proxy, origin_s3, bucket, bootstrap, tmp_path, origin_deviation):
    # Its uploads go with an unsigned CRC32 trailer.
    origin_deviation(UNSIGNED_TRAILER, raises=crt_s3.S3ResponseError)
    client = crt_client(bootstrap)
    signing = crt_s3.create_default_s3_signing_config(region=REGION, credential_provider=credentials())
    small = b"from the CRT's S3 client"
    target = f"/{bucket}/{quote_key('crt/small a+b é.txt')}"
    put_bytes(client, proxy, target, small, signing_config=signing)
    assert stored(origin_s3, bucket, "crt/small a+b é.txt")[0] == small
    got = meta_request(client, proxy, crt_s3.S3RequestType.GET_OBJECT, "GET", target, signing_config=signing)
    assert got == small

    # 20 MiB in 8 MiB parts, without and with a CRC32 trailer on each part.
    source = file_of(tmp_path, 20 * MIB)
    data = source.read_bytes()
    for key, checksums in (("plain.bin", None), ("crc32.bin", trailer())):
        meta_request(client, proxy, crt_s3.S3RequestType.PUT_OBJECT, "PUT", f"/{bucket}/{key}", len(data),
                     send_filepath=str(source), checksum_config=checksums)
        obj = origin_s3.get_object(Bucket=bucket, Key=key)
        assert obj["ETag"].endswith('-3"')
        assert obj["Body"].read() == data
        got = meta_request(client, proxy, crt_s3.S3RequestType.GET_OBJECT, "GET", f"/{bucket}/{key}",
                           checksum_config=crt_s3.S3ChecksumConfig(validate_response=True))
        assert got == data

    # Any other operation, here ListObjectsV2.
    listing = meta_request(client, proxy, crt_s3.S3RequestType.DEFAULT, "GET",
                           f"/{bucket}?list-type=2&prefix=crt%2F", operation_name="ListObjectsV2")
    assert b"<Key>crt/small a+b \xc3\xa9.txt</Key>" in listing, listing


@pytest.mark.every_origin
@pytest.mark.parametrize("size", [1000, 9 * MIB], ids=["single", "parts"])
@pytest.mark.parametrize("location", ["HEADER", "TRAILER"])
@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_s3_client_checksums(proxy, origin_s3, bucket, bootstrap, tmp_path, algorithm, location, size,
                             origin_deviation):
    if location == "TRAILER":
        origin_deviation(UNSIGNED_TRAILER, raises=crt_s3.S3ResponseError)
    source = file_of(tmp_path, size)
    checksums = crt_s3.S3ChecksumConfig(algorithm=crt_s3.S3ChecksumAlgorithm[algorithm],
                                        location=crt_s3.S3ChecksumLocation[location])
    meta_request(crt_client(bootstrap), proxy, crt_s3.S3RequestType.PUT_OBJECT, "PUT", f"/{bucket}/k", size,
                 send_filepath=str(source), checksum_config=checksums)
    assert origin_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == source.read_bytes()


def test_s3_client_wrong_secret_is_refused(proxy, origin_s3, bucket, bootstrap):
    before = proxy.origin_requests()
    with pytest.raises(crt_s3.S3ResponseError) as e:
        put_bytes(crt_client(bootstrap, "not-the-secret"), proxy, f"/{bucket}/refused", b"x",
                  checksum_config=trailer())
    assert e.value.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in e.value.body
    assert proxy.origin_requests() == before
    assert stored(origin_s3, bucket, "refused") is None


# awscrt.auth.aws_sign_request.


def signing_config(signature_type=auth.AwsSignatureType.HTTP_REQUEST_HEADERS, body_hash: str | None = None,
                   algorithm=auth.AwsSigningAlgorithm.V4, region: str = REGION, **options):
    """A signing configuration as S3 wants one: the path as sent (no double encoding, no
    normalisation), `x-amz-content-sha256` for header signing."""
    header = (auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256
              if signature_type == auth.AwsSignatureType.HTTP_REQUEST_HEADERS else auth.AwsSignedBodyHeaderType.NONE)
    return auth.AwsSigningConfig(
        algorithm=algorithm, signature_type=signature_type, credentials_provider=credentials(), region=region,
        service="s3", date=datetime.datetime.now(datetime.timezone.utc),
        signed_body_value=body_hash or auth.AwsSignedBodyValue.UNSIGNED_PAYLOAD, signed_body_header_type=header,
        use_double_uri_encode=False, should_normalize_uri_path=False, **options)


def crt_signed(authority: str, method: str, target: str, config, body: bytes = b"", headers=()) -> RawRequest:
    """A request the CRT signed, as it goes on the wire."""
    fields = [("host", authority), *headers] + ([("content-length", str(len(body)))] if body else [])
    request = http.HttpRequest(method, target, http.HttpHeaders(fields))
    auth.aws_sign_request(request, config).result(TIMEOUT)
    return RawRequest(method, request.path, [(n, v) for n, v in request.headers if n.lower() != "host"], body)


def test_signer_header_signed(proxy, origin_s3, bucket):
    key = "crt signed/a+b=c é.txt"
    target = f"/{bucket}/{quote_key(key)}"
    body = b"signed by aws-c-auth"
    put = crt_signed(proxy.authority, "PUT", target, signing_config(body_hash=hashlib.sha256(body).hexdigest()), body,
                     headers=[("content-type", "text/x-crt"), ("x-amz-meta-signer", "aws-c-auth")])
    assert put.header("authorization").startswith(f"AWS4-HMAC-SHA256 Credential={CLIENT_KEY}/")
    r = send(proxy.authority, put, port=proxy.port)
    assert r.status == 200, r.body
    assert stored(origin_s3, bucket, key) == (body, "text/x-crt", {"signer": "aws-c-auth"})
    get = crt_signed(proxy.authority, "GET", target, signing_config(body_hash=EMPTY_SHA256),
                     headers=[("range", "bytes=10-14")])
    r = send(proxy.authority, get, port=proxy.port)
    assert (r.status, r.body) == (206, b"aws-c")
    # A listing, its query signed as the CRT canonicalises it.
    listing = crt_signed(proxy.authority, "GET", f"/{bucket}?list-type=2&prefix=crt%20signed%2F",
                         signing_config(body_hash=EMPTY_SHA256))
    r = send(proxy.authority, listing, port=proxy.port)
    assert r.status == 200 and b"<Key>crt signed/a+b=c \xc3\xa9.txt</Key>" in r.body, r.body
    # The signer takes the path as given (S3's configuration encodes nothing twice): a `+` the
    # caller left raw is signed raw, where S3 encodes it, and is refused, as Garage refuses it
    # directly (s3s-fs alone takes it). Callers encode the key, as s3transfer does.
    raw = crt_signed(proxy.authority, "GET", f"/{bucket}/a+b", signing_config(body_hash=EMPTY_SHA256))
    r = send(proxy.authority, raw, port=proxy.port)
    assert (r.status, error_code(r)) == (403, "SignatureDoesNotMatch")
    # A body other than the one signed is refused by its hash.
    r = send(proxy.authority, RawRequest("PUT", put.target, put.headers, b"signed by aws-c-AUTH"), port=proxy.port)
    assert (r.status, error_code(r)) == (400, "XAmzContentSHA256Mismatch"), r.body
    assert stored(origin_s3, bucket, key)[0] == body


def test_signer_presigned(proxy, origin_s3, bucket):
    key = "crt presigned/é+.txt"
    target = f"/{bucket}/{quote_key(key)}"
    presign = signing_config(auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS, expiration_in_seconds=300)
    put = crt_signed(proxy.authority, "PUT", target, presign)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(put.target).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["300"]
    assert query["X-Amz-SignedHeaders"] == ["host"]
    r = send(proxy.authority, RawRequest("PUT", put.target, body=b"presigned by the CRT"), port=proxy.port)
    assert r.status == 200, r.body
    assert stored(origin_s3, bucket, key)[0] == b"presigned by the CRT"
    get = crt_signed(proxy.authority, "GET", target, presign)
    r = send(proxy.authority, RawRequest("GET", get.target), port=proxy.port)
    assert (r.status, r.body) == (200, b"presigned by the CRT")
    # The URL for one key fetches no other.
    r = send(proxy.authority, RawRequest("GET", get.target.replace("presigned", "presignex")), port=proxy.port)
    assert (r.status, error_code(r)) == (403, "SignatureDoesNotMatch")


# SigV4a, which the CRT signs: refused, unread by the origin.


def test_sigv4a_is_not_implemented(proxy, origin_s3, bucket, bootstrap):
    v4a = auth.AwsSigningAlgorithm.V4_ASYMMETRIC
    body = b"sigv4a"
    put = crt_signed(proxy.authority, "PUT", f"/{bucket}/v4a",
                     signing_config(body_hash=hashlib.sha256(body).hexdigest(), algorithm=v4a), body)
    assert put.header("authorization").startswith("AWS4-ECDSA-P256-SHA256 ")
    assert put.header("x-amz-region-set") == REGION
    assert_refused(proxy, origin_s3, bucket, put, 501, "NotImplemented")

    presigned = crt_signed(proxy.authority, "PUT", f"/{bucket}/v4a-url",
                           signing_config(auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS, algorithm=v4a, region="*",
                                          expiration_in_seconds=300))
    assert "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256" in presigned.target
    assert_refused(proxy, origin_s3, bucket, RawRequest("PUT", presigned.target, body=body), 501, "NotImplemented")

    # The S3 client asked for SigV4a: its first request refused, nothing stored.
    before = proxy.origin_requests()
    signing = crt_s3.create_default_s3_signing_config(region=REGION, credential_provider=credentials())
    signing = signing.replace(algorithm=v4a)
    with pytest.raises(crt_s3.S3ResponseError) as e:
        put_bytes(crt_client(bootstrap), proxy, f"/{bucket}/v4a-client", body, signing_config=signing)
    assert e.value.status_code == 501 and b"<Code>NotImplemented</Code>" in e.value.body
    assert proxy.origin_requests() == before
    assert stored(origin_s3, bucket, "v4a-client") is None

