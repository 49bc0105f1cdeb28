"""boto 2.49 (Debian's python3-boto: the legacy `boto`, still in old code bases, with SigV2
and SigV4 signers of its own, not botocore's) through the proxy (test-harness/boto2-client/s3.py,
run by the system's Python 3, one process per operation): put/get/list/delete with both
signers, path-style and virtual-hosted, `generate_url` presigned (SigV2), a 3-part upload.

boto 2 signs `expect:100-Continue` (its own spelling) with SigV4; Envoy answers the `Expect`
and drops it, and the filter once verified a consumed `Expect` as `100-continue` only, so
every SigV4 upload from boto 2 was refused (403 `SignatureDoesNotMatch`) while the origin
took it sent directly."""

import json
import os
import subprocess

import pytest
import requests

from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.paths import ROOT
from harness.programs import COMPLETION_ETAG, environ_without_proxies
from test_post_policy import stored
from test_sdk_rust import file_of

BOTO2_CLIENT = ROOT / "test-harness" / "boto2-client" / "s3.py"
# Debian's boto is installed for Debian's Python, not the tests' virtual environment.
SYSTEM_PYTHON = "/usr/bin/python3"

MIB = 1024 * 1024


def boto2_missing() -> str | None:
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"{SYSTEM_PYTHON} is not installed"
    done = subprocess.run([SYSTEM_PYTHON, "-c", "import boto.s3.connection, requests"], capture_output=True,
                          timeout=60)
    return None if done.returncode == 0 else "boto 2 does not import in the system's Python"


_missing = boto2_missing()
pytestmark = pytest.mark.skipif(
    _missing is not None, reason=f"{_missing}: apt-get install -y python3-boto (boto 2)"
)


def boto2(proxy, signer: str, style: str, bucket: str, op: str, *args, secret: str = CLIENT_SECRET,
          check: bool = True) -> dict:
    """Runs one operation. SigV4 goes through Envoy as boto's HTTP proxy to `s3.mydomain.test`:
    boto 2's SigV4 signs a host with a port as `host:port:port` (its `host_header` appends the
    port to a host that has it already), refused by any server, so it works on port 80 only.
    Virtual-hosted goes that way too; SigV2 path-style straight to the proxy's port."""
    if signer == "v4" or style == "virtual":
        where = [PUBLIC_TEST_DOMAIN, proxy.authority.replace("localhost", "127.0.0.1")]
    else:
        where = [proxy.authority]
    env = environ_without_proxies()
    env.update(AWS_ACCESS_KEY_ID=CLIENT_KEY, AWS_SECRET_ACCESS_KEY=secret, BOTO_CONFIG=os.devnull)
    done = subprocess.run([SYSTEM_PYTHON, str(BOTO2_CLIENT), signer, style, *where, "--", bucket, op, *map(str, args)],
                          env=env, capture_output=True, text=True, timeout=120)
    out = json.loads(done.stdout) if done.stdout.strip() else {"error": done.stderr}
    if check:
        assert done.returncode == 0, out.get("error")
    return out


@pytest.mark.every_origin
@pytest.mark.parametrize("signer", ["v2", "v4"])
def test_objects(proxy, make_proxy, origin, origin_s3, bucket, signer):
    if signer == "v2" and origin.kind == "garage":
        # Garage takes SigV4 only: the filter re-signs SigV2 as SigV4 for it.
        proxy = make_proxy(origin_signature_version="v4")
    key = "dir/a b&c=d é.txt"
    before = proxy.prometheus()
    out = boto2(proxy, signer, "path", bucket, "put", key, "from boto 2")
    if signer == "v4":
        # boto 2 signs the `Expect` Envoy consumes, in its own case, and its `User-Agent`.
        assert out["signed"][0] == ("content-length;content-md5;content-type;expect;host;user-agent;"
                                    "x-amz-content-sha256;x-amz-date")
    assert stored(origin_s3, bucket, key) == (b"from boto 2", "text/x-boto", {})
    assert boto2(proxy, signer, "path", bucket, "get", key)["result"] == "from boto 2"
    origin_s3.put_object(Bucket=bucket, Key="dir/sub/b.txt", Body=b"b")
    assert boto2(proxy, signer, "path", bucket, "list", "dir/")["result"] == [key, "dir/sub/b.txt"]
    boto2(proxy, signer, "path", bucket, "delete", key)
    assert stored(origin_s3, bucket, key) is None
    after = proxy.prometheus()
    grew = {kind: after[f's3_resign_requests_total{{kind="{kind}"}}'] - before[f's3_resign_requests_total{{kind="{kind}"}}']
            for kind in ("header_v2", "header_v4")}
    # Each call signed as asked (a get is a HEAD and a GET).
    assert grew == ({"header_v2": 0, "header_v4": 5} if signer == "v4" else {"header_v2": 5, "header_v4": 0})


@pytest.mark.parametrize("signer", ["v2", "v4"])
def test_virtual_hosted(proxy, origin_s3, bucket, signer):
    boto2(proxy, signer, "virtual", bucket, "put", "v.txt", "virtual")
    assert stored(origin_s3, bucket, "v.txt")[0] == b"virtual"
    assert boto2(proxy, signer, "virtual", bucket, "get", "v.txt")["result"] == "virtual"


def test_presigned_url(proxy, origin_s3, bucket):
    """`Key.generate_url` with the SigV2 signer. (With SigV4 boto 2 writes the host twice into
    the URL through an HTTP proxy, `http://hosthttp://host/...`, and signs `host:port:port`
    without one: not usable against any endpoint but an AWS one, with the proxy or without.)"""
    origin_s3.put_object(Bucket=bucket, Key="presigned é.txt", Body=b"presigned")
    url = boto2(proxy, "v2", "path", bucket, "url", "presigned é.txt")["result"]
    assert "Signature=" in url and "AWSAccessKeyId=" in url
    r = requests.get(url, timeout=30)
    assert (r.status_code, r.content) == (200, b"presigned")
    r = requests.get(url.replace("presigned%20%C3%A9", "presigned"), timeout=30)
    assert r.status_code == 403


@pytest.mark.every_origin
def test_multipart_upload(proxy, origin, origin_s3, bucket, tmp_path, origin_deviation):
    """Parts signed by their SHA-256. boto 2 completes with the parts `ListParts` answers, in
    that order: s3s-fs 0.14.1 lists them in its directory's order, so the completion is
    refused there ("invalid part order"), sent directly as well."""
    if origin.kind == "s3s-fs":
        pytest.skip("s3s-fs 0.14.1 answers ListParts out of order (docs/testing.md), which boto 2 completes with")
    origin_deviation(COMPLETION_ETAG)
    path = file_of(tmp_path, 11 * MIB + 1)
    out = boto2(proxy, "v4", "path", bucket, "multipart", "large.bin", path, 5 * MIB)
    assert out["result"].endswith('-3"')
    assert stored(origin_s3, bucket, "large.bin")[0] == path.read_bytes()


@pytest.mark.parametrize("signer", ["v2", "v4"])
def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket, signer):
    out = boto2(proxy, signer, "path", bucket, "put", "refused", "x", secret="not-the-secret", check=False)
    assert out.get("code") == "SignatureDoesNotMatch", out
    assert stored(origin_s3, bucket, "refused") is None
