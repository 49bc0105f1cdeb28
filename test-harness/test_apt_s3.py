"""apt-transport-s3 2.1.0 (Debian: an apt method in Python, its own SigV4 signer over
urllib, for private apt repositories in S3) through the proxy: `apt-get update` (`InRelease`
absent: 404, then `Release`, `Release.gpg` absent, `Packages.gz`) and `apt-get download` of a
package whose version holds `+` and `~`, from a repository under a prefix with a space, `+`
and `é`, uploaded straight to the origin; signed for `us-east-1` and for another region (the
filter re-signs for the origin's); a wrong secret refused. It signs
`host;x-amz-content-sha256;x-amz-date` (and `x-amz-security-token` with a `Token`, which
the filter refuses: no key here has one), an empty body's SHA-256.

The method has no path-style and no plain HTTP: it always asks
`https://<bucket>.<Endpoint><path>` (`Endpoint` and `Region` from its configuration file,
`/etc/apt/s3auth.conf` unless its first argument names another), so it runs against the
proxy's TLS listener, virtual-hosted, with `Endpoint = s3.mydomain.test:PORT`. No system file
is touched: apt runs with its state, cache, sources and methods directories under the test's
own, and the `s3` method there is a wrapper that resolves `*.s3.mydomain.test` to 127.0.0.1
(what a wildcard DNS record does), trusts the test CA (`SSL_CERT_FILE`) and passes the
configuration file's path. Skipped without the method, `dpkg-deb` or `dpkg-scanpackages`
(`dpkg-dev`)."""

import gzip
import hashlib
import os
import shutil
import subprocess
import textwrap

import pytest

from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import environ_without_proxies

METHOD = "/usr/lib/apt/methods/s3"
pytestmark = pytest.mark.skipif(
    not os.path.exists(METHOD) or shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None
    or shutil.which("dpkg-scanpackages") is None,
    reason="apt-transport-s3 or dpkg-dev is not installed: apt-get install -y apt-transport-s3 dpkg-dev",
)

PACKAGE, VERSION = "s3resign-probe", "1.0+b1~rc1"
PREFIX = "apt repo+é"  # the repository's path in the bucket
DEB_NAME = f"{PACKAGE}_{VERSION}_all.deb"


def build_repository(tmp_path) -> dict[str, bytes]:
    """A one-package repository: key (under PREFIX) -> body."""
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr/share/doc" / PACKAGE).mkdir(parents=True)
    (root / "usr/share/doc" / PACKAGE / "README").write_text("served through s3-resign\n")
    (root / "DEBIAN/control").write_text(textwrap.dedent(f"""\
        Package: {PACKAGE}
        Version: {VERSION}
        Architecture: all
        Maintainer: s3-resign tests <t@example.invalid>
        Description: a package fetched through the proxy
        """))
    repo = tmp_path / "repo"
    pool = repo / "pool/main/s"
    pool.mkdir(parents=True)
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(pool / DEB_NAME)], check=True,
                   capture_output=True)
    packages = subprocess.run(["dpkg-scanpackages", "-m", "pool"], cwd=repo, check=True, capture_output=True).stdout
    files = {"dists/stable/main/binary-amd64/Packages.gz": gzip.compress(packages),
             "dists/stable/main/binary-all/Packages.gz": gzip.compress(b"")}
    # apt finds an index by its uncompressed name in Release: list it (not served) with the .gz
    listed = {**files, "dists/stable/main/binary-amd64/Packages": packages, "dists/stable/main/binary-all/Packages": b""}
    sums = "".join(f" {hashlib.sha256(b).hexdigest()} {len(b)} {k.removeprefix('dists/stable/')}\n" for k, b in listed.items())
    release = (f"Origin: s3-resign\nLabel: s3-resign\nSuite: stable\nCodename: stable\n"
               f"Date: Thu, 01 Jan 2026 00:00:00 UTC\nArchitectures: amd64 all\nComponents: main\n"
               f"SHA256:\n{sums}")
    files["dists/stable/Release"] = release.encode()
    files[f"pool/main/s/{DEB_NAME}"] = (pool / DEB_NAME).read_bytes()
    return files


class Apt:
    """apt-get with everything of its own under tmp_path, the s3 method wrapped."""

    def __init__(self, tmp_path, proxy, bucket, key=CLIENT_KEY, secret=CLIENT_SECRET, region="us-east-1", token=None):
        self.dir = tmp_path / "apt"
        for d in ("state/lists/partial", "cache/archives/partial", "etc/preferences.d", "etc/apt.conf.d", "methods", "out"):
            (self.dir / d).mkdir(parents=True, exist_ok=True)
        (self.dir / "state/status").write_text("")
        conf = self.dir / "s3auth.conf"
        conf.write_text(f"AccessKeyId = {key}\nSecretAccessKey = {secret}\nRegion = {region}\n"
                        f"Endpoint = {PUBLIC_TEST_DOMAIN}:{proxy.port}\n" + (f"Token = {token}\n" if token else ""))
        for name in os.listdir("/usr/lib/apt/methods"):
            if name != "s3":
                (self.dir / "methods" / name).symlink_to(os.path.join("/usr/lib/apt/methods", name))
        wrapper = self.dir / "methods/s3"
        wrapper.write_text(textwrap.dedent(f"""\
            #!/usr/bin/python3 -u
            import os, runpy, socket, sys
            os.environ["SSL_CERT_FILE"] = {proxy.ca_bundle!r}
            resolve = socket.getaddrinfo
            def getaddrinfo(host, *args, **kwargs):
                if host == {PUBLIC_TEST_DOMAIN!r} or str(host).endswith({"." + PUBLIC_TEST_DOMAIN!r}):
                    host = "127.0.0.1"
                return resolve(host, *args, **kwargs)
            socket.getaddrinfo = getaddrinfo
            sys.argv = [{METHOD!r}, {str(conf)!r}]
            runpy.run_path({METHOD!r}, run_name="__main__")
            """))
        wrapper.chmod(0o755)
        self.sources = self.dir / "sources.list"
        self.sources.write_text(f"deb [trusted=yes] s3://{bucket}/{PREFIX.replace(' ', '%20')} stable main\n")
        self.options = []
        for option, value in {"Dir::Etc::sourcelist": self.sources, "Dir::Etc::sourceparts": "-",
                              "Dir::Etc::preferencesparts": self.dir / "etc/preferences.d",
                              "Dir::State": self.dir / "state", "Dir::State::status": self.dir / "state/status",
                              "Dir::Cache": self.dir / "cache", "Dir::Bin::Methods": self.dir / "methods",
                              "Debug::NoLocking": "1", "APT::Sandbox::User": "root", "Acquire::Retries": "0",
                              "APT::Architecture": "amd64", "APT::Architectures::": "amd64",
                              "Acquire::Languages": "none", "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled": "false",
                              }.items():
            self.options += ["-o", f"{option}={value}"]
        self.env = environ_without_proxies()

    def __call__(self, *args, check=True, program="apt-get") -> subprocess.CompletedProcess:
        done = subprocess.run([program, "-q", *self.options, *args], cwd=self.dir / "out", env=self.env,
                              capture_output=True, text=True, timeout=120)
        assert not check or done.returncode == 0, f"apt-get {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done


def rejections(proxy) -> int:
    return sum(v for k, v in proxy.prometheus().items() if k.startswith("s3_resign_rejections_total"))


@pytest.fixture
def repository(tmp_path, origin_s3, bucket):
    files = build_repository(tmp_path)
    for key, body in files.items():
        origin_s3.put_object(Bucket=bucket, Key=f"{PREFIX}/{key}", Body=body)
    return files


@pytest.mark.every_origin
@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_update_and_download(tls_proxy, origin, repository, bucket, tmp_path, region):
    refused = rejections(tls_proxy)
    apt = Apt(tmp_path, tls_proxy, bucket, region=region)
    updated = apt("update")
    assert "W:" not in updated.stderr and "E:" not in updated.stderr, updated.stderr
    assert "Release" in updated.stdout and "Packages" in updated.stdout, updated.stdout
    policy = apt("policy", PACKAGE, program="apt-cache").stdout
    assert f"Candidate: {VERSION}" in policy, policy
    apt("download", PACKAGE)
    assert os.listdir(apt.dir / "out") == [DEB_NAME]
    assert (apt.dir / "out" / DEB_NAME).read_bytes() == repository[f"pool/main/s/{DEB_NAME}"]
    assert rejections(tls_proxy) == refused


def test_a_wrong_secret_is_refused(tls_proxy, repository, bucket, tmp_path):
    refused = rejections(tls_proxy)
    apt = Apt(tmp_path, tls_proxy, bucket, secret="not-the-secret")
    done = apt("update", check=False)
    assert "403" in done.stdout + done.stderr, done.stdout + done.stderr
    assert rejections(tls_proxy) > refused
    assert not list((apt.dir / "state/lists").glob("*Packages*"))


def test_a_session_token_is_refused(tls_proxy, repository, bucket, tmp_path):
    """With a `Token` in its configuration it signs `x-amz-security-token`: refused, 400
    `InvalidToken`, not passed on beside the origin's key (this sweep found it forwarded)."""
    before = tls_proxy.prometheus()['s3_resign_rejections_total{code="InvalidToken"}']
    apt = Apt(tmp_path, tls_proxy, bucket, token="FQoGZXIvYXdzE")
    done = apt("update", check=False)
    assert "400" in done.stdout + done.stderr, done.stdout + done.stderr
    assert tls_proxy.prometheus()['s3_resign_rejections_total{code="InvalidToken"}'] > before
    assert not list((apt.dir / "state/lists").glob("*Packages*"))
