"""restic (Debian's restic 0.14.0, built with minio-go 7.0.46, the release test_sdk_go.py
drives as a library) backing up through the proxy: `init`, `backup`, `snapshots`, `restore`,
`check --read-data`, `forget --prune`, path-style and virtual-hosted (`-o
s3.bucket-lookup=dns`, through Envoy as its HTTP proxy). Over plain HTTP minio-go uploads every
pack and index file signed aws-chunked (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, no trailer):
the filter re-signs every chunk (its counters say so).

restic lists a repository's packs with an empty `delimiter=`, which s3s-fs 0.14.1 answers
wrongly (docs/testing.md): there `restic list packs` finds none, through the proxy as directly,
so `check` and `prune` cannot work on s3s-fs; they run on Garage."""

import functools
import hashlib
import json
import os
import shutil
import subprocess

import pytest

from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import environ_without_proxies
from test_post_policy import stored

pytestmark = pytest.mark.skipif(
    shutil.which("restic") is None, reason="restic is not installed: apt-get install -y restic"
)

CHUNKED = 's3_resign_requests_total{kind="chunked_v4"}'
CHUNKS = "s3_resign_chunks_resigned_total"


def restic(tmp_path, repository: str, *args, key: str = CLIENT_KEY, secret: str = CLIENT_SECRET,
           http_proxy: str | None = None, check: bool = True, ca: str | None = None) -> subprocess.CompletedProcess:
    env = environ_without_proxies()
    env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, RESTIC_PASSWORD="repository password",
               RESTIC_CACHE_DIR=str(tmp_path / "cache"), HOME=str(tmp_path))
    options = []
    if http_proxy:
        env["HTTP_PROXY"] = http_proxy
        options = ["-o", "s3.bucket-lookup=dns"]
    if ca:
        options += ["--cacert", ca]
    done = subprocess.run(["restic", "-r", repository, *options, *args], env=env, capture_output=True, text=True,
                          timeout=300)
    if check:
        assert done.returncode == 0, f"restic {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def files(tmp_path):
    """What is backed up: a file of 17 chunks of 64 KiB, a small one under a UTF-8 name, an empty one."""
    data = tmp_path / "data"
    (data / "sub dir").mkdir(parents=True)
    (data / "big.bin").write_bytes(os.urandom(1024 * 1024 + 1))
    (data / "sub dir" / "notes é.txt").write_text("restic through the proxy\n")
    (data / "empty").write_bytes(b"")
    return data


def digests(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def restored(tmp_path, repository, data, **kw):
    target = tmp_path / "restored"
    shutil.rmtree(target, ignore_errors=True)
    restic(tmp_path, repository, "restore", "latest", "--target", str(target), **kw)
    # Under the target, the absolute path that was backed up.
    return digests(target / data.relative_to(data.anchor))


@pytest.mark.every_origin
def test_backup_restore_check_and_prune(public, origin, origin_s3, bucket, tmp_path):
    """Over plain HTTP, and over HTTPS where the listener offers h2 (Go: HTTP/2), where
    minio-go signs no body (UNSIGNED-PAYLOAD): no chunk stream then."""
    with public.speaking(public.protocol_of(speaks_h2=True)):
        backup_restore_check_and_prune(public, origin, origin_s3, bucket, tmp_path)


def backup_restore_check_and_prune(proxy, origin, origin_s3, bucket, tmp_path):
    data = files(tmp_path)
    repository = f"s3:{proxy.endpoint}/{bucket}/repo"
    before = proxy.prometheus()
    run = functools.partial(restic, ca=proxy.ca_bundle)
    run(tmp_path, repository, "init")
    run(tmp_path, repository, "backup", str(data))
    after = proxy.prometheus()
    if proxy.scheme == "http":
        # The config, the key, the packs, the index and the snapshot: each a signed chunk stream.
        assert after[CHUNKED] - before[CHUNKED] >= 5
        assert after[CHUNKS] - before[CHUNKS] > 1024 * 1024 // (64 * 1024)
    else:
        assert after.get(CHUNKED, 0) == before.get(CHUNKED, 0)
    assert restored(tmp_path, repository, data, ca=proxy.ca_bundle) == digests(data)
    keys = [o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket, Prefix="repo/")["Contents"]]
    assert {k.split("/")[1] for k in keys} == {"config", "data", "index", "keys", "snapshots"}
    packs = run(tmp_path, repository, "list", "packs").stdout.split()
    if origin.kind == "s3s-fs":
        # Its answer to an empty `delimiter=` lists no pack (above), directly as well.
        direct = restic(tmp_path, f"s3:{origin.endpoint}/{bucket}/repo", "list", "packs", key=origin.access_key,
                        secret=origin.secret_key).stdout.split()
        assert packs == direct == []
        return
    assert sorted(packs) == sorted(k.rsplit("/", 1)[1] for k in keys if k.startswith("repo/data/"))
    (data / "big.bin").write_bytes(os.urandom(1024 * 1024))
    run(tmp_path, repository, "backup", str(data))
    run(tmp_path, repository, "forget", "--keep-last", "1", "--prune")
    assert len(json.loads(run(tmp_path, repository, "snapshots", "--json").stdout)) == 1
    # Every pack read back and its blobs' hashes checked.
    run(tmp_path, repository, "check", "--read-data")


def test_virtual_hosted_through_envoy_as_http_proxy(proxy, origin_s3, bucket, tmp_path):
    data = files(tmp_path)
    repository = f"s3:http://{PUBLIC_TEST_DOMAIN}/{bucket}/vrepo"
    restic(tmp_path, repository, "init", http_proxy=proxy.endpoint)
    restic(tmp_path, repository, "backup", str(data), http_proxy=proxy.endpoint)
    assert restored(tmp_path, repository, data, http_proxy=proxy.endpoint) == digests(data)
    assert stored(origin_s3, bucket, "vrepo/config") is not None


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket, tmp_path):
    done = restic(tmp_path, f"s3:{proxy.endpoint}/{bucket}/repo", "init", secret="not-the-secret", check=False)
    assert done.returncode != 0
    assert "SignatureDoesNotMatch" in done.stderr or "signature we calculated does not match" in done.stderr, \
        done.stderr
    assert origin_s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
