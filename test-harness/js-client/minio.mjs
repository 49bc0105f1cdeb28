// MinIO's JavaScript client (npm `minio`, its own SigV4 signer) as a client of s3-resign,
// driven by test_minio_js.py:
//   node minio.mjs SCENARIO ENDPOINT BUCKET
// with the key pair in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Each scenario does its
// requests and prints one JSON object of what the client saw; the test checks the origin.
// Over plain HTTP the client signs each body's SHA-256. `objects-virtual` addresses the bucket
// in the host; the client's agent connects every name to 127.0.0.1 (no resolver knows the
// virtual-hosted ones) and records it.
import http from "node:http";

import * as Minio from "minio";

import { loopbackRecording, postForm, presignedAnswers } from "./common.mjs";

const [scenario, endpoint, bucket] = process.argv.slice(2);
const url = new URL(endpoint);

// Every name the client connects to, resolved to 127.0.0.1 and recorded.
const hosts = new Set();
const loopback = loopbackRecording(hosts);

function client({ virtual = false, region } = {}) {
  return new Minio.Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey: process.env.AWS_ACCESS_KEY_ID,
    secretKey: process.env.AWS_SECRET_ACCESS_KEY,
    // Without a region the client asks the bucket's (GET ?location) before signing for it.
    region,
    pathStyle: !virtual,
    partSize: 5 * 1024 * 1024,
    transportAgent: new http.Agent({ lookup: loopback }),
  });
}

async function collect(stream) {
  const items = [];
  for await (const item of stream) items.push(item);
  return items;
}

async function text(stream) {
  return Buffer.concat(await collect(stream)).toString();
}

async function objects(s3) {
  const key = "dir/a b&c=d.txt";
  await s3.putObject(bucket, key, Buffer.from("from minio-js"), undefined,
    { "Content-Type": "text/x-minio", "X-Amz-Meta-M": "1" });
  const stat = await s3.statObject(bucket, key);
  const body = await text(await s3.getObject(bucket, key));
  const range = await text(await s3.getPartialObject(bucket, key, 5, 5));
  const listed = await collect(s3.listObjectsV2(bucket, "dir/"));
  await s3.copyObject(new Minio.CopySourceOptions({ Bucket: bucket, Object: key }),
    new Minio.CopyDestinationOptions({ Bucket: bucket, Object: "copy.txt" }));
  await s3.putObject(bucket, "gone-1.txt", "soon gone");
  await s3.putObject(bucket, "gone-2.txt", "soon gone");
  // A multi-object delete, its body bound by Content-MD5.
  await s3.removeObjects(bucket, ["gone-1.txt", "gone-2.txt"]);
  return {
    body,
    range,
    contentType: stat.metaData["content-type"],
    metadata: stat.metaData.m,
    keys: listed.map((o) => o.name ?? `prefix ${o.prefix}`),
    hosts: [...hosts],
  };
}

const scenarios = {
  objects: () => objects(client()),
  "objects-virtual": () => objects(client({ virtual: true, region: "us-east-1" })),

  // 6 MiB in 5 MiB parts: a multipart upload (the client first lists the bucket's incomplete
  // uploads, to resume one of the key's).
  async multipart() {
    const s3 = client({ region: "us-east-1" });
    await s3.putObject(bucket, "multipart.bin", Buffer.alloc(6 * 1024 * 1024, "m"));
    return { size: (await s3.statObject(bucket, "multipart.bin")).size };
  },

  // Presigned GET (with a response header override) and PUT, and a browser form from its
  // POST policy, each sent with Node's fetch.
  async presigned() {
    const s3 = client({ region: "us-east-1" });
    const put = await s3.presignedPutObject(bucket, "presigned.txt", 300);
    const putStatus = (await fetch(put, { method: "PUT", body: "presigned by minio-js" })).status;
    const get = await s3.presignedGetObject(bucket, "presigned.txt", 300,
      { "response-content-type": "text/x-presigned" });
    const got = await fetch(get);
    const policy = s3.newPostPolicy();
    policy.setBucket(bucket);
    policy.setKey("form.txt");
    policy.setExpires(new Date(Date.now() + 300_000));
    policy.setContentType("text/x-form");
    policy.setContentLengthRange(1, 1024);
    const { postURL, formData } = await s3.presignedPostPolicy(policy);
    const posted = await postForm(postURL, formData, "posted by minio-js");
    return presignedAnswers(putStatus, got, posted);
  },

  // A signature made with another secret: the client's error.
  async "wrong-secret"() {
    const s3 = new Minio.Client({
      endPoint: url.hostname, port: Number(url.port), useSSL: false, region: "us-east-1",
      accessKey: process.env.AWS_ACCESS_KEY_ID, secretKey: "not-the-secret",
    });
    try {
      await s3.putObject(bucket, "never.txt", "never stored");
      return { code: null };
    } catch (e) {
      return { code: e.code };
    }
  },
};

const seen = await scenarios[scenario]();
process.stdout.write(JSON.stringify(seen));
