"""git-annex 10.20230126 (Debian; its S3 special remote is Haskell's `aws` 0.22.1, its own SigV2
and SigV4 signers: SigV2 unless `signature=v4`) through the proxy: `initremote` (which checks the
bucket, creates it if absent, and writes `annex-uuid`), `copy --to` (a 7 MB file in 6 MiB parts:
a multipart upload), `drop`, `get`, `fsck --from` (each object read back and hashed), `move`,
`drop --from`, a chunked remote (`chunk=1MiB`), and an export remote (`exporttree=yes`: the
files under their own names, `a b.txt`, `a+b.txt`, `é.txt`, `x~y.txt`, one then unexported).

Its SigV4 signs `host` without the port while sending `Host: name:port`, and signs the host name
as the region: on a port other than 80/443 every SigV4 request is refused (403), straight to the
origin as through the proxy. So SigV4 runs path-style and virtual-hosted on port 80, through
Envoy as its `http_proxy`; SigV2 runs on the proxy's own port. git-annex refuses loopback and
private addresses unless `annex.security.allowed-ip-addresses` allows them (`-c` on each call).

Origins: Garage takes everything (SigV2 re-signed as SigV4). s3s-fs 0.14.1 answers a listing
without `Owner`/`StorageClass`, which `aws` cannot parse, so a second remote on a bucket that
holds objects finds it "absent", tries to create it and fails on the error's missing `Message`;
and it answers `CompleteMultipartUpload` without `Location` ("Missing Location"). Ceph 16.2
answers it with an empty `ETag` ("Missing ETag"). Both straight to the origin too. Parts below
5 MiB: git-annex rounds `partsize=5MiB` down to 5,240,320 bytes, which Ceph and s3s-fs refuse
(`EntityTooSmall`), Garage takes."""

import os
import shutil
import subprocess
import uuid

import pytest

from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import environ_without_proxies

pytestmark = pytest.mark.skipif(shutil.which("git-annex") is None, reason="git-annex is not installed: apt-get install -y git-annex")

FILES = {"a b.txt": b"one\n", "a+b.txt": b"two\n", "é.txt": b"three\n", "x~y.txt": b"four\n"}


class Annex:
    def __init__(self, tmp_path, secret=CLIENT_SECRET, http_proxy=None):
        self.repo = tmp_path / "repo"
        self.repo.mkdir()
        self.env = environ_without_proxies()
        self.env.update(AWS_ACCESS_KEY_ID=CLIENT_KEY, AWS_SECRET_ACCESS_KEY=secret, HOME=str(tmp_path),
                        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
        if http_proxy:
            self.env["http_proxy"] = http_proxy
        self.git("init", "-q")
        self("init", "test")
        for name, body in FILES.items():
            (self.repo / name).write_bytes(body)
        self.big = os.urandom(7_000_000)
        (self.repo / "big.bin").write_bytes(self.big)
        self("add", ".")
        self.git("commit", "-q", "-m", "files")

    def git(self, *args, check=True):
        done = subprocess.run(["git", "-c", "annex.security.allowed-ip-addresses=all", *args], cwd=self.repo,
                              env=self.env, capture_output=True, text=True, timeout=120)
        assert not check or done.returncode == 0, f"git {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        return done

    def __call__(self, *args, check=True):
        return self.git("annex", *args, check=check)


def remote(proxy, bucket, signature):
    if signature == "v2":
        host, port = "localhost", proxy.port
    else:
        host, port = PUBLIC_TEST_DOMAIN, 80
    return [f"host={host}", f"port={port}", "protocol=http", f"bucket={bucket}", "encryption=none", f"signature={signature}"]


@pytest.mark.every_origin
@pytest.mark.parametrize("signature, style", [("v2", "path"), ("v4", "path"), ("v4", "virtual")])
def test_a_special_remote(proxy, origin, make_proxy, origin_s3, tmp_path, signature, style):
    """Every step on Garage; on s3s-fs and Ceph, whose answers to a multipart completion `aws`
    cannot read (the module's docstring), the small files only. SigV2 virtual-hosted, tried by
    hand, goes as SigV4's does."""
    if signature == "v2" and origin.kind == "garage":
        proxy = make_proxy(origin_signature_version="v4")
    annex = Annex(tmp_path, http_proxy=proxy.endpoint if signature == "v4" else None)
    bucket = f"t-{uuid.uuid4().hex[:12]}"  # git-annex creates it
    options = remote(proxy, bucket, signature) + (["requeststyle=path"] if style == "path" else [])
    annex("initremote", "s3", "type=S3", "partsize=6MiB", *options)
    assert origin_s3.get_object(Bucket=bucket, Key="annex-uuid")["Body"].read()
    done = annex("copy", "--to", "s3", ".", check=False)
    if origin.kind != "garage":
        # Its multipart completion answer is one `aws` cannot read (docstring): the small files only.
        assert done.returncode != 0 and ("Missing Location" in done.stderr + done.stdout or "Missing ETag" in done.stderr + done.stdout)
        annex("drop", *FILES)
        annex("get", *FILES)
        annex("fsck", "--from", "s3", *FILES)
        return
    assert done.returncode == 0, done.stderr
    annex("drop", ".")
    assert not (annex.repo / "big.bin").exists() or not os.path.exists(os.path.realpath(annex.repo / "big.bin"))
    annex("get", ".")
    assert (annex.repo / "big.bin").read_bytes() == annex.big
    assert {n: (annex.repo / n).read_bytes() for n in FILES} == FILES
    annex("fsck", "--from", "s3")
    annex("drop", "--from", "s3", "a b.txt")
    annex("move", "--to", "s3", "a b.txt")
    annex("initremote", "s3c", "type=S3", "chunk=1MiB", "fileprefix=chunks/", *options)
    annex("copy", "--to", "s3c", "big.bin")
    chunks = [o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket, Prefix="chunks/")["Contents"]]
    assert len(chunks) == 8 and "chunks/annex-uuid" in chunks  # 7 chunks of 1 MiB and the remote's uuid
    annex("initremote", "s3e", "type=S3", "exporttree=yes", "fileprefix=export/", *options)
    annex("get", ".")
    annex("export", "--tracking", "master", "--to", "s3e")
    annex.git("rm", "-q", "x~y.txt")
    annex.git("commit", "-q", "-m", "rm")
    annex("export", "master", "--to", "s3e")
    exported = {o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket, Prefix="export/")["Contents"]}
    assert exported == {"export/a b.txt", "export/a+b.txt", "export/é.txt", "export/big.bin"}
    annex("fsck", "--from", "s3e", "--fast")


def test_sigv4_on_another_port_is_refused_as_the_origin_refuses_it(proxy, origin, origin_s3, tmp_path):
    """`aws` signs `host:localhost` for `Host: localhost:PORT`: 403 through the proxy and straight."""
    annex = Annex(tmp_path)
    done = annex("initremote", "s3", "type=S3", "host=localhost", f"port={proxy.port}", "protocol=http",
                 "requeststyle=path", f"bucket=t-{uuid.uuid4().hex[:12]}", "encryption=none", "signature=v4", check=False)
    assert done.returncode != 0 and "SignatureDoesNotMatch" in done.stderr


def test_a_wrong_secret_is_refused(proxy, origin_s3, tmp_path):
    annex = Annex(tmp_path, secret="not-the-secret")
    bucket = f"t-{uuid.uuid4().hex[:12]}"
    done = annex("initremote", "s3", "type=S3", *remote(proxy, bucket, "v2"), "requeststyle=path", check=False)
    assert done.returncode != 0 and "SignatureDoesNotMatch" in done.stderr
    assert bucket not in [b["Name"] for b in origin_s3.list_buckets()["Buckets"]]
