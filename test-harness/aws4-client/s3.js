// aws4 (Debian's node-aws4, npm `aws4`), the stand-alone Node signer many applications use
// with plain `http` instead of an SDK, as a client of s3-resign, driven by test_aws4.py:
//   node s3.js CONNECT HOST OP PATH [ARG]
// CONNECT is where the request goes (127.0.0.1:PORT), HOST the host it is signed for and sent
// with (`localhost:PORT` path-style, `bucket.s3.mydomain.test` virtual-hosted), PATH the path
// and query as sent. Key pair in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, region in
// AWS_REGION. OP: `get` (ARG: a Range), `head`, `put` (ARG: the body; aws4 signs its SHA-256),
// `delete`, `presign` (prints the URL: aws4's `signQuery`, `UNSIGNED-PAYLOAD`).
// Prints one JSON object: status, body, and what was signed.
'use strict'
const http = require('http')
const aws4 = require(process.env.AWS4_MODULE || 'aws4')

const [connect, host, op, path, arg] = process.argv.slice(2)
const [address, port] = connect.split(':')
const credentials = { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY }
const request = { host, path, service: 's3', region: process.env.AWS_REGION || 'us-east-1', headers: {} }

if (op === 'presign') {
  request.signQuery = true
  aws4.sign(request, credentials)
  process.stdout.write(JSON.stringify({ url: `http://${host}${request.path}` }) + '\n')
  process.exit(0)
}
request.method = { get: 'GET', put: 'PUT', delete: 'DELETE', head: 'HEAD' }[op]
if (op === 'put') {
  request.body = arg
  request.headers['Content-Type'] = 'text/x-aws4'
} else if (op === 'get' && arg) {
  request.headers.Range = arg
}
aws4.sign(request, credentials)
const signed = /SignedHeaders=([^,]*)/.exec(request.headers.Authorization)[1]
const req = http.request({ host: address, port, method: request.method, path: request.path, headers: request.headers }, (res) => {
  const chunks = []
  res.on('data', (c) => chunks.push(c))
  res.on('end', () => {
    const body = Buffer.concat(chunks).toString()
    const code = /<Code>([^<]*)<\/Code>/.exec(body)
    process.stdout.write(JSON.stringify({
      status: res.statusCode, body, code: code && code[1], signed,
      sha256: request.headers['X-Amz-Content-Sha256']
    }) + '\n')
  })
})
req.on('error', (e) => { process.stdout.write(JSON.stringify({ error: String(e) }) + '\n'); process.exit(1) })
if (request.body) req.write(request.body)
req.end()
