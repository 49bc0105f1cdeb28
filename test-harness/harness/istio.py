"""What an Istio gateway's Envoy makes of envoy/istio/: its stats configuration, as Istio's
bootstrap writes it (tools/packaging/common/envoy_bootstrap.json and the stats matcher that
pilot-agent builds, Istio 1.2x), and the name it gives the filter. No Istio runs here: the
tests run these in a real Envoy, to see the series as a gateway's Prometheus gets them."""

import yaml

from .paths import ROOT

ISTIO_DIR = ROOT / "envoy" / "istio"

# Istio sets use_all_default_tags: false and names Envoy's tags itself (`cluster_name`, not
# Envoy's `envoy_cluster_name`); the proxy config's extraStatTags come after these.
TAGS = [
    {"tag_name": "cluster_name", "regex": r"^cluster\.((.+?(\..+?\.svc\.cluster\.local)?)\.)"},
    {"tag_name": "tcp_prefix", "regex": r"^tcp\.((.*?)\.)\w+?$"},
    {"tag_name": "response_code", "regex": r"_rq(_(\d{3}))$"},
    {"tag_name": "response_code_class", "regex": r"_rq(_(\dxx))$"},
    {"tag_name": "http_conn_manager_listener_prefix",
     "regex": r"^listener(?=\.).*?\.http\.(((?:[_.[:digit:]]*|[_\[\]aAbBcCdDeEfF[:digit:]]*))\.)"},
    {"tag_name": "http_conn_manager_prefix",
     "regex": r"^http\.(((?:[_.[:digit:]]*|[_\[\]aAbBcCdDeEfF[:digit:]]*))\.)"},
    {"tag_name": "listener_address",
     "regex": r"^listener\.(((?:[_.[:digit:]]*|[_\[\]aAbBcCdDeEfF[:digit:]]*))\.)"},
]
# What Istio's stats matcher always keeps, whatever the proxy config adds ("lifecycle
# signals"): `wasm` among them, which matches the filter's `wasmcustom.…` names too.
PREFIXES = ["cluster_manager", "listener_manager", "server", "cluster.xds-grpc", "wasm", "reporter=", "component",
            "istio"]
SUFFIXES = ["downstream_cx_active", "rbac.allowed", "rbac.denied", "shadow_allowed", "shadow_denied"]
REGEXPS = [r"vhost\..*\.route\..*"]


def gateway_proxy_config() -> dict:
    """The proxy config gateway-values.yaml gives the gateway's pods."""
    values = yaml.safe_load((ISTIO_DIR / "gateway-values.yaml").read_text())
    return yaml.safe_load(values["podAnnotations"]["proxy.istio.io/config"])


def stats_config(proxy_config: dict) -> dict:
    """Envoy's stats_config for a proxy with this proxy config (proxyStatsMatcher,
    extraStatTags)."""
    matcher = proxy_config.get("proxyStatsMatcher", {})
    extra_tags = [{"tag_name": t, "regex": f"({t}=\\.=(.*?);\\.;)"} for t in proxy_config.get("extraStatTags", [])]
    patterns = [{"prefix": p} for p in PREFIXES + matcher.get("inclusionPrefixes", [])]
    patterns += [{"suffix": s} for s in SUFFIXES + matcher.get("inclusionSuffixes", [])]
    patterns += [{"safe_regex": {"regex": r}} for r in REGEXPS + matcher.get("inclusionRegexps", [])]
    return {"use_all_default_tags": False, "stats_tags": TAGS + extra_tags,
            "stats_matcher": {"inclusion_list": {"patterns": patterns}}}


def plugin_name() -> str:
    """The name Istio gives the Wasm filter of wasmplugin.yaml: `<namespace>.<name>`, which
    Envoy's own stats of the plugin carry (`wasm.<name>.vm_reload_success`)."""
    (plugin,) = [d for d in yaml.safe_load_all((ISTIO_DIR / "wasmplugin.yaml").read_text())
                 if d and d["kind"] == "WasmPlugin"]
    return f"{plugin['metadata']['namespace']}.{plugin['metadata']['name']}"
