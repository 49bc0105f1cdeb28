// Validates Kubernetes documents (JSON on stdin: a list) against the published schemas of
// their custom resources: Istio's (@kubernetes-models/istio, compiled from Istio's CRDs),
// Envoy Gateway's (@kubernetes-models/envoy-gateway, from EG's api/v1alpha1 types) and the
// Gateway API's (@kubernetes-models/gateway-api), and for fields their types do not have
// (fields.mjs). Prints a JSON list with, per document, null when valid or the errors.
import { readFileSync } from "node:fs";
import { unknownFields } from "./fields.mjs";

// Which package publishes the schemas of an API group.
const PACKAGES = {
  "gateway.envoyproxy.io": "@kubernetes-models/envoy-gateway",
  "gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
};
const packageOf = (group) => PACKAGES[group] ?? (group.endsWith(".istio.io") ? "@kubernetes-models/istio" : null);

const docs = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const doc of docs) {
  const [group, version] = doc.apiVersion.split("/");
  const pkg = packageOf(group);
  const specifier = `${pkg}/${group}/${version}/${doc.kind}`;
  let module;
  try {
    if (!pkg) throw new Error(`no package for group ${group}`);
    module = await import(specifier);
  } catch (e) {
    results.push([`no schema for ${doc.apiVersion} ${doc.kind}: ${e.message}`]);
    continue;
  }
  const errors = pkg === "@kubernetes-models/istio" ? [] : unknownFields(doc, specifier, doc.kind);
  try {
    new module[doc.kind](doc).validate();
  } catch (e) {
    errors.push(...(e.errors || [e]).map((err) => `${err.instancePath || ""} ${err.message}`.trim()));
  }
  results.push(errors.length ? errors : null);
}
process.stdout.write(JSON.stringify(results));
