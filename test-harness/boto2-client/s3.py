"""boto 2.49 (Debian's python3-boto, the legacy `boto`, with SigV2 and SigV4 signers of its
own) as a client of s3-resign, driven by test_boto2.py with the system's Python 3:
    python3 s3.py SIGNER STYLE HOST [PROXY] -- BUCKET OP [ARG...]
SIGNER `v2` or `v4` (boto's `[s3] use-sigv4`), STYLE `path` or `virtual`, HOST the endpoint
(`localhost:PORT`, or `s3.mydomain.test` sent through PROXY, `127.0.0.1:PORT`, as an HTTP
proxy). Key pair in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Prints one JSON object: what
the operation returned, or the error and its S3 code (exiting 1), and what boto signed."""

import io
import json
import logging
import sys

import boto
import boto.s3.connection
from boto.exception import S3ResponseError
from boto.s3.key import Key

argv = sys.argv[1:]
split = argv.index("--")
(signer, style, host, *proxy), (bucket_name, op, *args) = argv[:split], argv[split + 1:]
if signer == "v4":
    if not boto.config.has_section("s3"):
        boto.config.add_section("s3")
    boto.config.set("s3", "use-sigv4", "True")

# boto logs what it signs at debug level: per request, SigV4's signed headers (the canonical
# request's last line but one) and string to sign, or SigV2's string to sign.
SIGNED = []


class Signed(logging.Handler):
    def emit(self, record):
        text = record.getMessage()
        if text.startswith("CanonicalRequest:"):
            SIGNED.append(text.split("\n")[-2])
        elif text.startswith("StringToSign:"):
            SIGNED.append(text.split("\n", 1)[1])


log = logging.getLogger("boto")
log.setLevel(logging.DEBUG)
log.addHandler(Signed())

name, _, port = host.partition(":")
calling = boto.s3.connection.SubdomainCallingFormat() if style == "virtual" else \
    boto.s3.connection.OrdinaryCallingFormat()
options = dict(host=name, is_secure=False, calling_format=calling)
if port:
    options["port"] = int(port)
if proxy:
    options["proxy"], options["proxy_port"] = proxy[0].split(":")
connection = boto.connect_s3(**options)
if signer == "v4":
    # boto finds the region in an AWS host name; any other host needs it told.
    connection.auth_region_name = "us-east-1"
bucket = connection.get_bucket(bucket_name, validate=False)


def run():
    if op == "put":
        key = Key(bucket, args[0])
        key.set_contents_from_string(args[1].encode(), headers={"Content-Type": "text/x-boto"})
        return key.etag
    if op == "get":
        return bucket.get_key(args[0]).get_contents_as_string().decode()
    if op == "list":
        return [k.name for k in bucket.list(prefix=args[0])]
    if op == "delete":
        bucket.delete_key(args[0])
        return None
    if op == "url":
        return Key(bucket, args[0]).generate_url(300)
    if op == "multipart":
        upload = bucket.initiate_multipart_upload(args[0])
        with open(args[1], "rb") as f:
            data = f.read()
        size = int(args[2])
        for number, at in enumerate(range(0, len(data), size), start=1):
            upload.upload_part_from_file(io.BytesIO(data[at:at + size]), number)
        return upload.complete_upload().etag
    raise SystemExit(f"unknown operation {op}")


try:
    result = run()
except S3ResponseError as e:
    print(json.dumps({"error": str(e), "code": e.error_code, "status": e.status, "signed": SIGNED}))
    sys.exit(1)
print(json.dumps({"result": result, "signed": SIGNED}))
