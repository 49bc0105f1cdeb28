"""Start and stop the real programs: Envoy, and the S3 origins s3s-fs, Garage and MinIO."""

import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from . import envoy_config, paths
from .clients import s3_client

STARTUP_SECONDS = 60


_HANDED_OUT: set[int] = set()
# Under pytest-xdist (`make test` runs the suite in worker processes) each worker takes only
# its share of the ports: a port is free when handed out and taken a moment later, and two
# Envoys given the same one would both bind it (SO_REUSEPORT) and share its connections. The
# kernel hands bind() mostly odd ports, hence the share by port // 2.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_WORKERS = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


def free_port() -> int:
    """A port nothing listens on now, never one this process was given before (the kernel can
    hand out the same free port twice in a row: the image's PORT and METRICS_PORT once came out
    equal, and the entrypoint refused to start), and never one another worker may be given."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT and (port // 2) % _WORKERS == _WORKER:
            _HANDED_OUT.add(port)
            return port


def wait_for_port(port: int, process: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{tail(log)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}:\n{tail(log)}")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"



PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy")


def environ_without_proxies(*more: str) -> dict:
    """This process's environment without its HTTP proxy settings (and the variables `more`
    names), in any case: a client a test runs must reach only what the test points it at."""
    dropped = PROXY_VARIABLES + tuple(name.lower() for name in more)
    return {name: value for name, value in os.environ.items() if name.lower() not in dropped}


def perl_modules_missing(package: str, *modules: str) -> str | None:
    """Why a Perl client's suite must skip, naming the Debian `package` to install, or None
    when perl loads every module."""
    if shutil.which("perl") is None:
        return f"perl is not installed: apt-get install -y perl {package}"
    done = subprocess.run(["perl", *(f"-M{m}" for m in modules), "-e", "1"], capture_output=True, timeout=60)
    return None if done.returncode == 0 else f"{modules[0]} does not load: apt-get install -y {package}"


def results_ok(out: dict) -> list:
    """The values of a client script's `results` (`{"ok": value}` or `{"error": ...}` each, in
    the order of its operations), every one of them asserted to have succeeded."""
    assert all("ok" in r for r in out["results"]), out["results"]
    return [r["ok"] for r in out["results"]]


def key_file(directory, key: str, secret: str):
    """`key:secret` in a file of `directory` only its owner may read, as s3fs-fuse and
    s3backer take a key pair."""
    path = directory / "passwd"
    path.write_text(f"{key}:{secret}\n")
    path.chmod(0o600)
    return path


def run_json_client(argv: list[str], env: dict, label: str, check: bool = True) -> dict:
    """Runs a test client that prints one JSON object (the Go and Ruby SDK clients); its
    stderr as `error` when it printed nothing. With `check`, it must have succeeded."""
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    out = json.loads(done.stdout) if done.stdout.strip() else {"error": done.stderr}
    if check:
        assert done.returncode == 0, f"{label}: {out.get('error')} {out.get('requests')}"
    return out


def end(process: subprocess.Popen, seconds: float) -> None:
    """Stops a child process: SIGTERM, then SIGKILL if it is still running after `seconds`."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Program:
    """A child process with its own temporary directory and log file."""

    name = "program"
    # How long a program may take to exit after SIGTERM before it is killed.
    stop_seconds = 10

    def __init__(self, *args, **kwargs):
        self.dir = Path(tempfile.mkdtemp(prefix=f"s3-resign-{self.name}-"))
        self.log = self.dir / "log.txt"
        self.process: subprocess.Popen | None = None
        try:
            self._start(*args, **kwargs)
        except BaseException:
            # A program that failed to start leaves nothing behind either.
            self.stop()
            raise

    def _start(self, *args, **kwargs) -> None:
        raise NotImplementedError

    def _spawn(self, args: list[str], env: dict | None = None) -> None:
        self._command = (args, env)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )

    def cpu_seconds(self) -> float:
        """The CPU time the process has used, all its threads, user and system."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Stops the program and removes its files; the log text, with what the program wrote
        while stopping (Envoy flushes its access logs then), stays readable in memory."""
        if self.process:
            end(self.process, self.stop_seconds)
        if self.log.exists():
            self._last_log = self.log.read_text(errors="replace")
        shutil.rmtree(self.dir, ignore_errors=True)

    def kill(self) -> None:
        """Stops the process at once (an origin going down), keeping its files."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        """Starts the killed process again, same command, same files, same port."""
        args, env = self._command
        self._spawn(args, env)
        port = getattr(self, "port", None)
        if port is not None:
            wait_for_port(port, self.process, self.log, self.name)

    def log_text(self) -> str:
        if self.log.exists():
            return self.log.read_text(errors="replace")
        return getattr(self, "_last_log", "")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# Known deviations from S3, the keys of `Origin.deviations`: a correct signed trailer refused,
# a correct unsigned trailer refused, an empty signed aws-chunked body refused, a body without
# a Content-Length refused, a multipart completion answered without its ETag, a wrong
# unsigned-trailer checksum accepted, an empty multipart part refused, a signature for
# another region accepted, a listing with `encoding-type=url` answered with keys not encoded,
# a part's trailer checksum not given back, an XML answer without a Content-Type, no listing of
# a bucket's multipart uploads, a multipart upload of an object typed as a form refused, a
# listing's objects without their ETag and storage class.
SIGNED_TRAILER = "signed trailer"
UNSIGNED_TRAILER = "unsigned trailer"
EMPTY_SIGNED_CHUNKS = "empty signed chunks"
LENGTHLESS_BODY = "lengthless body"
COMPLETION_ETAG = "completion etag"
UNSIGNED_TRAILER_CHECKSUM = "unsigned trailer checksum"
EMPTY_PART = "empty part"
FOREIGN_REGION = "foreign region"
URL_ENCODED_LISTING = "url-encoded listing"
PART_CHECKSUM_ANSWER = "part checksum answer"
UNTYPED_XML_ANSWER = "untyped XML answer"
LISTED_UPLOADS = "listed uploads"
FORM_TYPED_UPLOAD = "form-typed upload"
LISTING_WITHOUT_ETAG = "listing without etag"


class Origin(Program):
    """An S3 server that checks signatures, holding only the origin's key pair. Each kind
    carries the key pair and the region the filter must re-sign with for it."""

    access_key = envoy_config.ORIGIN_KEY
    secret_key = envoy_config.ORIGIN_SECRET
    region = "us-east-1"
    # Where this kind of origin is known to part from S3: deviation -> why. A test that meets
    # one expects the origin to refuse (see the `origin_deviation` fixture).
    deviations: dict[str, str] = {}
    port: int

    @property
    def kind(self) -> str:
        return self.name

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"http://{self.authority}"

    def _wait_for_s3(self) -> None:
        """Serving S3 comes after listening (Garage applies its layout, Ceph its user): wait
        for a signed request with the origin key to succeed."""
        client = s3_client(self.endpoint, self.access_key, self.secret_key, region=self.region)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                client.list_buckets()
                return
            except (BotoCoreError, ClientError) as e:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} does not serve S3 requests: {e}\n{tail(self.log)}") from e
                time.sleep(0.2)


class S3sFs(Origin):
    name = "s3s-fs"
    deviations = {
        UNSIGNED_TRAILER_CHECKSUM: "s3s-fs 0.14.1 records the checksum of an unsigned trailer "
        "without comparing it with the body",
        FOREIGN_REGION: "s3s-fs 0.14.1 takes a signature made for any region",
        URL_ENCODED_LISTING: "s3s-fs 0.14.1 answers a listing with encoding-type=url with its keys "
        "as stored, not URL-encoded (yet says <EncodingType>url</EncodingType>): clients decode them, "
        "a `+` in a key reads as a space",
        LISTED_UPLOADS: "s3s-fs 0.14.1 does not implement ListMultipartUploads (501 NotImplemented), "
        "which minio-js asks before each multipart upload, to resume one of the key's; sent directly too",
        FORM_TYPED_UPLOAD: "s3s-fs 0.14.1 reads any POST typed multipart/form-data as a browser upload, "
        "so CreateMultipartUpload of an object of that type finds no form (400 MalformedPOSTRequest, "
        "or InvalidRequest without a boundary); sent directly too",
        LISTING_WITHOUT_ETAG: "s3s-fs 0.14.1 lists objects without <ETag> and <StorageClass>, which "
        "aioaws and Libcloud require; sent directly too",
    }

    def _start(self, domain: str | None = None):
        """`domain`: the name under which it takes virtual-hosted requests (on its port). With
        one, s3s-fs reads every other host as a bucket name: address it by that name."""
        self.domain = domain
        self.port = free_port()
        (self.dir / "data").mkdir()
        self._spawn(
            [
                paths.s3s_fs_binary(),
                "--host", "127.0.0.1",
                "--port", str(self.port),
                "--access-key", self.access_key,
                "--secret-key", self.secret_key,
                str(self.dir / "data"),
                # s3s matches the Host header port included.
                *(("--domain", f"{domain}:{self.port}") if domain else ()),
            ],
            # Which signature version it checked, for the tests that must know.
            env={"RUST_LOG": "s3s::ops::signature=debug"},
        )
        wait_for_port(self.port, self.process, self.log, "s3s-fs")


class MinIO(Origin):
    name = "minio"

    def _start(self, domain: str | None = None):
        """`domain`: the name under which it takes virtual-hosted requests (`MINIO_DOMAIN`)."""
        self.port = free_port()
        self._spawn(
            [
                shutil.which("minio"), "server", str(self.dir / "data"),
                "--address", f"127.0.0.1:{self.port}",
                "--console-address", f"127.0.0.1:{free_port()}",
            ],
            env={"MINIO_ROOT_USER": self.access_key, "MINIO_ROOT_PASSWORD": self.secret_key,
                 **({"MINIO_DOMAIN": domain} if domain else {})},
        )
        wait_for_port(self.port, self.process, self.log, "minio")
        # Listening comes before being ready to serve.
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.endpoint}/minio/health/ready", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"minio is not ready:\n{tail(self.log)}")


class Garage(Origin):
    """A single-node Garage cluster (https://garagehq.deuxfleurs.fr). Garage checks SigV4
    headers, presigned URLs and chunk signatures itself, refuses SigV2 and any region but its
    own (`s3_region`), and serves path-style requests (virtual-hosted ones too under a `domain`,
    its `root_domain`). Its origin key pair is
    fixed, in the format of the keys Garage makes (`garage key create`): `GK` and 24 hex digits,
    a 64-hex-digit secret. (`garage key import` in 2.5.0 takes any id of 8 or more characters
    and any secret of 16 or more: the s3s-fs pair's secret is too short.)"""

    name = "garage"
    access_key = "GK5e3a9c1d7b2f40e8a6c1d9f3"
    secret_key = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
    region = "garage"
    deviations = {
        SIGNED_TRAILER: "Garage 2.5.0 signs a trailer with AWS4-HMAC-SHA256-PAYLOAD, not -TRAILER, "
        "chained from the last data chunk, not the final empty one (signature/streaming.rs): it "
        "refuses correct signed-trailer uploads, sent directly too",
        EMPTY_PART: "Garage 2.5.0 refuses an UploadPart with an empty body (400 \"Empty body\", "
        "api/s3/multipart.rs); S3 sets no minimum size for the last part",
        PART_CHECKSUM_ANSWER: "Garage 2.5.0 answers an UploadPart whose CRC32C came in a trailer "
        "without x-amz-checksum-crc32c, so minio-go 7.0.46 completes with the composite checksum of "
        "nothing, which Garage refuses (400 InvalidDigest); through an Envoy without the filter too",
        UNTYPED_XML_ANSWER: "Garage 2.5.0 answers CreateMultipartUpload without a Content-Type, and "
        "Net::Amazon::S3 0.991 reads an answer's XML only when one says it is XML: it finds no upload "
        "id, sent directly too",
    }
    CLI_SECONDS = 30
    # On SIGTERM Garage waits 10 s for clients' idle keep-alive connections to close; its
    # workers have stopped long before.
    stop_seconds = 2

    def _start(self, domain: str | None = None):
        self.port = free_port()
        rpc = f"127.0.0.1:{free_port()}"
        root_domain = f'root_domain = ".{domain}"\n' if domain else ""
        self.config_path = self.dir / "garage.toml"
        self.config_path.write_text(
            f"""metadata_dir = "{self.dir / 'meta'}"
data_dir = "{self.dir / 'data'}"
db_engine = "lmdb"
replication_factor = 1
compression_level = "none"
rpc_bind_addr = "{rpc}"
rpc_public_addr = "{rpc}"
rpc_secret = "{os.urandom(32).hex()}"

[s3_api]
api_bind_addr = "127.0.0.1:{self.port}"
s3_region = "{self.region}"
{root_domain}"""
        )
        self._spawn([paths.garage_binary(), "-c", str(self.config_path), "server"],
                    env={"RUST_LOG": "garage=info", "NO_COLOR": "1"})
        wait_for_port(self.port, self.process, self.log, "garage")
        node = self._cli_when_up("node", "id", "-q").split("@")[0]
        self.cli("layout", "assign", "-z", "dc1", "-c", "1G", node)
        self.cli("layout", "apply", "--version", "1")
        self.cli("key", "import", "-n", "origin", "--yes", self.access_key, self.secret_key)
        self.cli("key", "allow", "--create-bucket", self.access_key)
        self._wait_for_s3()

    def cli(self, *args: str) -> str:
        """Runs a `garage` command against this node; its output, or an error with both logs."""
        done = self._run_cli(args)
        if done.returncode != 0:
            raise RuntimeError(f"garage {' '.join(args)} failed:\n{done.stdout}{done.stderr}\n{tail(self.log)}")
        return done.stdout.strip()

    def _run_cli(self, args) -> subprocess.CompletedProcess:
        return subprocess.run(
            [paths.garage_binary(), "-c", str(self.config_path), *args],
            capture_output=True, text=True, timeout=self.CLI_SECONDS, stdin=subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": "warn"},
        )

    def _cli_when_up(self, *args: str) -> str:
        """The first command: retried until the node answers on its RPC port."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"garage exited with {self.process.returncode}:\n{tail(self.log)}")
            done = self._run_cli(args)
            if done.returncode == 0:
                return done.stdout.strip()
            if time.monotonic() > deadline:
                raise RuntimeError(f"garage {' '.join(args)} failed:\n{done.stdout}{done.stderr}\n{tail(self.log)}")
            time.sleep(0.2)


class CephRgw(Origin):
    """Ceph's RADOS Gateway (Debian's `radosgw`, Ceph 16.2 Pacific) on a cluster of one monitor
    and one OSD keeping objects in memory (`memstore`), with cephx between them: the RGW
    checks SigV2 and SigV4 headers, presigned URLs and chunk signatures itself, and serves
    path-style requests (virtual-hosted ones too under a `domain`, its `rgw dns name`). The
    origin's user is made with the origin key pair.
    Ready in about 10 s; no manager daemon (nothing here needs one)."""

    name = "ceph"
    deviations = {
        SIGNED_TRAILER: "Ceph 16.2 (Pacific) predates S3's flexible checksums: it refuses every "
        "aws-chunked body with a trailer (400 XAmzContentSHA256Mismatch), sent directly too",
        UNSIGNED_TRAILER: "Ceph 16.2 (Pacific) predates S3's flexible checksums: it refuses every "
        "aws-chunked body with a trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER: 400 "
        "XAmzContentSHA256Mismatch, or 411 MissingContentLength for a part), sent directly too",
        EMPTY_SIGNED_CHUNKS: "Ceph 16.2 refuses an empty signed aws-chunked body (only the final "
        "chunk: 400 XAmzContentSHA256Mismatch), sent directly too",
        FOREIGN_REGION: "Ceph 16.2's RGW takes a signature made for any region",
        LENGTHLESS_BODY: "Ceph 16.2 refuses a body sent without a Content-Length (Transfer-Encoding: "
        "chunked; Envoy sends an HTTP/2 body so), a browser form's too: 411 MissingContentLength, "
        "sent directly too",
        COMPLETION_ETAG: "Ceph 16.2 answers CompleteMultipartUpload with an empty <ETag></ETag> "
        "(the object's HEAD has it), sent directly too",
    }
    # Its own daemons: the RGW is `process`, the one a test may kill and restart.
    DAEMONS = ("ceph-mon", "ceph-osd", "radosgw")
    CLI_SECONDS = 30

    def _start(self, domain: str | None = None):
        self.port = free_port()
        self.cluster: list[subprocess.Popen] = []
        dns_name = f"rgw dns name = {domain}\n" if domain else ""
        d = self.dir
        mon = f"[v2:127.0.0.1:{free_port()}]"
        fsid = str(uuid.uuid4())
        self.conf = d / "ceph.conf"
        self.conf.write_text(f"""[global]
fsid = {fsid}
mon host = {mon}
keyring = {d}/keyring
run dir = {d}
admin socket = {d}/$name.asok
log file = {d}/$name.log
mon data = {d}/mon
osd data = {d}/osd$id
ms bind msgr1 = false
auth allow insecure global id reclaim = false
osd objectstore = memstore
memstore device bytes = {8 << 30}
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon max pg per osd = 1000
client mount timeout = {STARTUP_SECONDS}
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:{self.port}
rgw data = {d}/rgw
# SSE-C over plain HTTP, as the other origins here take it.
rgw crypt require ssl = false
{dns_name}""")
        keyring = str(d / "keyring")
        for name, caps in (("mon.", ["mon", "allow *"]),
                           ("client.admin", ["mon", "allow *", "osd", "allow *", "mgr", "allow *"]),
                           ("osd.0", ["mon", "allow profile osd", "osd", "allow *"]),
                           ("client.rgw", ["mon", "allow rw", "osd", "allow rwx"])):
            create = ["--create-keyring"] if name == "mon." else []
            cap_args = [a for i in range(0, len(caps), 2) for a in ("--cap", caps[i], caps[i + 1])]
            self._tool("ceph-authtool", keyring, *create, "--gen-key", "-n", name, *cap_args)
        self._tool("monmaptool", "--create", "--fsid", fsid, "--addv", "a", mon, str(d / "monmap"))
        for sub in ("mon", "osd0", "rgw"):
            (d / sub).mkdir()
        self._tool("ceph-mon", "-c", str(self.conf), "--mkfs", "-i", "a", "--monmap", str(d / "monmap"),
                   "--keyring", keyring)
        self._daemon("ceph-mon", "-c", str(self.conf), "-f", "-i", "a")
        self._tool("ceph", "-c", str(self.conf), "osd", "create")
        self._tool("ceph-osd", "-c", str(self.conf), "-i", "0", "--mkfs")
        self._daemon("ceph-osd", "-c", str(self.conf), "-f", "-i", "0")
        # `-d`: in the foreground, its log in `log.txt`.
        self._spawn(["radosgw", "-c", str(self.conf), "-n", "client.rgw", "-d"])
        wait_for_port(self.port, self.process, self.log, "radosgw")
        self.admin("user", "create", "--uid=origin", "--display-name=origin",
                   f"--access-key={self.access_key}", f"--secret-key={self.secret_key}")
        self._wait_for_s3()

    def _tool(self, *args: str) -> str:
        done = subprocess.run(args, capture_output=True, text=True, timeout=self.CLI_SECONDS,
                              stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def _daemon(self, *args: str) -> None:
        with open(self.dir / f"{args[0]}.out", "ab") as out:
            self.cluster.append(subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL, start_new_session=True))

    def admin(self, *args: str) -> str:
        """Runs a `radosgw-admin` command against this cluster; its output."""
        return self._tool("radosgw-admin", "-c", str(self.conf), "-n", "client.admin", *args)

    def stop(self) -> None:
        # The gateway first, then the OSD, then the monitor: each still has what it talks to.
        for daemon in [self.process, *getattr(self, "cluster", ())[::-1]]:
            if daemon:
                end(daemon, self.stop_seconds)
        super().stop()

ORIGINS = {"s3s-fs": S3sFs, "garage": Garage, "minio": MinIO, "ceph": CephRgw}


class StandIn(http.server.BaseHTTPRequestHandler):
    """A handler for `stand_in_origin`: it answers Envoy's health checks (`GET`) and logs
    nothing; subclasses record or answer the requests a test is about."""

    def answer(self, status: int = 200) -> None:
        """An answer with no body."""
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        self.answer()

    def log_message(self, *args):
        pass


@contextmanager
def stand_in_origin(handler: type[StandIn]):
    """An HTTP server on 127.0.0.1 serving `handler` in place of an origin (to record what an
    origin would receive, or to answer as no origin here does), stopped at the context's end;
    yields the shipped Envoy configuration in front of it, to adjust before starting Envoy."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_port
        yield envoy_config.render(origin_host="127.0.0.1", origin_port=port,
                                  filter_config=envoy_config.filter_config_json(f"127.0.0.1:{port}"))
    finally:
        server.shutdown()
        server.server_close()


def origin_kinds() -> list[str]:
    """Every origin the core client matrix runs against: s3s-fs and Garage always; Ceph's RGW
    when Debian's `radosgw`, `ceph-mon` and `ceph-osd` are installed; MinIO when a `minio`
    binary is on PATH. `S3_RESIGN_ORIGINS` (kinds separated by commas) keeps only those."""
    kinds = ["s3s-fs", "garage"]
    kinds += ["ceph"] if all(map(shutil.which, CephRgw.DAEMONS)) else []
    kinds += ["minio"] if shutil.which("minio") else []
    only = [k for k in os.environ.get("S3_RESIGN_ORIGINS", "").split(",") if k]
    return [k for k in kinds if k in only] if only else kinds


def start_origin(kind: str, domain: str | None = None) -> Origin:
    """An origin of that kind; under a `domain`, it also takes virtual-hosted requests for
    `bucket.domain:port`."""
    return ORIGINS[kind](domain=domain)


class Envoy(Program):
    """Envoy running a configuration rendered from envoy/envoy.yaml."""

    name = "envoy"
    # Seconds an admin request may take (longer under a profiler).
    admin_timeout = 5
    # How the public listener is reached: a TLS one has a `ca_bundle` to trust, and `offers_h2`
    # when its ALPN offers h2 (conftest's `tls_proxy`, `h2_proxy`).
    scheme = "http"
    ca_bundle: str | None = None
    offers_h2 = False

    def _start(self, config: dict, env: dict | None = None, concurrency: int = 1, log_level: str = "info",
               wrapper: list[str] | None = None, startup_seconds: float = STARTUP_SECONDS):
        """`wrapper` prefixes the command (a profiler), which may slow the start down to
        `startup_seconds`."""
        self.config_path = self.dir / "envoy.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        admin_path = self.dir / "admin-address"
        if wrapper:
            self.admin_timeout = 60
        self._spawn(
            [
                *(wrapper or []),
                paths.envoy_binary(),
                "-c", str(self.config_path),
                "--concurrency", str(concurrency),
                "--disable-hot-restart",
                "--admin-address-path", str(admin_path),
                "--log-level", "warning",
                "--component-log-level", f"wasm:{log_level}",
            ],
            env=env,
        )
        self.admin = self._wait_ready(admin_path, startup_seconds)
        self.port = self._listener_port()

    @property
    def authority(self) -> str:
        """The public authority clients use: a name, not the origin's address."""
        return f"localhost:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://{self.authority}"

    def downstream_connections(self) -> dict[str, int]:
        """Connections the public listener (stat prefix s3_public) took, by protocol."""
        return {protocol: self.counter(f"http.s3_public.downstream_cx_{name}_total")
                for protocol, name in (("HTTP/1.1", "http1"), ("HTTP/2", "http2"))}

    def protocol_of(self, speaks_h2: bool) -> str:
        """The protocol a client that does (or does not) speak HTTP/2 over TLS gets here:
        HTTP/2 only where ALPN offers it (no client tested speaks h2c, HTTP/2 in clear)."""
        return "HTTP/2" if speaks_h2 and self.offers_h2 else "HTTP/1.1"

    @contextmanager
    def speaking(self, protocol: str):
        """Asserts that the clients run inside opened connections here, all in `protocol`:
        what ALPN negotiated, as the listener counted it."""
        before = self.downstream_connections()
        yield
        after = self.downstream_connections()
        opened = {p: after[p] - before[p] for p in after if after[p] != before[p]}
        assert list(opened) == [protocol], f"connections opened, by protocol: {opened}, expected {protocol} only"

    def workers_wakeups(self) -> int:
        """How often Envoy's worker threads have gone to sleep and been woken (their voluntary
        context switches): where the filter's streams and ticks run, one per timer that fires
        on an idle worker. Unlike CPU time, the count does not depend on the machine's speed
        or its neighbours."""
        total = 0
        for thread in Path(f"/proc/{self.process.pid}/task").iterdir():
            try:
                if not (thread / "comm").read_text().startswith("wrk:"):
                    continue
                for line in (thread / "status").read_text().splitlines():
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
        return total

    def _wait_ready(self, admin_path: Path, startup_seconds: float = STARTUP_SECONDS) -> str:
        deadline = time.monotonic() + startup_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EnvoyExited(self.process.returncode, self.log_text())
            address = admin_path.read_text().strip() if admin_path.exists() else ""
            if address:
                try:
                    with urllib.request.urlopen(f"http://{address}/ready", timeout=1) as r:
                        if r.read().strip() == b"LIVE":
                            return address
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"Envoy is not ready:\n{tail(self.log)}")

    def _listener_port(self) -> int:
        statuses = self.admin_json("/listeners?format=json")["listener_statuses"]
        return statuses[0]["local_address"]["socket_address"]["port_value"]

    def quic_port(self) -> int:
        """The UDP port of the HTTP/3 listener `with_quic` added (named `…_quic`)."""
        statuses = self.admin_json("/listeners?format=json")["listener_statuses"]
        quic = next(s for s in statuses if s["name"].endswith("_quic"))
        return quic["local_address"]["socket_address"]["port_value"]

    def admin_get(self, path: str) -> bytes:
        with urllib.request.urlopen(f"http://{self.admin}{path}", timeout=self.admin_timeout) as r:
            return r.read()

    def admin_json(self, path: str):
        return json.loads(self.admin_get(path))

    def version(self) -> tuple[int, ...]:
        """Envoy's release, from /server_info ("<commit>/1.40.0/Clean/RELEASE/BoringSSL")."""
        release = self.admin_json("/server_info")["version"].split("/")[1]
        # A development build says "1.41.0-dev".
        return tuple(int(re.match(r"\d*", part).group() or 0) for part in release.split(".")[:3])

    def upstream_vm_cluster(self, cluster: str) -> str | None:
        """Where a wasm VM that `cluster`'s upstream filter started counts its stats
        (`wasmcustom.*`, and its plugin's `wasm.*`): None for the root scope, where Envoy 1.39 and
        later count it as they count a listener filter's (envoyproxy/envoy#45242); `cluster` for
        that cluster's scope (`cluster.<name>.`), where earlier releases count it. Clusters load
        before listeners, so in failover.yaml the origin filter starts the VM the edge shares."""
        return None if self.version() >= (1, 39) else cluster

    def prometheus(self, cluster: str | None = None) -> dict[str, int]:
        """The filter's series from /stats/prometheus: {'name{label="v"}': value}. With
        `cluster` (`upstream_vm_cluster`), those counted in its scope, named as at the root."""
        prefix, own = ("envoy_cluster_wasmcustom_", f'envoy_cluster_name="{cluster}"') if cluster else ("", "")
        series = {}
        for line in self.admin_get("/stats/prometheus").decode().splitlines():
            if line.startswith(prefix + "s3_resign_"):
                name, value = line.removeprefix(prefix).rsplit(" ", 1)
                if cluster:
                    name, _, labels = name.partition("{")
                    labels = labels.removesuffix("}").split(",")
                    if own not in labels:
                        continue
                    name += "{" + ",".join(label for label in labels if label != own) + "}"
                series[name.removesuffix("{}")] = int(value)
        return series

    def counter(self, name: str) -> int:
        """One counter from /stats (0 when it does not exist yet)."""
        for line in self.admin_get(f"/stats?filter=^{name}$").decode().splitlines():
            key, _, value = line.partition(": ")
            if key == name:
                return int(value)
        return 0

    def origin_requests(self) -> int:
        """Requests Envoy sent to the origin cluster."""
        return self.counter("cluster.s3_origin.upstream_rq_total")


def validate_envoy(config: dict) -> subprocess.CompletedProcess:
    """`envoy --mode validate` of a configuration: it parses every field and runs the filter's
    configure step (its VM loaded), opening no port."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(config, f)
        f.flush()
        return subprocess.run([paths.envoy_binary(), "--mode", "validate", "-c", f.name], capture_output=True,
                              text=True, timeout=120, stdin=subprocess.DEVNULL)


class EnvoyExited(RuntimeError):
    def __init__(self, code: int, log: str):
        super().__init__(f"Envoy exited with {code}:\n{log[-4000:]}")
        self.code = code
        self.log = log
