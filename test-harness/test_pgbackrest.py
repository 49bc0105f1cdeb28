"""pgBackRest 2.45 (Debian `pgbackrest`; PostgreSQL's backup tool, its own SigV4 signer in C,
src/storage/s3/: `host`, `x-amz-content-sha256` (the body's SHA-256), `x-amz-date`,
`content-md5` on every upload, signed) through the proxy's TLS listener (its S3 repository
always speaks TLS), on every origin: path-style and virtual-hosted (`repo1-s3-uri-style=host`:
`bucket.s3.mydomain.test`, reached through `repo1-storage-host=localhost`):
- without PostgreSQL: `repo-put` (one PUT; 12 MB in 5 MiB parts, `repo1-storage-upload-chunk-size`:
  CreateMultipartUpload, three UploadParts, CompleteMultipartUpload), `repo-get`, `repo-ls
  --recurse` (HEAD of the path, then ListObjectsV2 with `delimiter=/` by prefix);
  `repo1-s3-token` refused (`InvalidToken`), a wrong secret refused; nothing written;
- with a PostgreSQL cluster (`initdb` as `postgres` when run as root; `archive_command` is
  `pgbackrest archive-push`): `stanza-create`, `check`, `backup` full then incremental, `info`,
  `restore` (Garage only: a thousand GETs, 40 s at Ceph's RGW, as straight), `expire`,
  `stanza-delete` (DeleteObjects).

Needs configured: `repo1-storage-host` a name the certificate covers (pgBackRest verifies the
certificate against it, not the endpoint: 127.0.0.1 fails), `repo1-storage-port`,
`repo1-storage-ca-file` (or `repo1-storage-verify-tls=n`), `repo1-s3-region` the proxy's.
Secrets only in the file or the environment (`PGBACKREST_REPO1_S3_KEY_SECRET`): pgBackRest
refuses them on the command line.

Catches, not the proxy's: s3s-fs answers `HEAD` of a "directory" (a prefix with objects under
it) 500, straight too, and pgBackRest's `repo-ls` begins with a HEAD of the path it lists: it
retries for half a minute and fails there (`repo-ls` of a file works). `repo1-path=/` makes
pgBackRest list with `prefix=/path/` (a leading slash): Garage and Ceph answer nothing under
it, s3s-fs strips the slash."""

import glob
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import environ_without_proxies, free_port

pytestmark = pytest.mark.skipif(shutil.which("pgbackrest") is None,
                                reason="pgBackRest is not installed: apt-get install -y pgbackrest")

INITDB = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def postgres_user() -> list[str]:
    """How to run a PostgreSQL program: as `postgres` when this runs as root (initdb refuses
    root), else as this user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root without a postgres user: apt-get install -y postgresql")
    return ["runuser", "-u", "postgres", "--"]


def shared_directory() -> Path:
    """A directory the postgres user can read and write (pytest's tmp_path is root's only)."""
    path = Path(tempfile.mkdtemp(prefix="s3-resign-pgbackrest-"))
    path.chmod(0o755)
    if postgres_user():
        shutil.chown(path, "postgres", "postgres")
    return path


def write_config(directory: Path, tls_proxy, bucket: str, style: str = "path", secret: str = CLIENT_SECRET,
                 pg: tuple[Path, Path, int] | None = None) -> Path:
    (directory / "ca.pem").write_bytes(Path(tls_proxy.ca_bundle).read_bytes())
    lines = ["[global]", "repo1-type=s3", f"repo1-s3-endpoint={PUBLIC_TEST_DOMAIN}", "repo1-storage-host=localhost",
             f"repo1-storage-port={tls_proxy.port}", f"repo1-storage-ca-file={directory / 'ca.pem'}",
             f"repo1-s3-bucket={bucket}", "repo1-s3-region=us-east-1", f"repo1-s3-key={CLIENT_KEY}",
             f"repo1-s3-key-secret={secret}", f"repo1-s3-uri-style={style}", "repo1-path=/backups",
             "repo1-retention-full=1", "repo1-storage-upload-chunk-size=5MiB", f"log-path={directory}",
             "log-level-file=off", f"lock-path={directory}", f"spool-path={directory}", "start-fast=y",
             "archive-timeout=30", "compress-type=lz4"]
    if pg:
        data, socket_dir, port = pg
        lines += ["", "[main]", f"pg1-path={data}", f"pg1-port={port}", f"pg1-socket-path={socket_dir}"]
    config = directory / f"pgbackrest-{uuid.uuid4().hex[:6]}.conf"
    config.write_text("\n".join(lines) + "\n")
    config.chmod(0o644)
    return config


def pgbackrest(config: Path, *args: str, user=(), check=True, stdin: bytes | None = None, env=None):
    done = subprocess.run([*user, "pgbackrest", f"--config={config}", "--log-level-console=warn", *args],
                          input=stdin, capture_output=True, timeout=60,
                          env={**environ_without_proxies("PGBACKREST_REPO1_S3_TOKEN"), **(env or {})})
    if check:
        assert done.returncode == 0, f"pgbackrest {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.every_origin
@pytest.mark.parametrize("style", ["path", "host"])
def test_repository_commands(style, tls_proxy, origin, origin_s3, bucket, tmp_path):
    config = write_config(tmp_path, tls_proxy, bucket, style)
    pgbackrest(config, "repo-put", "dir/a b+c~é.txt", stdin=b"small\n")
    big = os.urandom(12_000_000)
    pgbackrest(config, "repo-put", "dir/big.bin", stdin=big)
    got = origin_s3.get_object(Bucket=bucket, Key="backups/dir/big.bin")
    assert got["ETag"].endswith('-3"') and got["Body"].read() == big
    assert pgbackrest(config, "repo-get", "dir/a b+c~é.txt").stdout == b"small\n"
    assert pgbackrest(config, "repo-get", "dir/big.bin").stdout == big
    if origin.kind != "s3s-fs":  # s3s-fs answers HEAD of a directory 500 (see above)
        listing = pgbackrest(config, "repo-ls", "--recurse").stdout.decode().splitlines()
        assert listing == ["dir", "dir/a b+c~é.txt", "dir/big.bin"], listing
    assert '"size":12000000' in pgbackrest(config, "repo-ls", "--output=json", "dir/big.bin").stdout.decode()

    # A session token, a wrong secret: refused, nothing written.
    done = pgbackrest(config, "repo-put", "token.txt", stdin=b"t", check=False,
                      env={"PGBACKREST_REPO1_S3_TOKEN": "FAKE-TOKEN"})
    assert done.returncode != 0 and b"<Code>InvalidToken</Code>" in done.stderr, done.stderr
    wrong = write_config(tmp_path, tls_proxy, bucket, style, secret="not-the-secret")
    done = pgbackrest(wrong, "repo-put", "wrong.txt", stdin=b"w", check=False)
    assert done.returncode != 0 and b"<Code>SignatureDoesNotMatch</Code>" in done.stderr, done.stderr
    assert origin_s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 2  # s3s-fs lists `+` as ` `
    assert origin_s3.head_object(Bucket=bucket, Key="backups/dir/a b+c~é.txt")["ContentLength"] == 6


@pytest.fixture(scope="module")
def cluster():
    """A PostgreSQL cluster on a Unix socket only, archiving through `current.conf` in its
    directory (each test points it at its own configuration)."""
    if not INITDB:
        pytest.skip("PostgreSQL is not installed: apt-get install -y postgresql")
    user = postgres_user()
    directory = shared_directory()
    data, sockets, port = directory / "data", directory / "sockets", free_port()
    bin_dir = Path(INITDB[-1]).parent
    try:
        subprocess.run([*user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "--no-sync"],
                       check=True, capture_output=True, timeout=60)
        sockets.mkdir()
        if user:
            shutil.chown(sockets, "postgres", "postgres")
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(f"port = {port}\nlisten_addresses = ''\nunix_socket_directories = '{sockets}'\n"
                       "archive_mode = on\nwal_level = replica\nfsync = off\n"
                       f"archive_command = 'pgbackrest --config={directory}/current.conf --stanza=main archive-push %p'\n")
        subprocess.run([*user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(directory / "pg.log"), "-w",
                        "start"], check=True, capture_output=True, timeout=60)
        yield directory, data, sockets, port, user, bin_dir
    finally:
        subprocess.run([*user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.every_origin
def test_backup_cycle(cluster, tls_proxy, origin, origin_s3, bucket):
    directory, data, sockets, port, user, bin_dir = cluster
    config = write_config(directory, tls_proxy, bucket, "host", pg=(data, sockets, port))
    current = directory / "current.conf"
    current.unlink(missing_ok=True)
    current.symlink_to(config)
    run = lambda *args, **kw: pgbackrest(config, "--stanza=main", *args, user=user, **kw)  # noqa: E731
    psql = [*user, str(bin_dir / "psql"), "-h", str(sockets), "-p", str(port), "-d", "postgres", "-qAtc"]

    run("stanza-create")
    run("check")  # archive-push of a WAL segment
    table = f"t_{uuid.uuid4().hex[:8]}"
    subprocess.run(psql + [f"create table {table} as select generate_series(1, 10000) i"], check=True, timeout=30)
    run("backup", "--type=full")
    subprocess.run(psql + [f"insert into {table} select generate_series(1, 500)"], check=True, timeout=30)
    run("backup", "--type=incr")
    info = json.loads(run("info", "--output=json").stdout)[0]
    assert info["status"]["message"] == "ok" and [b["type"] for b in info["backup"]] == ["full", "incr"], info
    keys = [o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket, Prefix="backups/archive/main/")["Contents"]]
    assert any(k.endswith(".lz4") for k in keys), keys
    if origin.kind == "garage":
        target = directory / "restored"
        target.mkdir(mode=0o700)
        if user:
            shutil.chown(target, "postgres", "postgres")
        run("restore", f"--pg1-path={target}", "--type=immediate")
        assert (target / "PG_VERSION").read_text() == (data / "PG_VERSION").read_text()
        shutil.rmtree(target)
    run("expire")
    run("stop")
    run("stanza-delete", "--force")
    run("start", check=False)  # stanza-delete took the stop file already
    assert "Contents" not in origin_s3.list_objects_v2(Bucket=bucket, Prefix="backups/backup/")
