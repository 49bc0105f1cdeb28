// The AWS SDK for JavaScript v3 as a client of s3-resign, driven by test_sdk_js.py:
//   node s3.mjs SCENARIO ENDPOINT BUCKET [ARG]
// with the key pair in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Each scenario does its
// requests and prints one JSON object of what the client saw; the test checks the origin.
// `objects-virtual` addresses the bucket in the host: no resolver knows the name, so the
// client's agent connects every name to 127.0.0.1 (Node's fetch has no such hook: presigned
// URLs and forms are path-style).
import { createReadStream } from "node:fs";
import http from "node:http";

import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { NodeHttp2Handler } from "@smithy/node-http-handler";

import { loopbackRecording, postForm } from "./common.mjs";

const [scenario, endpoint, bucket, arg] = process.argv.slice(2);

const loopback = loopbackRecording(new Set());

function client({ virtual = false, checksums = "WHEN_SUPPORTED" } = {}) {
  return new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: !virtual,
    maxAttempts: 1,
    requestChecksumCalculation: checksums,
    // S3_HTTP2=1: the SDK's HTTP/2 handler (Node's http2, ALPN h2 only), as a browser's fetch
    // speaks HTTP/2 to a listener that offers it; the HTTPS endpoint's CA in NODE_EXTRA_CA_CERTS.
    requestHandler: process.env.S3_HTTP2 ? new NodeHttp2Handler()
      : virtual ? { httpAgent: new http.Agent({ lookup: loopback }) } : undefined,
  });
}

async function objects(s3) {
  const hosts = new Set();
  s3.middlewareStack.add((next) => (args) => {
    hosts.add(args.request.hostname);
    return next(args);
  }, { step: "finalizeRequest" });
  const key = "dir/a b+c=d.txt";
  await s3.send(new PutObjectCommand({
    Bucket: bucket, Key: key, Body: "from the JS SDK", ContentType: "text/x-js", Metadata: { m: "1" },
  }));
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "dir/" }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "gone.txt", Body: "soon gone" }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "gone.txt" }));
  return {
    body: await got.Body.transformToString(),
    contentType: head.ContentType,
    metadata: head.Metadata,
    length: head.ContentLength,
    keys: (listed.Contents ?? []).map((o) => o.Key),
    hosts: [...hosts],
  };
}

const scenarios = {
  objects: () => objects(client()),
  "objects-virtual": () => objects(client({ virtual: true })),

  // lib-storage's Upload of a file stream, in 5 MiB parts (ARG: the file's path).
  async multipart() {
    const upload = new Upload({
      client: client(),
      params: { Bucket: bucket, Key: "multipart.bin", Body: createReadStream(arg) },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    });
    const parts = new Set();
    upload.on("httpUploadProgress", (p) => p.part && parts.add(p.part));
    const done = await upload.done();
    return { parts: [...parts].sort((a, b) => a - b), etag: done.ETag };
  },

  // Presigned URLs as the README advises (requestChecksumCalculation WHEN_REQUIRED, no
  // ChecksumAlgorithm), fetched with fetch; then the two catches it documents.
  async presigned() {
    const s3 = client({ checksums: "WHEN_REQUIRED" });
    const put = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: "presigned.txt" }), { expiresIn: 300 });
    const putStatus = (await fetch(put, { method: "PUT", body: "presigned put" })).status;
    const get = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: "presigned.txt" }), { expiresIn: 300 });
    const got = await fetch(get);
    const catches = {};
    for (const [name, signer, extra] of [
      ["sha256", s3, { ChecksumAlgorithm: "SHA256" }],
      ["defaultCrc32", client(), {}],
    ]) {
      const url = await getSignedUrl(signer, new PutObjectCommand({ Bucket: bucket, Key: `catch-${name}.txt`, ...extra }));
      const r = await fetch(url, { method: "PUT", body: "caught" });
      catches[name] = { query: [...new URL(url).searchParams.keys()], status: r.status, body: await r.text() };
    }
    return { putStatus, getStatus: got.status, body: await got.text(), catches };
  },

  // Requests without a body: over HTTP/2 the handler sends each as a head without
  // `content-length`, its end in an empty DATA frame after it. CreateMultipartUpload of an
  // object typed as a form among them. Each operation's status, or its error's name.
  async bodiless() {
    const s3 = client();
    const seen = {};
    const run = async (name, command) => {
      try {
        const out = await s3.send(command);
        seen[name] = out.$metadata.httpStatusCode;
        return out;
      } catch (e) {
        seen[name] = e.name;
        return undefined;
      }
    };
    await run("putEmpty", new PutObjectCommand({ Bucket: bucket, Key: "empty", Body: "" }));
    await run("copy", new CopyObjectCommand({ Bucket: bucket, Key: "copied", CopySource: `${bucket}/empty` }));
    // Its body read: an answer left unread holds its connection, and Node's exit, until
    // Envoy closes the idle connection 30 s later (Ceph's, which carries no checksum the SDK
    // reads it for).
    const got = await run("get", new GetObjectCommand({ Bucket: bucket, Key: "copied" }));
    if (got) seen.body = await got.Body.transformToString();
    for (const [name, type] of [["create", undefined], ["createFormTyped", "multipart/form-data; boundary=x"]]) {
      const created = await run(name, new CreateMultipartUploadCommand({ Bucket: bucket, Key: name, ContentType: type }));
      if (created) await run(`${name}Abort`, new AbortMultipartUploadCommand({ Bucket: bucket, Key: name, UploadId: created.UploadId }));
    }
    await run("delete", new DeleteObjectCommand({ Bucket: bucket, Key: "copied" }));
    return seen;
  },

  // A browser form from createPresignedPost, posted as multipart/form-data with fetch.
  async post() {
    const { url, fields } = await createPresignedPost(client(), {
      Bucket: bucket,
      Key: "uploads/form.txt",
      Conditions: [["content-length-range", 1, 1024], ["starts-with", "$key", "uploads/"], { "Content-Type": "text/plain" }],
      Fields: { "Content-Type": "text/plain", success_action_status: "201" },
      Expires: 300,
    });
    const r = await postForm(url, fields, "posted by a form", "text/plain");
    return { url, status: r.status, body: await r.text() };
  },
};

try {
  console.log(JSON.stringify(await scenarios[scenario]()));
} catch (e) {
  console.error(e.stack ?? e);
  if (e.$response) console.error(e.$metadata, e.$response.statusCode);
  process.exit(1);
}
