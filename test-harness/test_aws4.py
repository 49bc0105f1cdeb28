"""aws4 (Debian's node-aws4 1.11, npm `aws4`: the stand-alone Node signer applications use
with plain `http` or `fetch` instead of an SDK) through the proxy
(test-harness/aws4-client/s3.js, one process per request): PUT with the body's SHA-256 signed,
GET with a `Range`, HEAD, DELETE, a listing with its query written unsorted, a presigned URL
(`signQuery: true`) fetched with `requests`, virtual-hosted by `Host` alone. aws4 signs
`content-length`, `content-type`, `host`, `x-amz-content-sha256` and `x-amz-date`, sorts and
encodes the query itself, and presigns with `UNSIGNED-PAYLOAD` and a day's `X-Amz-Expires`."""

import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from harness.clients import REGION
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.paths import ROOT
from harness.programs import run_json_client
from test_post_policy import stored

AWS4_CLIENT = ROOT / "test-harness" / "aws4-client" / "s3.js"
# Where Debian installs Node modules; its node-aws4 is not on the default path of other Node builds.
DEBIAN_NODE_MODULES = "/usr/share/nodejs"


def aws4_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (Path(DEBIAN_NODE_MODULES) / "aws4").is_dir():
        done = subprocess.run(["node", "-e", "require('aws4')"], capture_output=True, timeout=60)
        if done.returncode != 0:
            return "the aws4 module is not installed"
    return None


_missing = aws4_missing()
pytestmark = pytest.mark.skipif(_missing is not None, reason=f"{_missing}: apt-get install -y node-aws4 (aws4)")


def aws4(proxy, host: str, op: str, path: str, *args, secret: str = CLIENT_SECRET, check: bool = True) -> dict:
    """One request to the proxy's port, signed for and sent with `Host: host`."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID=CLIENT_KEY, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION=REGION)
    env["NODE_PATH"] = os.pathsep.join(p for p in (env.get("NODE_PATH"), DEBIAN_NODE_MODULES) if p)
    connect = proxy.authority.replace("localhost", "127.0.0.1")
    out = run_json_client(["node", str(AWS4_CLIENT), connect, host, op, path, *args], env, op, check)
    if check and op != "presign":
        assert out["status"] < 300, out
    return out


@pytest.mark.every_origin
def test_requests(proxy, origin_s3, bucket):
    key = "dir/a b&c=d é.txt"
    path = f"/{bucket}/{quote(key)}"
    host = proxy.authority
    put = aws4(proxy, host, "put", path, "from aws4")
    assert put["signed"] == "content-length;content-type;host;x-amz-content-sha256;x-amz-date"
    assert put["sha256"] == hashlib.sha256(b"from aws4").hexdigest()
    assert stored(origin_s3, bucket, key)[:2] == (b"from aws4", "text/x-aws4")
    assert aws4(proxy, host, "get", path)["body"] == "from aws4"
    assert aws4(proxy, host, "get", path, "bytes=5-8")["body"] == "aws4"
    assert aws4(proxy, host, "head", path)["status"] == 200
    # Written unsorted and with a raw `/`: aws4 signs the query sorted and encoded, as sent.
    listing = aws4(proxy, host, "get", f"/{bucket}?prefix=dir/&list-type=2")["body"]
    assert "<Key>dir/a b&amp;c=d é.txt</Key>" in listing
    aws4(proxy, host, "delete", path)
    assert stored(origin_s3, bucket, key) is None


@pytest.mark.every_origin
def test_presigned_url(proxy, origin_s3, bucket):
    origin_s3.put_object(Bucket=bucket, Key="presigned é.txt", Body=b"presigned")
    url = aws4(proxy, proxy.authority, "presign", f"/{bucket}/{quote('presigned é.txt')}")["url"]
    assert "X-Amz-SignedHeaders=host" in url and "X-Amz-Expires=86400" in url
    r = requests.get(url, timeout=30)
    assert (r.status_code, r.content) == (200, b"presigned")
    r = requests.get(url.replace("presigned%20%C3%A9", "presigned"), timeout=30)
    assert r.status_code == 403


def test_virtual_hosted(proxy, origin_s3, bucket):
    host = f"{bucket}.{PUBLIC_TEST_DOMAIN}"
    aws4(proxy, host, "put", "/v.txt", "virtual")
    assert stored(origin_s3, bucket, "v.txt")[0] == b"virtual"
    assert aws4(proxy, host, "get", "/v.txt")["body"] == "virtual"


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket):
    out = aws4(proxy, proxy.authority, "put", f"/{bucket}/refused", "x", secret="not-the-secret", check=False)
    assert (out["status"], out["code"]) == (403, "SignatureDoesNotMatch"), out
    assert stored(origin_s3, bucket, "refused") is None
