"""Perl's Net::Amazon::S3 (Debian's libnet-amazon-s3-perl 0.991: SigV4 in Perl, over LWP)
through the proxy (test-harness/perl-client/s3.pl, one process per operation): objects, a
`Range`, copy, a 3-part upload, listing, a presigned URL fetched with `requests`, virtual-hosted
through Envoy as its HTTP proxy. Asserted from the requests it sent: every body signed by its
SHA-256, and it signs `Date` beside `X-Amz-Date`, `Content-Length`, and `Range` when it sends one."""

import hashlib

import pytest
import requests

from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.paths import ROOT
from harness.clients import REGION
from harness.programs import UNTYPED_XML_ANSWER, environ_without_proxies, perl_modules_missing, run_json_client
from test_post_policy import stored
from test_sdk_rust import file_of

PERL_CLIENT = ROOT / "test-harness" / "perl-client" / "s3.pl"


_missing = perl_modules_missing("libnet-amazon-s3-perl", "Net::Amazon::S3")
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")

MIB = 1024 * 1024


def pl(host: str, bucket: str, *ops: tuple, secret: str = CLIENT_SECRET, region: str = REGION,
       http_proxy: str | None = None, check: bool = True) -> dict:
    """Runs the operations (each a tuple: name, arguments) in one process; its JSON: `results`
    (and, at a failure, `error` and `code`) and the `requests` sent, each with its `op` index."""
    env = environ_without_proxies()
    env.update(AWS_ACCESS_KEY_ID=CLIENT_KEY, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION=region)
    if http_proxy:
        env.update(http_proxy=http_proxy, S3_VIRTUAL_HOST="1")
    words = [w for i, op in enumerate(ops) for w in (["--"] if i else []) + [str(a) for a in op]]
    return run_json_client(["perl", str(PERL_CLIENT), host, bucket, *words], env, ops[0][0], check)


def sent(out: dict, op: int) -> list[dict]:
    return [r for r in out["requests"] if r["op"] == op]


@pytest.mark.every_origin
def test_objects(proxy, origin_s3, bucket):
    key = "dir/a b&c=d é.txt"
    # (A copy source with UTF-8 in it goes into the header raw, which the origin refuses
    # without the proxy too: an ASCII one.)
    origin_s3.put_object(Bucket=bucket, Key="dir/plain.txt", Body=b"plain")
    out = pl(proxy.authority, bucket, ("put", key, "from Perl", "text/x-perl"), ("get", key), ("get", key, "bytes=5-8"),
             ("copy", "dir/plain.txt", "dir/copy.txt"), ("list", "dir/"))
    [put] = sent(out, 0)
    assert put["sha256"] == hashlib.sha256(b"from Perl").hexdigest()
    assert put["signed"] == "content-length;content-type;date;host;x-amz-content-sha256;x-amz-date;x-amz-meta-m"
    assert out["results"][1] == {"value": "from Perl", "content_type": "text/x-perl", "meta": "1"}
    assert out["results"][2]["value"] == "Perl"
    assert sent(out, 2)[0]["signed"] == "content-length;date;host;range;x-amz-content-sha256;x-amz-date"
    assert out["results"][4] == [key, "dir/copy.txt", "dir/plain.txt"]
    assert stored(origin_s3, bucket, key) == (b"from Perl", "text/x-perl", {"m": "1"})
    assert stored(origin_s3, bucket, "dir/copy.txt")[0] == b"plain"
    pl(proxy.authority, bucket, ("delete", key))
    assert stored(origin_s3, bucket, key) is None


@pytest.mark.every_origin
def test_multipart_upload(proxy, origin_s3, bucket, tmp_path, origin_deviation):
    origin_deviation(UNTYPED_XML_ANSWER)
    path = file_of(tmp_path, 11 * MIB + 1)
    out = pl(proxy.authority, bucket, ("multipart", "large.bin", path, 5 * MIB))
    assert out["results"] == [3]
    parts = [r for r in out["requests"] if "partNumber=" in r["uri"]]
    assert all(len(r["sha256"]) == 64 for r in parts), parts
    obj = origin_s3.get_object(Bucket=bucket, Key="large.bin")
    assert obj["ETag"].endswith('-3"')
    assert obj["Body"].read() == path.read_bytes()


@pytest.mark.every_origin
def test_presigned_url(proxy, origin_s3, bucket):
    origin_s3.put_object(Bucket=bucket, Key="presigned é.txt", Body=b"presigned")
    [url] = pl(proxy.authority, bucket, ("presign", "presigned é.txt", "GET"))["results"]
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    r = requests.get(url, timeout=30)
    assert (r.status_code, r.content) == (200, b"presigned")


def test_virtual_hosted_through_envoy_as_http_proxy(proxy, origin_s3, bucket):
    out = pl(PUBLIC_TEST_DOMAIN, bucket, ("put", "v.txt", "virtual", "text/plain"), ("get", "v.txt"),
             http_proxy=proxy.endpoint)
    assert sent(out, 0)[0]["uri"] == f"http://{bucket}.{PUBLIC_TEST_DOMAIN}/v.txt"
    assert out["results"][1]["value"] == "virtual"
    assert stored(origin_s3, bucket, "v.txt")[0] == b"virtual"


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket):
    out = pl(proxy.authority, bucket, ("put", "refused", "x", "text/plain"), secret="not-the-secret", check=False)
    assert out.get("code") == "SignatureDoesNotMatch", out
    assert stored(origin_s3, bucket, "refused") is None
