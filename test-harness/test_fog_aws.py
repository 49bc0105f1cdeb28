"""fog-aws (Debian's ruby-fog-aws 3.15, over Excon: the S3 layer of GitLab, Discourse and
CarrierWave, with a SigV4 signer of its own, not aws-sdk's) through the proxy
(test-harness/fog-client/s3.rb, one process per operation): objects with metadata, a `Range`,
`head`, listing, copy, delete, a file body, a 3-part upload, `get_object_url` and
`put_object_url` fetched with `requests`, virtual-hosted through Envoy as its HTTP proxy.
Asserted from the requests it sent: a String body signed by its SHA-256, a File body streamed
aws-chunked (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, each chunk signed by fog's own chunk signer,
without `Content-Encoding: aws-chunked`, which fog leaves out on purpose), parts signed by their
SHA-256 with a `Content-MD5`, and `Host` signed without a port."""

import hashlib
import shutil
import subprocess

import pytest
import requests

from harness.clients import REGION
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.paths import ROOT
from harness.programs import COMPLETION_ETAG, environ_without_proxies, run_json_client
from test_post_policy import stored
from test_sdk_rust import file_of

FOG_CLIENT = ROOT / "test-harness" / "fog-client" / "s3.rb"
MIB = 1024 * 1024


def fog_missing() -> str | None:
    if shutil.which("ruby") is None:
        return "ruby is not installed"
    done = subprocess.run(["ruby", "-e", "require 'fog/aws'"], capture_output=True, timeout=60)
    return None if done.returncode == 0 else "fog/aws does not load"


_missing = fog_missing()
pytestmark = pytest.mark.skipif(_missing is not None,
                                reason=f"{_missing}: apt-get install -y ruby-fog-aws (fog-aws)")


def fog(endpoint: str, bucket: str, *ops: tuple, http_proxy: str | None = None, secret: str = CLIENT_SECRET,
        check: bool = True) -> dict:
    """Runs the operations (each a tuple: name, arguments) in one process; its JSON: `results`
    (and, at a failure, `error` and `code`) and the `requests` sent, each with its `op` index."""
    env = environ_without_proxies("s3_proxy")
    env.update(AWS_ACCESS_KEY_ID=CLIENT_KEY, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION=REGION)
    if http_proxy:
        env["S3_PROXY"] = http_proxy
    words = [w for i, op in enumerate(ops) for w in (["--"] if i else []) + [str(a) for a in op]]
    return run_json_client(["ruby", str(FOG_CLIENT), endpoint, bucket, *words], env, ops[0][0], check)


def sent(out: dict, op: int) -> list[dict]:
    return [r for r in out["requests"] if r["op"] == op]


@pytest.mark.every_origin
def test_objects(proxy, origin_s3, bucket):
    key = "dir/a b&c=d é.txt"
    out = fog(proxy.endpoint, bucket, ("put", key, "from fog"), ("get", key), ("get", key, "bytes=5-7"), ("head", key),
              ("copy", key, "dir/copy.txt"), ("list", "dir/"))
    [put] = sent(out, 0)
    assert put["sha256"] == hashlib.sha256(b"from fog").hexdigest()
    assert put["signed"] == "content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-m"
    # The port is not signed, nor sent: Excon sends the `Host` fog signed.
    assert put["host"] == "localhost"
    assert stored(origin_s3, bucket, key) == (b"from fog", "text/x-fog", {"m": "1"})
    assert [r.get("body") for r in out["results"][1:3]] == ["from fog", "fog"]
    # fog takes every `x-amz-*` answer header for metadata: Ceph's x-amz-request-id too.
    head = out["results"][3]
    head["metadata"] = {k: v for k, v in head["metadata"].items() if k.startswith("x-amz-meta-")}
    assert head == {"length": 8, "contentType": "text/x-fog", "metadata": {"x-amz-meta-m": "1"}}
    assert sent(out, 4)[0]["signed"] == "host;x-amz-content-sha256;x-amz-copy-source;x-amz-date"
    assert stored(origin_s3, bucket, "dir/copy.txt")[0] == b"from fog"
    assert out["results"][5] == [key, "dir/copy.txt"]
    fog(proxy.endpoint, bucket, ("delete", "dir/copy.txt"))
    assert stored(origin_s3, bucket, "dir/copy.txt") is None


@pytest.mark.every_origin
def test_file_bodies_signed_chunks_and_parts(proxy, origin_s3, bucket, tmp_path, origin_deviation):
    """A File body streamed aws-chunked, each chunk signed by fog; a file in 3 parts."""
    origin_deviation(COMPLETION_ETAG)
    small, large = file_of(tmp_path, MIB + 1), file_of(tmp_path, 11 * MIB + 1)
    before = proxy.prometheus()
    out = fog(proxy.endpoint, bucket, ("put-file", "file.bin", small), ("multipart", "large.bin", large, 5 * MIB))
    after = proxy.prometheus()
    [put] = sent(out, 0)
    assert put["sha256"] == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    assert put["signed"] == "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length"
    assert after['s3_resign_requests_total{kind="chunked_v4"}'] - before['s3_resign_requests_total{kind="chunked_v4"}'] == 1
    # 17 chunks of 64 KiB with data and the final empty one.
    assert after["s3_resign_chunks_resigned_total"] - before["s3_resign_chunks_resigned_total"] == 18
    assert stored(origin_s3, bucket, "file.bin")[0] == small.read_bytes()
    parts = [r for r in sent(out, 1) if r["query"] and "partNumber" in r["query"]]
    assert len(parts) == 3
    assert all(len(r["sha256"]) == 64 and r["md5"] for r in parts), parts
    etag = out["results"][1]["etag"]
    assert etag and etag.endswith("-3"), etag
    assert stored(origin_s3, bucket, "large.bin")[0] == large.read_bytes()


@pytest.mark.every_origin
def test_presigned_urls(proxy, origin_s3, bucket):
    key = "presigned é.txt"
    put_url, get_url, https_url = fog(proxy.endpoint, bucket, ("put-url", key), ("url", key),
                                      ("https-url", key))["results"]
    assert put_url.startswith(f"{proxy.endpoint}/{bucket}/presigned%20%C3%A9.txt?")
    r = requests.put(put_url, data=b"put by URL", timeout=30)
    assert r.status_code == 200, r.text
    assert stored(origin_s3, bucket, key)[0] == b"put by URL"
    r = requests.get(get_url, timeout=30)
    assert (r.status_code, r.content) == (200, b"put by URL")
    # One key's URL does not open another.
    r = requests.get(get_url.replace("presigned%20%C3%A9", "presigned"), timeout=30)
    assert r.status_code == 403
    # `get_object_https_url` writes `https://host/` without the port: it serves port 443 only.
    assert https_url.startswith(f"https://localhost/{bucket}/")


def test_virtual_hosted_through_envoy_as_http_proxy(proxy, origin_s3, bucket):
    out = fog(f"http://{PUBLIC_TEST_DOMAIN}", bucket, ("put", "v.txt", "virtual"), ("get", "v.txt"), ("list", ""),
              http_proxy=proxy.endpoint)
    [put] = sent(out, 0)
    assert (put["host"], put["path"]) == (f"{bucket}.{PUBLIC_TEST_DOMAIN}", "/v.txt")
    assert stored(origin_s3, bucket, "v.txt")[0] == b"virtual"
    assert out["results"][1]["body"] == "virtual"
    assert out["results"][2] == ["v.txt"]


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket, tmp_path):
    path = file_of(tmp_path, 100_000)
    for op in (("put", "refused", "x"), ("put-file", "refused", path)):
        out = fog(proxy.endpoint, bucket, op, secret="not-the-secret", check=False)
        assert out.get("code") == "SignatureDoesNotMatch", out
    assert stored(origin_s3, bucket, "refused") is None
