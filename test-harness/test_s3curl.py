"""s3curl (Debian's s3curl 20171008: Amazon's old Perl wrapper around curl, its own SigV2
signer) through the proxy: PUT with a computed `Content-MD5` and a `Content-Type`, GET, HEAD,
a listing, DELETE, an `x-amz-meta-*` header it signs, virtual-hosted through Envoy as curl's
HTTP proxy. s3curl signs the resource as `/bucket/key` only for the endpoints in its own list
(`@endpoints`, "customize here"), any other host as a CNAME bucket: the test adds the proxy's
names to a copy of it, as its README tells a user to, beside its `.s3curl` key file."""

import shutil
import subprocess

import pytest

from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import environ_without_proxies
from test_post_policy import stored

S3CURL = shutil.which("s3curl")
pytestmark = pytest.mark.skipif(
    S3CURL is None or shutil.which("curl") is None,
    reason="s3curl or curl is not installed: apt-get install -y s3curl curl",
)


@pytest.fixture
def s3curl(tmp_path):
    """`s3curl(*options, url, curl=(curl's options), http_proxy=None, secret=...)`: the status and body."""
    script = tmp_path / "s3curl"
    text = open(S3CURL).read()
    endpoints = "my @endpoints = ( 's3.amazonaws.com',"
    assert endpoints in text
    script.write_text(text.replace(endpoints, f"my @endpoints = ( 'localhost', '{PUBLIC_TEST_DOMAIN}', 's3.amazonaws.com',"))
    script.chmod(0o700)

    def run(*args, curl: tuple = (), http_proxy: str | None = None, secret: str = CLIENT_SECRET) -> tuple[int, str]:
        # Read beside the script, and only when no one else may read it.
        keys = tmp_path / ".s3curl"
        keys.write_text(f"%awsSecretAccessKeys = ( proxy => {{ id => '{CLIENT_KEY}', key => '{secret}' }} );\n")
        keys.chmod(0o600)
        env = environ_without_proxies()
        if http_proxy:
            env["http_proxy"] = http_proxy
        *options, url = args
        done = subprocess.run(["perl", str(script), "--id=proxy", *options, "--", "-s", "-w", "\n%{http_code}", *curl, url],
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        body, _, status = done.stdout.rpartition("\n")
        return int(status), body

    return run


@pytest.mark.every_origin
def test_objects(proxy, origin, make_proxy, origin_s3, bucket, s3curl, tmp_path):
    if origin.kind == "garage":
        # Garage takes SigV4 only: the filter re-signs SigV2 as SigV4 for it.
        proxy = make_proxy(origin_signature_version="v4")
    body = tmp_path / "body.txt"
    body.write_text("from s3curl")
    url = f"{proxy.endpoint}/{bucket}/dir/a%20b.txt"
    status, _ = s3curl("--put", str(body), "--contentType", "text/x-s3curl", "--calculateContentMd5", url)
    assert status == 200
    assert stored(origin_s3, bucket, "dir/a b.txt")[:2] == (b"from s3curl", "text/x-s3curl")
    assert s3curl(url) == (200, "from s3curl")
    assert s3curl("--head", url)[0] == 200
    status, listing = s3curl(f"{proxy.endpoint}/{bucket}?prefix=dir/")
    assert status == 200 and "<Key>dir/a b.txt</Key>" in listing
    assert s3curl("--delete", url)[0] == 204
    assert stored(origin_s3, bucket, "dir/a b.txt") is None


def test_a_signed_amz_header(proxy, origin_s3, bucket, s3curl, tmp_path):
    """s3curl signs each `x-amz-*` header given to curl with `-H`."""
    body = tmp_path / "body.txt"
    body.write_text("with metadata")
    status, text = s3curl("--put", str(body), f"{proxy.endpoint}/{bucket}/meta.txt", curl=("-H", "x-amz-meta-m: 1"))
    assert status == 200, text
    assert stored(origin_s3, bucket, "meta.txt")[2] == {"m": "1"}


def test_virtual_hosted_through_envoy_as_http_proxy(proxy, origin_s3, bucket, s3curl):
    origin_s3.put_object(Bucket=bucket, Key="v.txt", Body=b"virtual")
    assert s3curl(f"http://{bucket}.{PUBLIC_TEST_DOMAIN}/v.txt", http_proxy=proxy.endpoint) == (200, "virtual")


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket, s3curl, tmp_path):
    body = tmp_path / "body.txt"
    body.write_text("refused")
    status, text = s3curl("--put", str(body), f"{proxy.endpoint}/{bucket}/refused", secret="not-the-secret")
    assert status == 403 and "SignatureDoesNotMatch" in text
    assert stored(origin_s3, bucket, "refused") is None
