"""Fixtures: a real S3 origin holding only the origin key pair, Envoy with the s3-resign
filter in front of it, and clients for both sides.

Tests run against s3s-fs. Those of the core client matrix, marked `every_origin`, run against
every origin kind (s3s-fs, Garage, and MinIO when a `minio` binary is on PATH): the same
fixtures, `origin` and all that depend on it (`proxy`, `s3`, `origin_s3`, `bucket`, ...), are
then those of each origin in turn."""

import subprocess
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import Envoy, filter_config_json, origin_kinds, render, start_origin  # noqa: E402
from harness.clients import s3_client  # noqa: E402
from harness.envoy_config import ALPN_H2, PUBLIC_TEST_DOMAIN, with_tls  # noqa: E402


EVERY_ORIGIN = "every_origin"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"{EVERY_ORIGIN}: a test of the core client matrix, run against every origin kind, not only s3s-fs"
    )


def pytest_generate_tests(metafunc):
    if "origin" in metafunc.fixturenames:
        kinds = origin_kinds() if metafunc.definition.get_closest_marker(EVERY_ORIGIN) else ["s3s-fs"]
        # Session scope: pytest groups the tests by origin, so each origin starts once.
        metafunc.parametrize("origin", kinds, indirect=True, scope="session")


@pytest.fixture(scope="session")
def origin(request):
    with start_origin(request.param) as o:
        yield o


@pytest.fixture
def origin_deviation(request, origin):
    """`origin_deviation(what, ...)`: this test meets known deviations of origins from S3
    (`Origin.deviations`); with an origin that has one, an assertion of the test must fail
    (strict xfail: should the origin be fixed, the test fails until the mark goes). `raises`:
    the exception the origin's refusal comes as, where a client raises its own."""

    def expect(*what: str, raises: type[BaseException] | tuple = AssertionError) -> None:
        reasons = [origin.deviations[w] for w in what if w in origin.deviations]
        if reasons:
            reason = f"{origin.kind}: " + "; ".join(reasons)
            request.applymarker(pytest.mark.xfail(strict=True, raises=raises, reason=reason))

    return expect


def start_proxy(origin, env=None, **filter_overrides) -> Envoy:
    """Envoy + filter in front of `origin`, re-signing with its key pair and region."""
    config = render(
        origin_host="127.0.0.1",
        origin_port=origin.port,
        filter_config=filter_config_json(origin, **filter_overrides),
        env_keys=list(env or {}),
    )
    return Envoy(config, env=env)


@pytest.fixture(scope="session")
def proxy(origin):
    """Envoy + filter with the default configuration (CLIENTKEY translated to the origin's pair)."""
    with start_proxy(origin) as envoy:
        yield envoy


def certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a certificate it signs for localhost and the public test domain,
    its virtual-hosted names included (`*.s3.mydomain.test`, as a deployment's certificate
    covers `*.s3.mydomain.com`): (CA, certificate, key)."""
    ca, ca_key, cert, key = (directory / n for n in ("ca.pem", "ca-key.pem", "cert.pem", "key.pem"))
    openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run(openssl + ["-subj", "/CN=s3-resign tests", "-keyout", str(ca_key), "-out", str(ca)],
                   check=True, capture_output=True)
    subprocess.run(openssl + ["-CA", str(ca), "-CAkey", str(ca_key), "-subj", "/CN=localhost",
                              "-addext", f"subjectAltName=DNS:localhost,DNS:{PUBLIC_TEST_DOMAIN},DNS:*.{PUBLIC_TEST_DOMAIN}", "-addext", "basicConstraints=critical,CA:FALSE",
                              "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return ca, cert, key


@contextmanager
def start_tls_proxy(origin, alpn: list[str] | None = None):
    """The proxy with its public listener on TLS (offering `alpn`), its certificate signed
    by the CA in `ca_bundle`."""
    with tempfile.TemporaryDirectory(prefix="s3-resign-tls-") as tmp:
        ca, cert, key = certificates(Path(tmp))
        config = with_tls(render(origin_host="127.0.0.1", origin_port=origin.port,
                                 filter_config=filter_config_json(origin)), str(cert), str(key), alpn)
        with Envoy(config) as envoy:
            envoy.scheme, envoy.ca_bundle, envoy.offers_h2 = "https", str(ca), "h2" in (alpn or [])
            yield envoy


@pytest.fixture(scope="session")
def tls_proxy(origin):
    """The proxy with its public listener on TLS offering no ALPN: every client speaks
    HTTP/1.1, and SDKs send unsigned-trailer uploads."""
    with start_tls_proxy(origin) as envoy:
        yield envoy


@pytest.fixture(scope="session")
def h2_proxy(origin):
    """The proxy with its public listener on TLS offering h2 and http/1.1 by ALPN, as
    gateways' listeners do: Go's net/http, the AWS SDK for Rust and curl speak HTTP/2 to it
    (Envoy speaks HTTP/1.1 to the origin), boto3 and Node's http still HTTP/1.1."""
    with start_tls_proxy(origin, ALPN_H2) as envoy:
        yield envoy


@pytest.fixture(params=["h1", "h2"], ids=["tls", "tls-h2"])
def https_proxy(request, origin):
    """`tls_proxy`, then `h2_proxy`: a test over HTTPS run with each listener."""
    return request.getfixturevalue({"h1": "tls_proxy", "h2": "h2_proxy"}[request.param])


@pytest.fixture(params=["http", "h2"], ids=["http", "tls-h2"])
def public(request, origin):
    """`proxy` (plain HTTP), then `h2_proxy` (HTTPS offering h2): a client test run as
    clients reach the proxy directly and as they reach it behind a TLS listener."""
    return request.getfixturevalue({"http": "proxy", "h2": "h2_proxy"}[request.param])


@pytest.fixture
def make_proxy(origin):
    """Starts an Envoy with other filter settings; stopped after the test."""
    started = []

    def make(env=None, **filter_overrides):
        envoy = start_proxy(origin, env=env, **filter_overrides)
        started.append(envoy)
        return envoy

    yield make
    for envoy in started:
        envoy.stop()


@pytest.fixture
def s3(proxy):
    """boto3 through the proxy, with the client key pair."""
    return s3_client(proxy.endpoint)


@pytest.fixture
def origin_s3(origin):
    """boto3 straight to the origin, with the origin key pair: what the origin really holds."""
    return s3_client(origin.endpoint, origin.access_key, origin.secret_key, region=origin.region)


@pytest.fixture
def bucket(origin_s3):
    name = f"t-{uuid.uuid4().hex[:12]}"
    origin_s3.create_bucket(Bucket=name)
    return name


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        names = ("proxy", "tls_proxy", "h2_proxy", "https_proxy", "public", "h3_proxy")
        envoys = {id(e): e for e in map(item.funcargs.get, names) if isinstance(e, Envoy)}
        for envoy in envoys.values():
            report.sections.append(("envoy log (tail)", envoy.log_text()[-6000:]))
        origin = item.funcargs.get("origin")
        if origin is not None and origin.kind != "s3s-fs":
            report.sections.append((f"{origin.kind} log (tail)", origin.log_text()[-6000:]))
    return report
