// Fields a document sets that its resource does not have. The published validators accept
// unknown fields, as the Kubernetes API server does (it prunes them, silently): a misspelt or
// invented field would pass them and do nothing on a cluster. The fields of each type are read
// from the same packages' TypeScript declarations (generated from the same API types), and
// the document is walked along them.
import { readFileSync } from "node:fs";
import { dirname, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";

const parsed = new Map();

// A declaration file's imports, its `export type { I as Alias }` names and its interfaces.
function parse(file) {
  if (parsed.has(file)) return parsed.get(file);
  const text = readFileSync(file, "utf8");
  const imports = {};
  for (const m of text.matchAll(/import \{([^}]*)\} from "([^"]+)"/g)) {
    for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean)) imports[name] = m[2];
  }
  const aliases = {};
  for (const m of text.matchAll(/export type \{([^}]*)\}/g)) {
    for (const pair of m[1].split(",")) {
      const [local, alias] = pair.split(" as ").map((s) => s.trim());
      if (alias) aliases[alias] = local;
    }
  }
  const interfaces = {};
  for (const m of text.matchAll(/export interface (\w+)(?: extends ([^{]+))? \{\n([\s\S]*?)\n\}/g)) {
    const props = {};
    // One line a field; an inline object type (`{` to its closing line) is taken as free-form.
    for (const p of m[3].matchAll(/^ {4}"([^"]+)"\??: (.+?);?$/gm)) props[p[1]] = p[2];
    interfaces[m[1]] = { props, extends: m[2] ? m[2].split(",").map((s) => s.trim()) : [] };
  }
  const result = { file, imports, aliases, interfaces };
  parsed.set(file, result);
  return result;
}

function declarationOf(specifier, fromFile) {
  const url = specifier.startsWith(".")
    ? resolvePath(dirname(fromFile), specifier)
    : fileURLToPath(import.meta.resolve(specifier));
  return url.replace(/\.js$/, "") + ".d.ts";
}

// The interface a type name denotes in a file: {props, extends, file}, or null for a leaf
// (a string, an enum, a free-form JSON object).
function lookup(name, decl) {
  const local = decl.aliases[name] ?? name;
  if (decl.interfaces[local]) return { ...decl.interfaces[local], decl };
  if (decl.imports[name]) return lookup(name, parse(declarationOf(decl.imports[name], decl.file)));
  return null;
}

function fieldsOf(iface) {
  let props = { ...iface.props };
  for (const parent of iface.extends) {
    const p = lookup(parent, iface.decl);
    if (p) props = { ...fieldsOf(p), ...props };
  }
  return props;
}

function walk(value, type, decl, path, errors) {
  const array = type.match(/^Array<(.+)>$/);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, array[1], decl, `${path}/${i}`, errors));
    return;
  }
  if (!/^I\w+$/.test(type) || value === null || typeof value !== "object" || Array.isArray(value)) return;
  const iface = lookup(type, decl);
  if (!iface) return;
  const fields = fieldsOf(iface);
  if (Object.keys(fields).length === 0) return; // free-form (apiextensions JSON)
  for (const [key, v] of Object.entries(value)) {
    if (!(key in fields)) errors.push(`${path}/${key} is not a field of ${type.replace(/^I(IoK8s\w*V\d\w*?|ComGithub\w*V1alpha1)?/, "")}`);
    else walk(v, fields[key], iface.decl, `${path}/${key}`, errors);
  }
}

// Only packages that declare one interface per type, as the Envoy Gateway and Gateway API
// ones do; Istio's declare nested inline types, which this walk does not follow.
export function unknownFields(doc, moduleSpecifier, kind) {
  const errors = [];
  walk(doc, `I${kind}`, parse(declarationOf(moduleSpecifier, import.meta.filename ?? fileURLToPath(import.meta.url))), "", errors);
  return errors;
}
