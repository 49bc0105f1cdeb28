"""Fixtures: a real S3 origin holding only the origin key pair, Envoy with the s3-resign
filter in front of it, and clients for both sides.

Tests run against s3s-fs. Those of the core client matrix, marked `every_origin`, run against
every origin kind (s3s-fs, Garage, and MinIO when a `minio` binary is on PATH): the same
fixtures, `origin` and all that depend on it (`proxy`, `s3`, `origin_s3`, `bucket`, ...), are
then those of each origin in turn."""

import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import Envoy, filter_config_json, origin_kinds, render, start_origin  # noqa: E402
from harness.clients import s3_client  # noqa: E402


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
    """`origin_deviation(what)`: this test meets a known deviation of the origin from S3
    (`Origin.deviations`); with an origin that has it, an assertion of the test must fail
    (strict xfail: should the origin be fixed, the test fails until the mark goes)."""

    def expect(what: str) -> None:
        reason = origin.deviations.get(what)
        if reason:
            request.applymarker(pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"{origin.kind}: {reason}"))

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
        for name in ("proxy",):
            envoy = item.funcargs.get(name)
            if isinstance(envoy, Envoy):
                report.sections.append(("envoy log (tail)", envoy.log_text()[-6000:]))
        origin = item.funcargs.get("origin")
        if origin is not None and origin.kind != "s3s-fs":
            report.sections.append((f"{origin.kind} log (tail)", origin.log_text()[-6000:]))
    return report
