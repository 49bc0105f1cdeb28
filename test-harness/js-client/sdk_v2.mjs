// The AWS SDK for JavaScript v2 (npm `aws-sdk`, in maintenance since 2024 and still in wide
// use; a signer of its own, not v3's) as a client of s3-resign, driven by test_sdk_js_v2.py:
//   node sdk_v2.mjs SCENARIO ENDPOINT BUCKET [ARG]
// with the key pair in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Each scenario does its
// requests and prints one JSON object of what the client saw; the test checks the origin.
// ARG: `s3` signs SigV2 instead of SigV4 (the SDK's other S3 signer).
import http from "node:http";

import AWS from "aws-sdk";

import { loopbackRecording, postForm, presignedAnswers } from "./common.mjs";

const [scenario, endpoint, bucket, arg] = process.argv.slice(2);

const loopback = loopbackRecording(new Set());

function client({ virtual = false, secret = process.env.AWS_SECRET_ACCESS_KEY } = {}) {
  return new AWS.S3({
    endpoint,
    credentials: new AWS.Credentials(process.env.AWS_ACCESS_KEY_ID, secret),
    region: "us-east-1",
    s3ForcePathStyle: !virtual,
    signatureVersion: arg === "s3" ? "s3" : "v4",
    maxRetries: 0,
    httpOptions: virtual ? { agent: new http.Agent({ lookup: loopback }) } : {},
  });
}

async function objects(s3) {
  const hosts = new Set();
  AWS.events.on("send", (response) => hosts.add(response.request.httpRequest.endpoint.hostname));
  const key = "dir/a b+c=d.txt";
  await s3.putObject({
    Bucket: bucket, Key: key, Body: "from the JS SDK v2", ContentType: "text/x-js2", Metadata: { m: "1" },
  }).promise();
  const got = await s3.getObject({ Bucket: bucket, Key: key }).promise();
  const range = await s3.getObject({ Bucket: bucket, Key: key, Range: "bytes=5-7" }).promise();
  const head = await s3.headObject({ Bucket: bucket, Key: key }).promise();
  const listed = await s3.listObjectsV2({ Bucket: bucket, Prefix: "dir/" }).promise();
  await s3.copyObject({ Bucket: bucket, Key: "copy.txt", CopySource: `${bucket}/${encodeURIComponent(key)}` }).promise();
  await s3.putObject({ Bucket: bucket, Key: "gone-1.txt", Body: "soon gone" }).promise();
  await s3.putObject({ Bucket: bucket, Key: "gone-2.txt", Body: "soon gone" }).promise();
  // A multi-object delete, its body bound by the Content-MD5 the SDK computes.
  const deleted = await s3.deleteObjects({
    Bucket: bucket, Delete: { Objects: [{ Key: "gone-1.txt" }, { Key: "gone-2.txt" }] },
  }).promise();
  return {
    body: got.Body.toString(),
    range: range.Body.toString(),
    contentType: head.ContentType,
    metadata: head.Metadata,
    keys: (listed.Contents ?? []).map((o) => o.Key),
    deleted: deleted.Deleted.map((o) => o.Key).sort(),
    hosts: [...hosts],
  };
}

const scenarios = {
  objects: () => objects(client()),
  "objects-virtual": () => objects(client({ virtual: true })),

  // s3.upload (ManagedUpload) of 6 MiB in 5 MiB parts, two at a time.
  async multipart() {
    const done = await client().upload(
      { Bucket: bucket, Key: "multipart.bin", Body: Buffer.alloc(6 * 1024 * 1024, "u") },
      { partSize: 5 * 1024 * 1024, queueSize: 2 },
    ).promise();
    return { key: done.Key };
  },

  // Presigned PUT and GET (with a response header override) and a createPresignedPost form,
  // each sent with Node's fetch.
  async presigned() {
    const s3 = client();
    const put = s3.getSignedUrl("putObject", { Bucket: bucket, Key: "presigned.txt", Expires: 300 });
    const putStatus = (await fetch(put, { method: "PUT", body: "presigned by the JS SDK v2" })).status;
    const get = s3.getSignedUrl("getObject", {
      Bucket: bucket, Key: "presigned.txt", Expires: 300, ResponseContentType: "text/x-presigned",
    });
    const got = await fetch(get);
    const post = s3.createPresignedPost({
      Bucket: bucket, Fields: { key: "form.txt", "Content-Type": "text/x-form" }, Expires: 300,
      Conditions: [["content-length-range", 1, 1024]],
    });
    const posted = await postForm(post.url, post.fields, "posted by the JS SDK v2");
    return presignedAnswers(putStatus, got, posted);
  },

  // A signature made with another secret: the SDK's error code.
  async "wrong-secret"() {
    const s3 = client({ secret: "not-the-secret" });
    try {
      await s3.putObject({ Bucket: bucket, Key: "never.txt", Body: "never stored" }).promise();
      return { code: null };
    } catch (e) {
      return { code: e.code };
    }
  },
};

const seen = await scenarios[scenario]();
process.stdout.write(JSON.stringify(seen));
