"""deploy/entrypoint.sh run natively, as the container image runs it: configured only by
environment variables, finding Envoy and the filter through ENVOY_BIN and S3_RESIGN_WASM."""

import os
import signal
import subprocess
import time

from . import paths
from .programs import STARTUP_SECONDS, Envoy, free_port

ENTRYPOINT = paths.ROOT / "deploy" / "entrypoint.sh"


def image_environment(variables: dict, tmpdir) -> dict:
    """What the entrypoint sees in the image, but on this machine: the user's variables, the
    binaries' paths, loopback and free ports. Nothing else of the test's environment (an
    AWS_REGION of the developer's must not leak in)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ENVOY_BIN": paths.envoy_binary(),
        "S3_RESIGN_WASM": str(paths.wasm_module()),
        "BIND_ADDRESS": "127.0.0.1",
        "PORT": str(free_port()),
        "METRICS_PORT": str(free_port()),
        "ADMIN_PORT": str(free_port()),
        "TMPDIR": str(tmpdir),
    }
    env.update(variables)
    return {k: v for k, v in env.items() if v is not None}


class EntrypointProxy(Envoy):
    """The proxy as the image starts it: `sh deploy/entrypoint.sh` with `variables`."""

    name = "entrypoint"

    def _start(self, variables: dict, args: tuple[str, ...] = ("--concurrency", "1")):
        self.env = image_environment(variables, self.dir)
        admin_path = self.dir / "admin-address"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                ["/bin/sh", str(ENTRYPOINT), "--admin-address-path", str(admin_path), *args],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env,
                start_new_session=True,
            )
        self.admin = self._wait_ready(admin_path)
        self.port = int(self.env["PORT"])
        # With TLS_CERT_FILE, PORT speaks HTTPS, offering h2 (the caller knows the CA to trust).
        if self.env.get("TLS_CERT_FILE"):
            self.scheme, self.offers_h2 = "https", True
        self.metrics_port = int(self.env["METRICS_PORT"])
        # Envoy is the entrypoint's only child while it runs (the drain adds helpers).
        [pid] = open(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read().split()
        self.envoy_pid = int(pid)

    def stop(self) -> None:
        """SIGTERM to the entrypoint, which drains Envoy and stops it; Envoy (in a session, and
        so a process group, of its own) is killed too should the entrypoint not have stopped it
        in time."""
        envoy = getattr(self, "envoy_pid", None)
        super().stop()
        if envoy is not None and b"envoy" in self._cmdline(envoy):
            try:
                os.killpg(envoy, signal.SIGKILL)
            except ProcessLookupError:
                pass

    @staticmethod
    def _cmdline(pid: int) -> bytes:
        try:
            return open(f"/proc/{pid}/cmdline", "rb").read()
        except OSError:
            return b""


def run_to_failure(variables: dict, tmpdir, timeout: float = STARTUP_SECONDS,
                   as_user: tuple[str, ...] = ()) -> tuple[int, str, dict]:
    """Runs the entrypoint expecting it to stop: (exit code, its output, its environment).
    `as_user` prefixes the command (setpriv, to run it as another user)."""
    env = image_environment(variables, tmpdir)
    started = time.monotonic()
    done = subprocess.run([*as_user, "/bin/sh", str(ENTRYPOINT)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert time.monotonic() - started < timeout
    return done.returncode, done.stdout + done.stderr, env
