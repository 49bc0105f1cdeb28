// Validates Kubernetes documents (JSON on stdin: a list) against Istio's CRD schemas, as
// published in @kubernetes-models/istio (compiled from Istio's own CRDs). Prints a JSON list
// with, per document, null when valid or the schema's errors.
import { readFileSync } from "node:fs";

const docs = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const doc of docs) {
  const [group, version] = doc.apiVersion.split("/");
  let module;
  try {
    module = await import(`@kubernetes-models/istio/${group}/${version}/${doc.kind}`);
  } catch (e) {
    results.push([`no schema for ${doc.apiVersion} ${doc.kind}: ${e.message}`]);
    continue;
  }
  try {
    new module[doc.kind](doc).validate();
    results.push(null);
  } catch (e) {
    results.push((e.errors || [e]).map((err) => `${err.instancePath || ""} ${err.message}`.trim()));
  }
}
process.stdout.write(JSON.stringify(results));
