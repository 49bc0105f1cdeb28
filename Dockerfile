# The OCI image Istio pulls for a WasmPlugin (`url: oci://…`): one layer holding plugin.wasm.
# `make oci` builds it (with Docker when an engine runs, else as an OCI image archive).
FROM scratch
COPY target/wasm32-wasip1/release/s3_resign.wasm ./plugin.wasm
