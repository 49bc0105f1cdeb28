"""libs3 (Debian's libs3-2 2.0: Bryan Ischo's C library and its `s3` command, its own SigV2
signer: Debian's 2.0 predates libs3's SigV4, it sends `Authorization: AWS key:sig` with
`x-amz-date`) through the proxy: put (with `Content-Type`, `Content-MD5`, `x-amz-meta-*`), get,
a ranged get, head, copy, list (`prefix`, `delimiter`, `marker`, `max-keys`), delete, bucket
create/delete, its `gqs` SigV2 presigned URL fetched with `requests`, keys that stress encoding,
virtual-hosted (`-h`, Envoy as curl's `http_proxy`). SigV2 is re-signed as SigV4 for Garage
(`origin_signature_version: v4`), the only way libs3 2.0 reaches Garage at all.

Catches, client-side: `s3` exits 0 on an S3 error (the test reads its `ERROR:` line); `copy`
writes `x-amz-copy-source` raw (a key with ` `, `%`, `?` or UTF-8 cannot be copied, straight
to the origin as well; the filter refuses `%` and `?` itself, 400 `InvalidArgument`); its dates
end in `UTC`, not `GMT` (`expires=`, `ifModifiedSince=` refused by s3s-fs); it matches response
header names case-sensitively (`Content-Type`, `Content-Length`, `ETag`): the shipped Envoy
configurations keep the origin's case over HTTP/1 (`preserve_case`), so `head` shows them from
Ceph, not from s3s-fs and Garage, which write lower case (straight too); over HTTPS it speaks HTTP/2 when ALPN
offers it, and then reports stored PUTs as `InternalError`."""

import os
import shutil
import subprocess
import uuid

import pytest
import requests

from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import environ_without_proxies

pytestmark = pytest.mark.skipif(shutil.which("s3") is None, reason="libs3 is not installed: apt-get install -y libs3-2")

KEYS = ["plain.txt", "dir/é.txt", "x~y", "semi;colon", "r&s=t", "star*(x)", "a%b"]


def s3(proxy, *args, vhost=False, secret=CLIENT_SECRET, key=CLIENT_KEY, host=None):
    env = environ_without_proxies()
    env.update(S3_ACCESS_KEY_ID=key, S3_SECRET_ACCESS_KEY=secret, S3_HOSTNAME=host or proxy.authority)
    opts = ["-u"]
    if vhost:
        env.update(S3_HOSTNAME=f"{PUBLIC_TEST_DOMAIN}:80", http_proxy=proxy.endpoint)
        opts.append("-h")
    done = subprocess.run(["s3", *opts, *args], env=env, capture_output=True, timeout=60)
    out = done.stdout + done.stderr
    assert b"ERROR:" not in out, out.decode(errors="replace")
    return done.stdout


def sigv2_proxy(proxy, origin, make_proxy):
    return make_proxy(origin_signature_version="v4") if origin.kind == "garage" else proxy


@pytest.mark.every_origin
@pytest.mark.parametrize("vhost", [False, True], ids=["path", "virtual"])
def test_objects(proxy, origin, make_proxy, origin_s3, bucket, tmp_path, vhost):
    proxy = sigv2_proxy(proxy, origin, make_proxy)
    body = tmp_path / "body"
    body.write_bytes(os.urandom(3 * 1024 * 1024 + 1))
    for key in KEYS:
        s3(proxy, "put", f"{bucket}/{key}", f"filename={body}", "contentType=text/x-libs3", "x-amz-meta-who=libs3",
           vhost=vhost)
        got = origin_s3.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == body.read_bytes() and got["Metadata"] == {"who": "libs3"}
        assert s3(proxy, "get", f"{bucket}/{key}", vhost=vhost) == body.read_bytes()
        assert s3(proxy, "get", f"{bucket}/{key}", "startByte=100", "byteCount=50", vhost=vhost) == body.read_bytes()[100:150]
        assert b"x-amz-meta-who: libs3" in s3(proxy, "head", f"{bucket}/{key}", vhost=vhost)
    # `marker=` given: without it libs3 sends `marker=(null)` (a NULL through printf), which hides
    # every key before "(null)" and, on Garage, any listing whose prefix sorts after a key above it.
    listing = s3(proxy, "list", bucket, "prefix=dir/", "delimiter=/", "maxkeys=5", "marker=", vhost=vhost)
    assert "dir/é.txt".encode() in listing
    s3(proxy, "copy", f"{bucket}/plain.txt", f"{bucket}/copy.txt", vhost=vhost)
    assert origin_s3.get_object(Bucket=bucket, Key="copy.txt")["Body"].read() == body.read_bytes()
    url = s3(proxy, "gqs", f"{bucket}/plain.txt", "expires=2037-01-01T00:00:00", vhost=vhost).decode().strip()
    got = requests.get(url, proxies={"http": proxy.endpoint} if vhost else None, timeout=30)
    assert got.status_code == 200 and got.content == body.read_bytes()
    for key in KEYS + ["copy.txt"]:
        s3(proxy, "delete", f"{bucket}/{key}", vhost=vhost)
    assert origin_s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


@pytest.mark.every_origin
def test_buckets(proxy, origin, make_proxy, origin_s3):
    proxy = sigv2_proxy(proxy, origin, make_proxy)
    name = f"t-{uuid.uuid4().hex[:12]}"
    s3(proxy, "create", name)
    assert name.encode() in s3(proxy, "list")
    s3(proxy, "test", name)
    s3(proxy, "delete", name)
    assert name not in [b["Name"] for b in origin_s3.list_buckets()["Buckets"]]


def test_a_wrong_md5_and_a_wrong_secret_are_refused(proxy, origin_s3, bucket, tmp_path):
    body = tmp_path / "body"
    body.write_text("libs3")
    with pytest.raises(AssertionError, match="BadDigest"):
        s3(proxy, "put", f"{bucket}/k", f"filename={body}", "md5=" + "A" * 22 + "==")
    with pytest.raises(AssertionError, match="SignatureDoesNotMatch"):
        s3(proxy, "put", f"{bucket}/k", f"filename={body}", secret="not-the-secret")
    assert origin_s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_copy_sources_libs3_leaves_raw_are_refused(proxy, origin_s3, bucket, tmp_path):
    """libs3 writes `x-amz-copy-source: /bucket/key` unencoded: `%` and `?` are refused by the filter."""
    body = tmp_path / "body"
    body.write_text("libs3")
    for key in ("p%q", "q?k"):
        s3(proxy, "put", f"{bucket}/{key}", f"filename={body}")
        with pytest.raises(AssertionError, match="InvalidArgument"):
            s3(proxy, "copy", f"{bucket}/{key}", f"{bucket}/{key}.copy")
    assert sorted(o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket)["Contents"]) == ["p%q", "q?k"]


@pytest.mark.every_origin
def test_a_space_and_a_plus_in_keys(proxy, origin, make_proxy, origin_s3, bucket, tmp_path):
    """libs3 writes a space in a key as `+` (form encoding) and leaves a `+` raw: both reach the
    origin as a raw `+` (SigV2 signs the path as sent; the filter forwards it as sent), which
    every origin reads as a `+`: the key `a b` is stored as `a+b`."""
    proxy = sigv2_proxy(proxy, origin, make_proxy)
    body = tmp_path / "body"
    body.write_text("libs3")
    s3(proxy, "put", f"{bucket}/a b", f"filename={body}")
    s3(proxy, "put", f"{bucket}/c+d", f"filename={body}")
    for key, present in (("a+b", True), ("c+d", True), ("a b", False), ("c d", False)):
        try:
            origin_s3.head_object(Bucket=bucket, Key=key)
            assert present, key
        except origin_s3.exceptions.ClientError:
            assert not present, key


@pytest.mark.every_origin
def test_its_listing_without_a_marker(proxy, origin, make_proxy, origin_s3, bucket, tmp_path):
    """`s3 list` sends `marker=(null)`: keys before "(null)" are not listed, as at S3; Garage
    2.5.0 lists nothing under a prefix when a key lies between such a marker and the prefix,
    straight to Garage too (a deviation)."""
    proxy = sigv2_proxy(proxy, origin, make_proxy)
    body = tmp_path / "body"
    body.write_text("libs3")
    for key in ("!bang", "a%b", "dir/x"):
        s3(proxy, "put", f"{bucket}/{key}", f"filename={body}")
    assert b"!bang" not in s3(proxy, "list", bucket)
    assert b"!bang" in s3(proxy, "list", bucket, "marker=")
    under = s3(proxy, "list", bucket, "prefix=dir/")
    direct = [o["Key"] for o in origin_s3.list_objects(Bucket=bucket, Prefix="dir/", Marker="(null)").get("Contents", [])]
    assert (b"dir/x" in under) == (direct == ["dir/x"]) == (origin.kind != "garage")
