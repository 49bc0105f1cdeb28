// aws4fetch (npm `aws4fetch`: `AwsClient` and `AwsV4Signer`, the signer of Cloudflare Workers
// and browser code) as a client of s3-resign, driven by test_aws4fetch.py:
//   node aws4fetch.mjs CONNECT < requests.json
// with the key pair in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the region in AWS_REGION.
// stdin holds a JSON list of requests, done in order: {method, url, body?, headers?, sha256?
// (sign the body's SHA-256 instead of UNSIGNED-PAYLOAD), allHeaders?, presign? (only sign: the
// URL), fetch? (send with `AwsClient.fetch` and Node's own fetch, as applications do), secret?}.
// Otherwise a request is signed with `AwsV4Signer` and sent with `http.request` to CONNECT
// (127.0.0.1:PORT) with `Host` from the URL, so that a virtual-hosted name needs no resolver.
// Prints a JSON list of {status, body, signedHeaders} or {url} for a presigned request.
import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";

import { AwsClient, AwsV4Signer } from "aws4fetch";

const [connect] = process.argv.slice(2);
const [address, port] = connect.split(":");
const requests = JSON.parse(fs.readFileSync(0, "utf8"));

function credentials(request) {
  return {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: request.secret ?? process.env.AWS_SECRET_ACCESS_KEY,
    service: "s3",
    region: process.env.AWS_REGION,
  };
}

function send(signed) {
  const url = new URL(signed.url);
  const headers = Object.fromEntries(signed.headers.entries());
  headers.host = url.host;
  if (signed.body != null) headers["content-length"] = Buffer.byteLength(signed.body);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: address, port: Number(port), method: signed.method,
      path: url.pathname + url.search, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    if (signed.body != null) req.write(signed.body);
    req.end();
  });
}

async function one(request) {
  const headers = { ...request.headers };
  if (request.sha256) {
    headers["x-amz-content-sha256"] = createHash("sha256").update(request.body ?? "").digest("hex");
  }
  if (request.fetch) {
    const client = new AwsClient({ ...credentials(request), retries: 0 });
    const res = await client.fetch(request.url, { method: request.method, headers, body: request.body });
    return { status: res.status, body: await res.text() };
  }
  const signer = new AwsV4Signer({ ...credentials(request), method: request.method, url: request.url, headers,
    body: request.body, signQuery: Boolean(request.presign), allHeaders: Boolean(request.allHeaders) });
  const signed = await signer.sign();
  if (request.presign) return { url: signed.url.toString() };
  return { ...(await send(signed)), signedHeaders: signer.signedHeaders };
}

const results = [];
for (const request of requests) results.push(await one(request));
process.stdout.write(JSON.stringify(results) + "\n");
