"""Fixtures: a real S3 origin holding only the origin key pair, Envoy with the s3-resign
filter in front of it, and clients for both sides."""

import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import Envoy, filter_config_json, origin_kinds, render, start_origin  # noqa: E402
from harness.clients import s3_client  # noqa: E402


@pytest.fixture(scope="session", params=origin_kinds())
def origin(request):
    with start_origin(request.param) as o:
        yield o


def start_proxy(origin, env=None, **filter_overrides) -> Envoy:
    config = render(
        origin_host="127.0.0.1",
        origin_port=origin.port,
        filter_config=filter_config_json(origin.authority, **filter_overrides),
        env_keys=list(env or {}),
    )
    return Envoy(config, env=env)


@pytest.fixture(scope="session")
def proxy(origin):
    """Envoy + filter with the default configuration (CLIENTKEY translated to ORIGINKEY)."""
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
    return s3_client(origin.endpoint, origin.access_key, origin.secret_key)


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
    return report
