// The request-head phase of a proxy-wasm filter in V8 (Node's, TurboFan only as Envoy's), with
// no proxy around it: a minimal proxy-wasm 0.2.1 host that hands the filter prepared request
// heads and times `proxy_on_request_headers`. On a noisy machine a whole-proxy benchmark cannot
// tell a few microseconds apart; this can. Host calls are counted per request, because in Envoy
// each one costs more than here.
//
//   node --no-liftoff test-harness/vm_bench.mjs input.json
//
// input.json (written by vm_bench.py): {"filters": [{"name", "wasm", "config"}],
//   "workloads": {"name": [[[header, value], ...], ...]}, "rounds", "passes"}

import { readFileSync } from "node:fs";

const OK = 0, NOT_FOUND = 1;
const CONTINUE = 0;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

class Host {
  constructor(wasmPath, config) {
    this.config = encoder.encode(config);
    this.calls = new Map();
    this.headers = null; // [[Uint8Array name, Uint8Array value]]
    this.serialized = null;
    this.failed = null;
    const count = (name, fn) => (...args) => {
      this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
      return fn(...args);
    };
    const env = {
      proxy_log: count("log", (level, ptr, len) => {
        if (level >= 3) console.error(`filter log ${level}: ${decoder.decode(this.bytes(ptr, len))}`);
        return OK;
      }),
      proxy_get_buffer_bytes: count("get_buffer", (type, start, max, retPtr, retLen) => {
        if (type !== 7) return NOT_FOUND; // the plugin configuration only
        return this.give(this.config, retPtr, retLen);
      }),
      proxy_get_header_map_pairs: count("get_map_pairs", (type, retPtr, retLen) =>
        this.give(this.serialized, retPtr, retLen)),
      proxy_get_header_map_value: count("get_map_value", (type, kPtr, kLen, retPtr, retLen) => {
        const key = decoder.decode(this.bytes(kPtr, kLen));
        const found = this.headers.find(([n]) => n === key);
        return found ? this.give(found[2], retPtr, retLen) : NOT_FOUND;
      }),
      proxy_replace_header_map_value: count("set_map_value", () => OK),
      proxy_add_header_map_value: count("add_map_value", () => OK),
      proxy_remove_header_map_value: count("remove_map_value", () => OK),
      proxy_set_header_map_pairs: count("set_map_pairs", () => OK),
      proxy_get_current_time_nanoseconds: count("get_time", (retPtr) => {
        this.view().setBigUint64(retPtr, BigInt(Date.now()) * 1000000n, true);
        return OK;
      }),
      proxy_define_metric: count("define_metric", (type, nPtr, nLen, retId) => {
        this.view().setUint32(retId, (this.metrics = (this.metrics ?? 0) + 1), true);
        return OK;
      }),
      proxy_increment_metric: count("increment_metric", () => OK),
      proxy_record_metric: count("record_metric", () => OK),
      proxy_set_property: count("set_property", () => OK),
      proxy_get_property: count("get_property", () => NOT_FOUND),
      proxy_send_local_response: count("send_local_response", (status, dPtr, dLen, bPtr, bLen) => {
        this.failed = `${status} ${decoder.decode(this.bytes(bPtr, bLen))}`;
        return OK;
      }),
    };
    const module = new WebAssembly.Module(readFileSync(wasmPath));
    for (const i of WebAssembly.Module.imports(module)) {
      if (i.module === "env" && !env[i.name]) env[i.name] = count(i.name, () => OK);
    }
    const wasi = {
      environ_sizes_get: (countPtr, sizePtr) => {
        this.view().setUint32(countPtr, 0, true);
        this.view().setUint32(sizePtr, 0, true);
        return 0;
      },
      environ_get: () => 0,
      fd_write: (fd, iovs, n, written) => {
        this.view().setUint32(written, 0, true);
        return 0;
      },
      proc_exit: (code) => { throw new Error(`proc_exit ${code}`); },
    };
    this.instance = new WebAssembly.Instance(module, { env, wasi_snapshot_preview1: wasi });
    this.x = this.instance.exports;
    this.x._initialize?.();
    this.x.proxy_on_context_create(1, 0);
    this.x.proxy_on_vm_start(1, 0);
    if (!this.x.proxy_on_configure(1, this.config.length)) throw new Error(`${wasmPath}: configuration refused`);
    this.nextContext = 2;
  }

  view() { return new DataView(this.x.memory.buffer); }
  bytes(ptr, len) { return new Uint8Array(this.x.memory.buffer, ptr, len); }

  give(data, retPtr, retLen) {
    const ptr = this.x.proxy_on_memory_allocate(data.length);
    new Uint8Array(this.x.memory.buffer, ptr, data.length).set(data);
    const view = this.view();
    view.setUint32(retPtr, ptr, true);
    view.setUint32(retLen, data.length, true);
    return OK;
  }

  // One request head through the filter, as Envoy drives a stream; false if it was refused.
  request(head) {
    this.headers = head.headers;
    this.serialized = head.serialized;
    const id = this.nextContext++;
    this.x.proxy_on_context_create(id, 1);
    const action = this.x.proxy_on_request_headers(id, head.headers.length, 1);
    // As Envoy does: a callback the module does not export is not called (make build leaves
    // out proxy_on_done and proxy_on_log).
    this.x.proxy_on_done?.(id);
    this.x.proxy_on_log?.(id);
    this.x.proxy_on_delete(id);
    return action === CONTINUE && this.failed === null;
  }
}

// The proxy-wasm header map serialisation: count, (name length, value length) pairs, then
// each name and value followed by a NUL.
function head(pairs) {
  const headers = pairs.map(([n, v]) => [n, encoder.encode(n), encoder.encode(v)]);
  let size = 4 + headers.length * 8;
  for (const [, n, v] of headers) size += n.length + v.length + 2;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, headers.length, true);
  let at = 4 + headers.length * 8;
  headers.forEach(([, n, v], i) => {
    view.setUint32(4 + i * 8, n.length, true);
    view.setUint32(8 + i * 8, v.length, true);
    out.set(n, at); at += n.length + 1;
    out.set(v, at); at += v.length + 1;
  });
  return { headers: headers.map(([name, , v]) => [name, null, v]), serialized: out };
}

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const workloads = Object.entries(input.workloads).map(([name, heads]) => [name, heads.map(head)]);
const hosts = input.filters.map((f) => ({ ...f, host: new Host(f.wasm, f.config) }));
const longest = Math.max(...workloads.map(([, heads]) => heads.length));
const results = {};
for (const [workload, heads] of workloads) {
  for (const f of hosts) {
    // Warm up (and check every request is forwarded), then count host calls over one pass.
    f.host.calls.clear();
    for (const h of heads) {
      if (!f.host.request(h)) throw new Error(`${f.name} refused a ${workload} request: ${f.host.failed}`);
    }
    const calls = Object.fromEntries([...f.host.calls].map(([k, v]) => [k, v / heads.length]));
    results[workload] ??= {};
    results[workload][f.name] = { samples: [], calls };
  }
  // Interleaved rounds, each `passes` passes over the workload; the best round is the one the
  // machine disturbed least.
  // A short workload (one repeated URL) is passed over as often as the longest.
  const passes = input.passes * Math.ceil(longest / heads.length);
  for (let round = 0; round < input.rounds; round++) {
    for (const f of hosts) {
      const start = process.hrtime.bigint();
      for (let p = 0; p < passes; p++) for (const h of heads) f.host.request(h);
      const ns = Number(process.hrtime.bigint() - start);
      results[workload][f.name].samples.push(ns / 1000 / (passes * heads.length));
    }
  }
}
process.stdout.write(JSON.stringify(results));
