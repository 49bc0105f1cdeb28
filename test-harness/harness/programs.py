"""Start and stop the real programs: Envoy, s3s-fs and MinIO."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

from . import envoy_config, paths

STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class Program:
    """A child process with its own temporary directory and log file."""

    name = "program"

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
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )

    def stop(self) -> None:
        """Stops the program and removes its files; the log text, with what the program wrote
        while stopping (Envoy flushes its access logs then), stays readable in memory."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log.exists():
            self._last_log = self.log.read_text(errors="replace")
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self) -> str:
        if self.log.exists():
            return self.log.read_text(errors="replace")
        return getattr(self, "_last_log", "")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Origin(Program):
    """An S3 server that checks signatures, holding only the origin's key pair."""

    access_key = envoy_config.ORIGIN_KEY
    secret_key = envoy_config.ORIGIN_SECRET
    port: int

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"http://{self.authority}"


class S3sFs(Origin):
    name = "s3s-fs"

    def _start(self):
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
            ]
        )
        wait_for_port(self.port, self.process, self.log, "s3s-fs")


class MinIO(Origin):
    name = "minio"

    def _start(self):
        self.port = free_port()
        self._spawn(
            [
                shutil.which("minio"), "server", str(self.dir / "data"),
                "--address", f"127.0.0.1:{self.port}",
                "--console-address", f"127.0.0.1:{free_port()}",
            ],
            env={"MINIO_ROOT_USER": self.access_key, "MINIO_ROOT_PASSWORD": self.secret_key},
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


def origin_kinds() -> list[str]:
    """s3s-fs always; MinIO too when a `minio` binary is on PATH."""
    return ["s3s-fs"] + (["minio"] if shutil.which("minio") else [])


def start_origin(kind: str) -> Origin:
    return {"s3s-fs": S3sFs, "minio": MinIO}[kind]()


class Envoy(Program):
    """Envoy running a configuration rendered from envoy/envoy.yaml."""

    name = "envoy"

    def _start(self, config: dict, env: dict | None = None, concurrency: int = 1, log_level: str = "info"):
        self.config_path = self.dir / "envoy.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        admin_path = self.dir / "admin-address"
        self._spawn(
            [
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
        self.admin = self._wait_ready(admin_path)
        self.port = self._listener_port()

    @property
    def authority(self) -> str:
        """The public authority clients use: a name, not the origin's address."""
        return f"localhost:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"http://{self.authority}"

    def _wait_ready(self, admin_path: Path) -> str:
        deadline = time.monotonic() + STARTUP_SECONDS
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

    def admin_get(self, path: str) -> bytes:
        with urllib.request.urlopen(f"http://{self.admin}{path}", timeout=5) as r:
            return r.read()

    def admin_json(self, path: str):
        return json.loads(self.admin_get(path))

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


class EnvoyExited(RuntimeError):
    def __init__(self, code: int, log: str):
        super().__init__(f"Envoy exited with {code}:\n{log[-4000:]}")
        self.code = code
        self.log = log
