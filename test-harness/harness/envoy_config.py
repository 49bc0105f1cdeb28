"""The Envoy configuration the tests run: envoy/envoy.yaml with its addresses, the wasm path
and the filter configuration replaced, nothing else."""

import copy
import json
import re

import yaml

from .paths import ENVOY_YAML, ROOT, wasm_module

UPSTREAM_FILTER_YAML = ROOT / "envoy" / "upstream-filter.yaml"
HTTPS_ORIGIN_YAML = ROOT / "envoy" / "https-origin.yaml"
FAILOVER_YAML = ROOT / "envoy" / "failover.yaml"

CLIENT_KEY = "CLIENTKEY"
CLIENT_SECRET = "client-secret"
ORIGIN_KEY = "ORIGINKEY"
ORIGIN_SECRET = "origin-secret"
PUBLIC_TEST_DOMAIN = "s3.mydomain.test"


def filter_operations() -> list[tuple[str, str, bool, str, str, bool]]:
    """The operations the filter can refuse (`src/operations.rs`): name, method, whether on an
    object, sub-resource, whether the request names an `id` (`Named`, `None`, `Any`), whether
    refused by default."""
    text = (ROOT / "src" / "operations.rs").read_text()
    found = re.findall(r'op\("(\w+)",\s*"(\w+)",\s*(Bucket|Object),\s*"([\w-]+)",\s*Id::(\w+),\s*(Yes|Opt)\)', text)
    return [(name, method, level == "Object", sub, id_, default == "Yes")
            for name, method, level, sub, id_, default in found]


def filter_config_json(origin, **overrides) -> str:
    """The filter's JSON configuration: client key pair CLIENTKEY translated to the origin's
    own key pair, re-signed for the origin's region, secrets inline unless overridden.
    `origin` is an Origin (its authority, `access_key`, `secret_key`, `region`), or just an
    authority for an upstream that holds the default ORIGINKEY pair and takes the client's
    region (the benchmarks' sinks)."""
    if isinstance(origin, str):
        authority, key, secret, region = origin, ORIGIN_KEY, ORIGIN_SECRET, None
    else:
        authority, key, secret, region = origin.authority, origin.access_key, origin.secret_key, origin.region
    config = {
        # The harness's Envoy listens on a port the kernel picks: any port of localhost. The
        # second name, which no resolver knows, is reached with Envoy as the clients' HTTP
        # proxy, with buckets in front of it (virtual-hosted style).
        "public_domains": ["localhost", PUBLIC_TEST_DOMAIN],
        "origin_authority": authority,
        # As envoy/envoy.yaml: the harness's Envoy lets the filter stop on headers.
        "allow_on_headers_stop_iteration": True,
        "credentials": [
            {
                "access_key_id": CLIENT_KEY,
                "secret_access_key": CLIENT_SECRET,
                "origin_access_key_id": key,
                "origin_secret_access_key": secret,
            }
        ],
    }
    if region is not None:
        config["origin_region"] = region
    if getattr(origin, "kind", None) == "ceph":
        # Ceph 16.2 has no bucket encryption either: it deleted the bucket for a
        # DeleteBucketEncryption (RT72).
        config["unsupported_operations"] = [name for name, *_, by_default in filter_operations()
                                            if by_default or name.endswith("BucketEncryption")]
    config.update(overrides)
    return json.dumps(config, indent=2)


def _load(path) -> dict:
    with open(path) as f:
        return yaml.safe_load(f)


def _wasm_filters(config: dict) -> list[dict]:
    """The s3-resign filter blocks of a configuration: in the listener's filter chain, in the
    origin cluster's upstream filters, or both."""
    listener = config["static_resources"]["listeners"][0]
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    chains = [hcm["http_filters"]]
    for cluster in config["static_resources"]["clusters"]:
        options = cluster.get("typed_extension_protocol_options", {})
        for option in options.values():
            chains.append(option.get("http_filters", []))
    return [
        f["typed_config"]["config"]
        for chain in chains
        for f in chain
        if f["name"] == "envoy.filters.http.wasm"
    ]


def render(
    *,
    origin_host: str,
    origin_port: int,
    filter_config: str | None,
    env_keys: list[str] | None = None,
    listen_port: int = 0,
    admin_port: int = 0,
    http_filters: list[dict] | None = None,
    reference=ENVOY_YAML,
) -> dict:
    """envoy/envoy.yaml adapted to this run. `filter_config=None` keeps the file's own filter
    configuration, pointed at this origin; `http_filters` replaces the filter chain before the
    router (benchmarks)."""
    config = copy.deepcopy(_load(reference))
    config["admin"]["address"]["socket_address"] = {"address": "127.0.0.1", "port_value": admin_port}
    listener = config["static_resources"]["listeners"][0]
    listener["address"]["socket_address"] = {"address": "127.0.0.1", "port_value": listen_port}
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    for wasm in _wasm_filters(config):
        wasm["vm_config"]["code"]["local"]["filename"] = str(wasm_module())
        if filter_config is None:
            own = json.loads(wasm["configuration"]["value"])
            own["origin_authority"] = f"{origin_host}:{origin_port}"
            wasm["configuration"]["value"] = json.dumps(own, indent=2)
        else:
            wasm["configuration"]["value"] = filter_config
        if env_keys is not None:
            wasm["vm_config"]["environment_variables"]["host_env_keys"] = env_keys
    if http_filters is not None:
        hcm["http_filters"] = http_filters + [hcm["http_filters"][-1]]
    cluster = config["static_resources"]["clusters"][0]
    endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    endpoint["address"]["socket_address"] = {"address": origin_host, "port_value": origin_port}
    return config


# What TLS listeners usually offer (Istio's and Envoy Gateway's gateways, most hand-written
# ones): clients that speak HTTP/2 (Go's net/http, the AWS SDK for Rust, curl, browsers) then
# do, while Envoy still speaks HTTP/1.1 to the origin.
ALPN_H2 = ["h2", "http/1.1"]


def with_tls(config: dict, cert: str, key: str, alpn: list[str] | None = None) -> dict:
    """The public listener served over TLS with this certificate (boto3 and the AWS CLI
    switch to STREAMING-UNSIGNED-PAYLOAD-TRAILER uploads over HTTPS). Without `alpn` it
    offers no protocol, and every client speaks HTTP/1.1; with ALPN_H2, h2 clients speak h2."""
    listener = config["static_resources"]["listeners"][0]
    common = {"tls_certificates": [{"certificate_chain": {"filename": cert}, "private_key": {"filename": key}}]}
    if alpn:
        common["alpn_protocols"] = list(alpn)
    listener["filter_chains"][0]["transport_socket_connect_timeout"] = "10s"
    listener["filter_chains"][0]["transport_socket"] = {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "common_tls_context": common,
        },
    }
    return config


def with_quic(config: dict, cert: str, key: str) -> dict:
    """Beside the public listener, the same connection manager and filter on HTTP/3: a QUIC
    listener on a UDP port of its own (Envoy's defaults: 0-RTT taken), its certificate this one."""
    tcp = config["static_resources"]["listeners"][0]
    quic = copy.deepcopy(tcp)
    quic["name"] = f"{tcp['name']}_quic"
    quic["address"] = {"socket_address": {"protocol": "UDP", "address": "127.0.0.1", "port_value": 0}}
    quic["udp_listener_config"] = {"quic_options": {}, "downstream_socket_config": {"prefer_gro": True}}
    chain = quic["filter_chains"][0]
    chain.pop("transport_socket_connect_timeout", None)
    chain["transport_socket"] = {
        "name": "envoy.transport_sockets.quic",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.quic.v3.QuicDownstreamTransport",
            "downstream_tls_context": {"common_tls_context": {
                "tls_certificates": [{"certificate_chain": {"filename": cert}, "private_key": {"filename": key}}],
                "alpn_protocols": ["h3"],
            }},
        },
    }
    hcm = chain["filters"][0]["typed_config"]
    hcm["codec_type"] = "HTTP3"
    hcm["stat_prefix"] = f"{hcm['stat_prefix']}_quic"
    hcm["http3_protocol_options"] = {}
    hcm.pop("http2_protocol_options", None)
    quic.pop("listener_filters", None)
    config["static_resources"]["listeners"].append(quic)
    return config


def with_origin_name(config: dict, name: str, trusted_ca: str) -> dict:
    """envoy/https-origin.yaml for a test origin: the name its certificate must carry (the
    fixed SNI and the name checked) and the CA bundle to trust."""
    tls = config["static_resources"]["clusters"][0]["transport_socket"]["typed_config"]
    tls["sni"] = name
    validation = tls["common_tls_context"]["validation_context"]
    validation["trusted_ca"] = {"filename": trusted_ca}
    for san in validation["match_typed_subject_alt_names"]:
        san["matcher"] = {"exact": name}
    return config


def render_failover(
    primary, backup, *, health_interval: str = "1s", edge: bool = True, origin_domains: list[str] | None = None,
    origin_client_key: str = CLIENT_KEY, configured: tuple[str, ...] = ("primary", "backup"),
    entries: dict[str, dict] | None = None,
) -> dict:
    """envoy/failover.yaml for this run: the two origins' addresses, keys and regions in the
    origin filter, the client pair in the edge filter (left out with `edge=False`, to show the
    origin filter alone forwards nothing), quick health checks. `origin_domains` gives the
    origin filter other `public_domains` than the edge's; `origin_client_key`, the client key
    the origins list (another than the edge's leaves every verified request refused there);
    `configured`, the `origins[]` entries the origin filter keeps (the cluster keeps both
    endpoints); `entries`, fields to set in an entry, by its name."""
    config = copy.deepcopy(_load(FAILOVER_YAML))
    config["admin"]["address"]["socket_address"] = {"address": "127.0.0.1", "port_value": 0}
    listener = config["static_resources"]["listeners"][0]
    listener["address"]["socket_address"] = {"address": "127.0.0.1", "port_value": 0}
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    edge_filter, origin_filter = _wasm_filters(config)
    for wasm in (edge_filter, origin_filter):
        wasm["vm_config"]["code"]["local"]["filename"] = str(wasm_module())
        wasm["vm_config"]["environment_variables"]["host_env_keys"] = []
    edge_config = json.loads(edge_filter["configuration"]["value"])
    edge_config["public_domains"] = ["localhost", PUBLIC_TEST_DOMAIN]
    edge_config["credentials"] = [{"access_key_id": CLIENT_KEY, "secret_access_key": CLIENT_SECRET}]
    edge_filter["configuration"]["value"] = json.dumps(edge_config)
    origins = json.loads(origin_filter["configuration"]["value"])
    for entry, origin in zip(origins["origins"], (primary, backup)):
        entry["public_domains"] = origin_domains or ["localhost", PUBLIC_TEST_DOMAIN]
        entry["origin_authority"] = origin.authority
        entry["origin_region"] = origin.region
        entry["credentials"] = [{
            "access_key_id": origin_client_key,
            "origin_access_key_id": origin.access_key,
            "origin_secret_access_key": origin.secret_key,
        }]
        entry.update((entries or {}).get(entry["name"], {}))
    origins["origins"] = [entry for entry in origins["origins"] if entry["name"] in configured]
    origin_filter["configuration"]["value"] = json.dumps(origins)
    if not edge:
        hcm["http_filters"] = [f for f in hcm["http_filters"] if f["name"] != "envoy.filters.http.wasm"]
    cluster = config["static_resources"]["clusters"][0]
    for locality, origin in zip(cluster["load_assignment"]["endpoints"], (primary, backup)):
        endpoint = locality["lb_endpoints"][0]["endpoint"]
        endpoint["address"]["socket_address"] = {"address": "127.0.0.1", "port_value": origin.port}
    check = cluster["health_checks"][0]
    check.update(interval=health_interval, no_traffic_interval=health_interval, timeout="1s",
                 unhealthy_threshold=1, healthy_threshold=1)
    cluster["outlier_detection"]["base_ejection_time"] = "2s"
    return config


def wasm_filter(config: dict) -> dict:
    """The s3-resign filter's `config` block in a configuration."""
    return _wasm_filters(config)[0]
