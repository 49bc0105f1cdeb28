"""Published schemas for the deployment artefacts, installed by `make deps` from npm into
test-harness/schemas/node_modules: the compose specification's JSON schema (as dclint ships
it), and the CRD schemas of Istio, Envoy Gateway and the Gateway API (compiled validators in
@kubernetes-models/istio, /envoy-gateway and /gateway-api)."""

import json
import shutil
import subprocess

from .paths import ROOT

SCHEMAS = ROOT / "test-harness" / "schemas"
COMPOSE_SCHEMA = SCHEMAS / "node_modules" / "dclint" / "schemas" / "compose.schema.json"


def _installed(path):
    if not path.exists():
        raise RuntimeError(f"{path} is missing: run `make deps`")
    return path


def compose_schema() -> dict:
    return json.loads(_installed(COMPOSE_SCHEMA).read_text())


def crd_errors(docs: list[dict]) -> list[list[str] | None]:
    """Each document checked against the published CRD schema for its apiVersion and kind
    (Istio, Envoy Gateway, Gateway API): None when valid, else the schema's errors."""
    for package in ("istio", "envoy-gateway", "gateway-api"):
        _installed(SCHEMAS / "node_modules" / "@kubernetes-models" / package)
    done = subprocess.run([shutil.which("node") or "node", str(SCHEMAS / "validate-crds.mjs")],
                          input=json.dumps(docs), capture_output=True, text=True, cwd=SCHEMAS, timeout=60, check=True)
    return json.loads(done.stdout)
