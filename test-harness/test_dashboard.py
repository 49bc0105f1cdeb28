"""deploy/grafana/s3-resign-dashboard.json: valid JSON that Grafana can import, and every
query names series a real Envoy exports (/stats/prometheus) after traffic through the
filter, with the labels it selects and groups by. The queries are parsed by a real PromQL
parser; the Envoy runs envoy/https-origin.yaml (a TLS origin, so its TLS series exist too)."""

import json
import re

import pytest
import promql_parser

from harness import Envoy, filter_config_json, render
from harness.chunked import chunked_put
from harness.clients import presign, send, sign_header
from harness import istio
from harness.envoy_config import HTTPS_ORIGIN_YAML, wasm_filter, with_origin_name
from harness.paths import ROOT
from harness.tls import Authority, tls_front

DASHBOARD = ROOT / "deploy" / "grafana" / "s3-resign-dashboard.json"


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def queries(board: dict) -> list[str]:
    """Every target's expression, with the dashboard's variables at their defaults and
    Grafana's $__rate_interval and $__range as Prometheus would get them."""
    defaults = {v["name"]: v["current"].get("value") for v in board["templating"]["list"] if v["type"] != "datasource"}
    found = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$__rate_interval", "1m").replace("$__range", "1h")
            for name, value in defaults.items():
                expr = expr.replace(f"${name}", value)
            assert "$" not in expr, expr
            found.append(expr)
    return found


def selectors(node) -> list:
    """The vector selectors of a parsed PromQL expression."""
    if isinstance(node, promql_parser.VectorSelector):
        return [node]
    if isinstance(node, promql_parser.MatrixSelector):
        return [node.vector_selector]
    children = []
    for attribute in ("expr", "lhs", "rhs", "param"):
        child = getattr(node, attribute, None)
        if child is not None and not isinstance(child, (str, int, float)):
            children.append(child)
    children += list(getattr(node, "args", []) or [])
    return [s for child in children for s in selectors(child)]


def grouping_labels(node) -> set[str]:
    labels = set()
    modifier = getattr(node, "modifier", None)
    if isinstance(node, promql_parser.AggregateExpr) and modifier is not None:
        labels |= set(modifier.labels)
    for attribute in ("expr", "lhs", "rhs"):
        child = getattr(node, attribute, None)
        if child is not None and not isinstance(child, (str, int, float)):
            labels |= grouping_labels(child)
    for child in getattr(node, "args", []) or []:
        labels |= grouping_labels(child)
    return labels


def test_dashboard_is_importable():
    board = dashboard()
    assert board["title"] and board["uid"] and isinstance(board["schemaVersion"], int)
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    datasource = next(v for v in board["templating"]["list"] if v["type"] == "datasource")
    assert datasource["query"] == "prometheus"
    for panel in board["panels"]:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]) and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}"
    exprs = queries(board)
    assert len(exprs) >= 15
    for expr in exprs:
        promql_parser.parse(expr)  # raises on a syntax error
    text = " ".join(exprs)
    # What the dashboard is for: each of the filter's series, Envoy's latency histograms and
    # the origin cluster's health.
    for name in ("s3_resign_requests_total", "s3_resign_rejections_total", "s3_resign_chunks_resigned_total",
                 "s3_resign_config_reloads_total", "s3_resign_chunk_memory_held_bytes", "s3_resign_vm_memory_bytes",
                 "envoy_http_downstream_rq_time_bucket", "envoy_cluster_upstream_rq_time_bucket",
                 "envoy_cluster_membership_healthy"):
        assert name in text, name
    assert "histogram_quantile(0.5," in text and "histogram_quantile(0.99," in text


def parse_exposition(text: str) -> dict[str, list[dict]]:
    """Prometheus text format: {series name: [labels of each sample]}."""
    series: dict[str, list[dict]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ', line)
        assert m, line
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        series.setdefault(m.group(1), []).append(labels)
    return series


@pytest.fixture(scope="module")
def exported(tmp_path_factory, origin):
    """/stats/prometheus of an Envoy running envoy/https-origin.yaml after every kind of
    traffic the dashboard shows."""
    pki = tmp_path_factory.mktemp("dashboard-pki")
    ca = Authority.create(pki, "dashboard-ca")
    cert, key = ca.issue(pki, "s3-origin.test")
    with tls_front(cert, key, origin.port) as front:
        config = render(origin_host="127.0.0.1", origin_port=front.port, reference=HTTPS_ORIGIN_YAML,
                        filter_config=filter_config_json(f"s3-origin.test:{front.port}"))
        with Envoy(with_origin_name(config, "s3-origin.test", str(ca.bundle_with_system(pki)))) as envoy:
            a = envoy.authority
            assert send(a, sign_header(a, "PUT", "/dashboard-bucket")).status == 200
            assert send(a, sign_header(a, "PUT", "/dashboard-bucket/k", body=b"v")).status == 200
            assert send(a, presign(a, "GET", "/dashboard-bucket/k")).status == 200
            assert send(a, chunked_put(a, "/dashboard-bucket/c", b"c" * 100_000)).status == 200
            assert send(a, sign_header(a, "GET", "/dashboard-bucket/k", secret="wrong")).status == 403
            yield parse_exposition(envoy.admin_get("/stats/prometheus").decode())


def selected(selector, exported: dict[str, list[dict]]) -> tuple[str, list[dict]]:
    """What a selector names (its name, or its regex on `__name__`) and the samples of every
    exported series it picks."""
    if selector.name:
        return selector.name, exported.get(selector.name, [])
    (pattern,) = [m.value for m in selector.matchers.matchers
                  if m.name == "__name__" and m.op == promql_parser.MatchOp.Re]
    return pattern, [s for name, samples in exported.items() if re.fullmatch(pattern, name) for s in samples]


def test_every_query_names_series_envoy_exports(exported):
    for expr in queries(dashboard()):
        parsed = promql_parser.parse(expr)
        found = selectors(parsed)
        assert found, expr
        for selector in found:
            name, samples = selected(selector, exported)
            assert samples, f"{name} (in {expr}) is not exported"
            for matcher in selector.matchers.matchers:
                if matcher.op == promql_parser.MatchOp.Equal:
                    assert any(s.get(matcher.name) == matcher.value for s in samples), \
                        f"no {name}{{{matcher.name}=\"{matcher.value}\"}} (in {expr})"
            for label in grouping_labels(parsed) - {"le"}:
                assert any(label in s for s in samples), f"{name} has no label {label} (in {expr})"
            if name.endswith("_bucket"):
                assert any("le" in s for s in samples)
    # The traffic shows up under the labels the panels group by.
    kinds = {s["kind"] for s in exported["s3_resign_requests_total"]}
    assert {"presigned_v4", "header_v4", "chunked_v4", "anonymous"} <= kinds


def test_on_istio_the_filter_panels_find_their_series(origin):
    """Found auditing the dashboard (2026-12-02): Istio names the Wasm filter
    `<namespace>.<name>` (`istio-ingress.s3-resign`), and Envoy names the plugin's stats after
    it, so on a gateway the VM reload panel (and README's alert on crashes) read
    `envoy_wasm_s3_resign_vm_reload_success`, which no gateway exports. In a real Envoy with
    the stats configuration Istio's bootstrap writes from gateway-values.yaml, every query
    over the filter's series and its plugin's finds them; those over Envoy's listener and
    cluster find none, as README (*Dashboard*) says: Istio keeps none of them by default and
    tags them otherwise."""
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=filter_config_json(origin))
    config["stats_config"] = istio.stats_config(istio.gateway_proxy_config())
    wasm_filter(config)["name"] = istio.plugin_name()
    with Envoy(config) as envoy:
        a = envoy.authority
        assert send(a, sign_header(a, "PUT", "/istio-dashboard")).status == 200
        assert send(a, sign_header(a, "GET", "/istio-dashboard/k", secret="wrong")).status == 403
        exported = parse_exposition(envoy.admin_get("/stats/prometheus").decode())
    envoy_panels = 0
    for expr in queries(dashboard()):
        parsed = promql_parser.parse(expr)
        for selector in selectors(parsed):
            name, samples = selected(selector, exported)
            if re.match(r"(envoy_wasm_.*)?s3_resign_", name):
                assert samples, f"{name} (in {expr}) is not exported on Istio"
                for label in grouping_labels(parsed):
                    assert any(label in s for s in samples), f"{name} has no label {label} on Istio"
            else:
                assert name.startswith(("envoy_http_", "envoy_cluster_")), name
                assert not samples, f"{name} is exported on Istio: README says it is not"
                envoy_panels += 1
    assert envoy_panels > 0
