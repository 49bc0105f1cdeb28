"""`make oci` without a Docker engine: the image the Dockerfile describes (FROM scratch, one
layer holding plugin.wasm, the layout Istio's WasmPlugin pulls), written as an OCI image
layout archive. Reproducible: the same wasm gives the same digests.

    python test-harness/oci_image.py --tag s3-resign:0.1.0 --out target/oci
    skopeo copy oci-archive:target/oci/s3-resign.tar docker://registry.example.com/s3-resign:0.1.0
"""

import argparse
import gzip
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WASM = ROOT / "target" / "wasm32-wasip1" / "release" / "s3_resign.wasm"

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def tar_bytes(files: dict[str, bytes]) -> bytes:
    """A tar with fixed metadata, so the bytes depend on the contents only."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def descriptor(media_type: str, data: bytes, **extra) -> dict:
    return {"mediaType": media_type, "digest": f"sha256:{hashlib.sha256(data).hexdigest()}", "size": len(data), **extra}


def image_layout(wasm: bytes, tag: str) -> dict[str, bytes]:
    """The files of an OCI image layout holding the plugin."""
    layer_tar = tar_bytes({"plugin.wasm": wasm})
    layer = gzip.compress(layer_tar, mtime=0)
    config = json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(layer_tar).hexdigest()}"]},
        "history": [{"created_by": "COPY target/wasm32-wasip1/release/s3_resign.wasm ./plugin.wasm"}],
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": descriptor(CONFIG, config),
        "layers": [descriptor(LAYER, layer)],
    }, sort_keys=True).encode()
    index = json.dumps({
        "schemaVersion": 2,
        "manifests": [descriptor(MANIFEST, manifest, annotations={"org.opencontainers.image.ref.name": tag})],
    }, sort_keys=True).encode()
    files = {"oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(), "index.json": index}
    for blob in (layer, config, manifest):
        files[f"blobs/sha256/{hashlib.sha256(blob).hexdigest()}"] = blob
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag", default="s3-resign:0.1.0")
    parser.add_argument("--out", type=Path, default=ROOT / "target" / "oci")
    parser.add_argument("--wasm", type=Path, default=WASM)
    args = parser.parse_args()
    if not args.wasm.exists():
        print(f"{args.wasm} is missing: run `make build`", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    archive = args.out / "s3-resign.tar"
    archive.write_bytes(tar_bytes(image_layout(args.wasm.read_bytes(), args.tag)))
    print(f"==> wrote {archive} (OCI image layout, tag {args.tag}, plugin.wasm {args.wasm.stat().st_size} bytes)")
    print(f"    push it: skopeo copy oci-archive:{archive} docker://REGISTRY/{args.tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
