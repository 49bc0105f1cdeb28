"""More seeded random request families, in `random_families`' style (a case is a `Plan` drawn
whole before anything is sent): SigV2 bucket-level requests (listings with their parameters,
`acl`, `location`, `uploads`, `versioning`, `versions`, HEAD); SigV2 signed here rather than by
botocore (dated by `x-amz-date`, `response-*` overrides, conditional headers); copies written
by hand (UploadPartCopy with a source range and `x-amz-copy-source-if-*`, CopyObject replacing
the metadata); checksums beyond CRC32 (CRC32C, CRC64NVME, SHA-1; in a signed header and in a
trailer, right and wrong); the edges of the time windows of presigned URLs, signed requests and
POST forms; and presigned PUTs whose signed headers are sent with the values signed or others.

They are drawn from a list of their own (`MORE_DRAW`), not among `random_families.FAMILIES`,
so that case `n` of a seed there is still the case SECURITY.md and docs/testing.md name."""

import base64
import datetime
import email.utils
import hashlib
import hmac
import http.client
import random
import re
import time
import urllib.parse

import botocore.auth
import requests
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .checksums import CHECKSUMS
from .chunked import SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER, chunked_put
from .clients import RawRequest, content_md5, presign, quote_key, sign_header, target_of
from .random_families import (FORM_KEY_REFUSAL, Context, Plan, Result, _boto, _send_reading_early_answers, _target,
                              leaves_its_place, list_parts_of, sign_v2, sign_v4_instead)
from .random_requests import Origin, copy_source_refused, form_key


# What differs between the two sides' answers without being what the request did: the bucket's
# name, dates, upload ids
_VARYING = re.compile(rb"<(LastModified|Initiated|UploadId|NextUploadIdMarker|UploadIdMarker|CreationDate"
                      rb"|RequestId|HostId)>[^<]*</\1>")
# The answer headers compared on a HEAD or a successful write
_HEADERS = ("content-length", "content-type", "etag", "x-amz-checksum-crc32", "x-amz-checksum-crc32c",
            "x-amz-checksum-crc64nvme", "x-amz-checksum-sha1", "x-amz-checksum-sha256", "x-amz-checksum-type")


def _send(ctx: Context, request: RawRequest, says=None) -> Result:
    """`random_families._send`, saying what `says` makes of a successful answer (default: its
    body with the side's bucket, dates and upload ids left out, or the headers that matter)."""
    try:
        r = _send_reading_early_answers(ctx.authority, request)
    except (OSError, http.client.HTTPException) as e:  # closed, reset or cut short
        return Result(None, f"{type(e).__name__}: {e}", sent=request.target)
    code = re.search(rb"<Code>([^<]*)</Code>", r.body)
    out = b""
    if 200 <= r.status < 300:
        out = says(r) if says else _normalised(ctx, r)
    return Result(r.status, code.group(1).decode() if code else None, out, request.target)


def _normalised(ctx: Context, r) -> bytes:
    body = _VARYING.sub(b"", r.body.replace(ctx.bucket.encode(), b"BUCKET"))
    heads = "".join(f"{h}: {r.headers[h]}\n" for h in _HEADERS if h in r.headers and h != "content-length")
    return heads.encode() + body


def _bucket_target(ctx: Context, query: str = "") -> str:
    """`/bucket/` for SigV2 as the SDKs sign it (s3s-fs checks it against the path as sent:
    `Origin.sigv2_bucket_as_sent`), `/bucket` for SigV4."""
    return f"/{ctx.bucket}" + ("/" if ctx.sigv2 else "") + (f"?{query}" if query else "")


# --- SigV2 bucket-level requests -----------------------------------------------------------


# The bucket-level sub-resources drawn, sent bare (`?acl`, not `?acl=`)
BUCKET_SUBRESOURCES = {"acl", "location", "uploads", "versioning", "versions", "tagging", "policy", "cors"}


def _sigv2_bucket(plan: Plan, rng: random.Random, origin: Origin) -> None:
    what = rng.choice(["list", "list", "list_v2", "acl", "location", "uploads", "versioning", "versions",
                       "head", "tagging", "policy", "cors"])
    presigned = rng.random() < 0.4
    plan.op = f"{what}{' presigned' if presigned else ''}"
    method, params = "GET", []
    if what in ("list", "list_v2", "versions", "uploads"):
        if what == "list_v2":
            params.append(("list-type", "2"))
        if rng.random() < 0.6:
            params.append(("prefix", plan.key[: rng.randint(0, len(plan.key))]))
        if rng.random() < 0.5:
            params.append(("delimiter", rng.choice(["/", "/", "-", "a", "%", "+"])))
        if rng.random() < 0.4:
            marker = rng.choice([plan.key, plan.key[:3], plan.key2, ""])
            params.append(({"list": "marker", "list_v2": "start-after", "versions": "key-marker",
                            "uploads": "key-marker"}[what], marker))
        if rng.random() < 0.4:
            params.append(({"uploads": "max-uploads"}.get(what, "max-keys"), str(rng.choice([0, 1, 2, 1000]))))
        if rng.random() < 0.2:
            params.append(("encoding-type", "url"))
        rng.shuffle(params)
        if what in ("versions", "uploads"):
            params.insert(0, (what, ""))
    elif what == "head":
        method = "HEAD"
    else:
        params.append((what, ""))
    query = "&".join(f"{k}={urllib.parse.quote(v, safe='')}" if v or k not in BUCKET_SUBRESOURCES else k
                     for k, v in params)
    if what == "uploads":
        plan.op += f" {query}"

        def create(ctx: Context) -> Result:
            return _boto(lambda: ctx.client.create_multipart_upload(Bucket=ctx.bucket, Key=plan.key))[0]
        plan.steps.append(("create an upload", create))

    def step(ctx: Context) -> Result:
        return _send(ctx, sign_v2(ctx, method, _bucket_target(ctx, query), {}, b"", presigned))
    plan.steps.append((plan.op, step))


# --- copies by hand ------------------------------------------------------------------------


def _copy_source_conditions(plan: Plan, rng: random.Random) -> dict:
    """`x-amz-copy-source-if-*` headers, met or not, on the populated source (`body of <key>`)."""
    etag = '"' + hashlib.md5(f"body of {plan.key}".encode()).hexdigest() + '"'
    past, future = "Wed, 01 Jan 2020 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT"
    headers = {}
    if rng.random() < 0.3:
        headers["x-amz-copy-source-if-match"] = rng.choice([etag, '"' + "0" * 32 + '"', "*"])
    if rng.random() < 0.2:
        headers["x-amz-copy-source-if-none-match"] = rng.choice([etag, '"' + "0" * 32 + '"'])
    if rng.random() < 0.2:
        headers["x-amz-copy-source-if-modified-since"] = rng.choice([past, future])
    if rng.random() < 0.2:
        headers["x-amz-copy-source-if-unmodified-since"] = rng.choice([past, future])
    return headers


def _copy_by_hand(plan: Plan, rng: random.Random, origin: Origin) -> None:
    what = rng.choice(["part_copy", "part_copy", "copy_replace"])
    v2 = rng.random() < 0.3
    source = plan.key if rng.random() < 0.85 else "missing-" + plan.key[:20]
    if copy_source_refused(source):
        # A part copy's is never sent (the proxy refuses it by design, and Ceph, sent it
        # directly, aborts on the key `%`); a CopyObject of it goes on, as at every origin.
        what = "copy_replace"
    headers = _copy_source_conditions(plan, rng)
    size = len(f"body of {plan.key}".encode())
    plan.op = f"{what}{' SigV2' if v2 else ''}"
    if headers:
        plan.op += " if-" + ",".join(h.rsplit("if-", 1)[1] for h in headers)

    def copy_source(ctx: Context) -> str:
        return f"/{ctx.bucket}/{quote_key(source)}"

    def signed(ctx: Context, method: str, target: str, h: dict) -> RawRequest:
        if v2:
            return sign_v2(ctx, method, target, h, b"", False)
        return sign_header(ctx.authority, method, target, h, b"", key=ctx.access_key, secret=ctx.secret,
                           region=ctx.region)

    if what == "copy_replace":
        headers["x-amz-metadata-directive"] = rng.choice(["REPLACE", "REPLACE", "COPY"])
        if rng.random() < 0.7:
            headers["Content-Type"] = rng.choice(["text/replaced", "image/png", "a/b; c=d"])
        for i in range(rng.randint(0, 2)):
            headers[f"x-amz-meta-r{i}"] = rng.choice(["yes", "a b", "x=y", "1"])
        if rng.random() < 0.3:
            headers["Cache-Control"] = "max-age=60"
        if rng.random() < 0.3:
            headers["Content-Disposition"] = 'attachment; filename="f.txt"'
        if rng.random() < 0.2:
            headers["x-amz-tagging-directive"] = "REPLACE"
            headers["x-amz-tagging"] = "a=b"
        dest = plan.key if rng.random() < 0.25 else plan.key2
        plan.op += f" {headers['x-amz-metadata-directive']} {'self' if dest == source else 'to key2'}"

        def step(ctx: Context) -> Result:
            h = {**headers, "x-amz-copy-source": copy_source(ctx)}
            return _send(ctx, signed(ctx, "PUT", _target(ctx.bucket, dest), h), _copy_result)
        plan.steps.append((plan.op, step))
        return

    ranges = [None, f"bytes=0-{size - 1}", "bytes=0-3", f"bytes=2-{size - 2}", f"bytes={size - 1}-{size - 1}",
              f"bytes=0-{size}", f"bytes={size}-{size + 5}", "bytes=5-2", "bytes=-3"]
    # not an open `bytes=0-`: s3s-fs copies the rest, Ceph one byte, the proxy refuses it (RT71;
    # `test_a_part_s3_would_refuse_is_refused_before_the_origin`)
    parts = {1: rng.choice(ranges)}
    if rng.random() < 0.4:
        parts[2] = rng.choice(ranges)
    if rng.random() < 0.3:
        headers["x-amz-copy-source"] = None  # with `?versionId=null`, filled in when sent
    complete = rng.random() < 0.7
    plan.op += f" {parts}{' complete' if complete else ''}"
    versioned = "x-amz-copy-source" in headers
    headers.pop("x-amz-copy-source", None)

    def create(ctx: Context) -> Result:
        result, out = _boto(lambda: ctx.client.create_multipart_upload(Bucket=ctx.bucket, Key=plan.key2))
        ctx.state["upload"] = out["UploadId"] if out else "none"
        ctx.state["etags"] = {}
        return result
    plan.steps.append(("create", create))
    for p, r in parts.items():
        def part(ctx: Context, p=p, r=r) -> Result:
            h = dict(headers)
            h["x-amz-copy-source"] = copy_source(ctx) + ("?versionId=null" if versioned else "")
            if r:
                h["x-amz-copy-source-range"] = r
            query = f"partNumber={p}&uploadId={urllib.parse.quote(ctx.state['upload'], safe='')}"
            result = _send(ctx, signed(ctx, "PUT", _target(ctx.bucket, plan.key2, query), h), _copy_result)
            etag = re.search(rb"<ETag>([^<]*)</ETag>", result.says)
            if etag:
                ctx.state["etags"][p] = etag.group(1).decode().replace("&quot;", '"')
            return result
        plan.steps.append((f"part {p} copy {r}", part))

    plan.steps.append(("list parts", list_parts_of(plan.key2)))
    if complete:
        def finish(ctx: Context) -> Result:
            listed = [{"PartNumber": p, "ETag": ctx.state["etags"].get(p, '"0"')} for p in sorted(parts)]
            return _boto(lambda: ctx.client.complete_multipart_upload(
                Bucket=ctx.bucket, Key=plan.key2, UploadId=ctx.state["upload"], MultipartUpload={"Parts": listed}),
                lambda out: (out.get("ETag") or "").encode())[0]
        plan.steps.append(("complete", finish))


def _copy_result(r) -> bytes:
    """A CopyObjectResult or CopyPartResult's ETag (the date is the side's own)."""
    etag = re.search(rb"<ETag>([^<]*)</ETag>", r.body)
    return b"ETag " + (etag.group(1) if etag else b"none")


# --- checksums -----------------------------------------------------------------------------


def _checksums(plan: Plan, rng: random.Random, origin: Origin) -> None:
    algorithm = rng.choice(["crc32c", "crc32c", "crc64nvme", "crc64nvme", "sha1", "crc32", "sha256"])
    way = rng.choice(["header", "header unsigned payload", "sigv2 header", SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER,
                      UNSIGNED_TRAILER])
    chunk = rng.choice([8192, 65536])
    data = rng.randbytes(rng.choice([0, 1, 100, 8191, 8193, rng.randint(2, 20000)]))
    wrong = rng.random() < 0.3
    if way in ("header unsigned payload", "sigv2 header") and algorithm in ("sha1", "sha256"):
        wrong = wrong and origin.checksum_headers  # `Origin.checksum_headers`: checked by the proxy alone
    value = CHECKSUMS[algorithm](data + (b"!" if wrong else b""))
    name = f"x-amz-checksum-{algorithm}"
    headers = {}
    if rng.random() < 0.2:
        headers["x-amz-sdk-checksum-algorithm"] = algorithm.upper()
    if rng.random() < 0.2:
        headers["Content-Type"] = "text/checked"
    plan.sent[plan.key] = data
    plan.op = f"{way} {algorithm}{' WRONG' if wrong else ''} len {len(data)}"
    if wrong:
        plan.broken.append("checksum")

    def step(ctx: Context) -> Result:
        target = _target(ctx.bucket, plan.key)
        who = dict(key=ctx.access_key, secret=ctx.secret, region=ctx.region)
        if way == "header":
            request = sign_header(ctx.authority, "PUT", target, {**headers, name: value}, data, **who)
        elif way == "header unsigned payload":
            request = sign_header(ctx.authority, "PUT", target, {**headers, name: value}, data,
                                  payload_hash="UNSIGNED-PAYLOAD", **who)
        elif way == "sigv2 header":
            request = sign_v2(ctx, "PUT", target, {**headers, name: value}, data, False)
        else:
            h = dict(headers)
            if way == SIGNED:
                h[name] = value
            request = chunked_put(ctx.authority, target, data, way, chunk, checksum=(name, value), extra_headers=h,
                                  **who)
        result = _send(ctx, request, _write_answer)
        ctx.state["taken"] = result.ok
        return result
    plan.steps.append((plan.op, step))

    def head(ctx: Context) -> Result:
        request = sign_header(ctx.authority, "HEAD", _target(ctx.bucket, plan.key), {"x-amz-checksum-mode": "ENABLED"},
                              b"", key=ctx.access_key, secret=ctx.secret, region=ctx.region)
        # after a refused upload, only whether the object is there: s3s-fs 0.14.1 has written
        # the refused body (`Origin.writes_before_digest`) where the proxy refused it first
        return _send(ctx, request, _write_answer if ctx.state["taken"] else lambda r: b"")
    plan.steps.append(("head with checksum mode", head))


def _write_answer(r) -> bytes:
    return "".join(f"{h}: {r.headers[h]}\n" for h in _HEADERS if h in r.headers).encode()


# --- time windows --------------------------------------------------------------------------


def _at_a_second_start() -> None:
    """Waits for the start of a second: a window of 1 s signed now is then open for most of a
    second on both sides alike, whatever fraction of a second the case started at."""
    time.sleep(1.05 - time.time() % 1 if time.time() % 1 > 0.3 else 0)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _windows(plan: Plan, rng: random.Random, origin: Origin) -> None:
    what = rng.choice(["presigned", "presigned", "presigned reused", "sigv2 presigned", "form", "form", "skew"])
    method = rng.choice(["GET", "PUT"]) if what != "form" else "POST"
    data = b"" if method == "GET" else rng.randbytes(rng.choice([0, 5, 100]))
    if data or method != "GET":
        plan.sent[plan.key] = data
    # (seconds ago it was signed, seconds it is valid), the edges away from the clocks' second
    if what == "presigned":
        ago, expires = rng.choice([(0, 1), (3, 1), (0, 2), (297, 300), (303, 300), (-120, 300), (-1000, 300),
                                   (604795, 604800), (0, 604800), (0, 604801), (0, 0), (900, 3600)])
    elif what == "presigned reused":
        ago, expires = 0, 1
    elif what == "sigv2 presigned":
        ago, expires = 0, rng.choice([-3, -1, 2, 300, 604800, 604801 * 5])
    elif what == "form":
        ago, expires = 0, rng.choice([-5, -1, 3, 300, 1])  # 1: sent after 2 s
    else:
        # a header-signed request's date, S3's 15 minutes either side
        ago, expires = rng.choice([14 * 60, 16 * 60, -14 * 60, -16 * 60, 0, 3600, -3600, 86400, 7 * 86400]), 0
    plan.op = f"{what} {method} signed {ago} s ago for {expires} s"
    if what == "presigned reused" or {"presigned": ago < 0 or ago >= expires, "sigv2 presigned": expires <= 0,
                                      "form": expires <= 1, "skew": abs(ago) > 900}[what]:
        plan.broken.append("expired")
    # What S3 refuses and an origin takes: the proxy must refuse it itself
    if what == "skew" and abs(ago) > 900 or what == "presigned" and ago < -900:
        # Garage 2.5.0 takes a request dated 16 minutes away, header-signed or presigned
        plan.refused_by_design = ("a request dated more than 15 minutes away", 403, "RequestTimeTooSkewed")
    elif what == "presigned" and expires > 604800:
        # s3s-fs 0.14.1 takes an X-Amz-Expires over a week (Garage: 400 InvalidRequest)
        plan.refused_by_design = ("an X-Amz-Expires over a week", 400, "AuthorizationQueryParametersError")

    if what == "form":
        plan.key = form_key(plan.key, plan.key2, origin)
        # an expired policy is refused first (403 AccessDenied), as at the origin
        if leaves_its_place(plan.key) and expires > 1:
            plan.refused_by_design = FORM_KEY_REFUSAL
        if plan.key.startswith("\ufeff"):
            # as `random_families._post_form`: Garage would store another key than the policy
            # was checked against
            plan.refused_by_design = ("a form field opening with a byte-order mark", 400, "MalformedPOSTRequest")

        def form(ctx: Context) -> Result:
            if expires == 1:
                _at_a_second_start()
            f = ctx.client.generate_presigned_post(Bucket=ctx.bucket, Key=plan.key, ExpiresIn=expires)
            if expires == 1:
                time.sleep(2.1)
            prepared = requests.Request("POST", f["url"], data=f["fields"],
                                        files={"file": ("f.bin", data, "application/octet-stream")}).prepare()
            return _send(ctx, RawRequest("POST", target_of(f["url"]),
                                         [("Content-Type", prepared.headers["Content-Type"])], prepared.body),
                         _write_answer)
        plan.steps.append((plan.op, form))
        return

    def request(ctx: Context) -> RawRequest:
        target = _target(ctx.bucket, plan.key)
        who = dict(key=ctx.access_key, secret=ctx.secret, region=ctx.region)
        if expires in (1, 2) or what == "sigv2 presigned":
            _at_a_second_start()
        when = _now() - datetime.timedelta(seconds=ago)
        if what == "skew":
            return sign_header(ctx.authority, method, target, {}, data, when=when, **who)
        if what == "sigv2 presigned":
            if not ctx.sigv2:  # SigV4 with the window SigV2's `Expires` gives
                if expires <= 0:
                    r = presign(ctx.authority, method, target, {}, 1, when=when + datetime.timedelta(
                        seconds=expires - 2), **who)
                else:
                    r = presign(ctx.authority, method, target, {}, min(expires, 604800), when=when, **who)
                return RawRequest(method, r.target, r.headers, data)
            req = AWSRequest(method=method, url=f"http://{ctx.authority}{target}")
            botocore.auth.HmacV1QueryAuth(Credentials(ctx.access_key, ctx.secret), expires=expires).add_auth(req)
            return RawRequest(method, target_of(req.prepare().url), [], data)
        r = presign(ctx.authority, method, target, {}, expires, when=when, **who)
        return RawRequest(method, r.target, r.headers, data)

    if what == "presigned reused":
        # the same URL in its window and after it: a verification the proxy remembers
        # (presigned_cache.rs) must not outlive the URL
        # (presigned_cache.rs) must not outlive the URL; it remembers a URL from its second
        # verification, so the third is answered from memory
        def first(ctx: Context) -> Result:
            ctx.state["request"] = request(ctx)
            return _send(ctx, ctx.state["request"], _write_answer)

        def again(ctx: Context) -> Result:
            return _send(ctx, ctx.state["request"], _write_answer)

        def after(ctx: Context) -> Result:
            time.sleep(2.1)
            return again(ctx)
        plan.steps += [("in its window", first), ("again", again), ("a third time", again), ("after it", after)]
        return
    plan.steps.append((plan.op, lambda ctx: _send(ctx, request(ctx), _write_answer)))


# --- presigned PUTs with signed headers ----------------------------------------------------


def _presigned_headers(plan: Plan, rng: random.Random, origin: Origin) -> None:
    v2 = rng.random() < 0.35
    signed = {}
    if rng.random() < 0.8:
        signed["Content-Type"] = rng.choice(["text/plain", "image/png", "a/b; c=d"])
    for i in range(rng.randint(0 if signed else 1, 2)):
        signed[f"x-amz-meta-s{i}"] = rng.choice(["yes", "a b", "x=y", "1"])
    if rng.random() < 0.2:
        signed["x-amz-acl"] = "private"
    data = rng.randbytes(rng.choice([0, 3, 100]))
    plan.sent[plan.key] = data
    how = rng.choice(["same", "same", "other value", "missing", "extra unsigned meta", "other case"])
    sent = dict(signed)
    name = rng.choice(sorted(signed))
    if how == "other value":
        sent[name] = "text/other" if name == "Content-Type" else "other"
    elif how == "missing":
        del sent[name]
        if v2:
            # botocore writes a SigV2 URL's signed headers into its query too (HmacV1QueryAuth),
            # and S3 and Ceph read them there as headers: the URL works without them. The proxy
            # takes such a copy only beside the header itself (README, SigV2), so a header sent
            # only in the query fails its signature there
            plan.refused_by_design = ("a SigV2 URL's signed header sent only in its query", 403,
                                      "SignatureDoesNotMatch")
    elif how == "extra unsigned meta":
        sent["x-amz-meta-unsigned"] = "z"
        # S3 refuses an `x-amz-*` header a SigV4 signature does not cover (403 AccessDenied,
        # `HeadersNotSigned`), and so does the proxy (unsigned_headers.rs); s3s-fs 0.14.1 takes
        # it and stores the metadata, Garage 2.5.0 answers 400 InvalidRequest. SigV2 signs every
        # `x-amz-*` header sent: one added breaks the signature (Garage's side is sent SigV4)
        plan.refused_by_design = (("an x-amz-meta-* header a SigV2 presigned URL does not sign", 403,
                                   "SignatureDoesNotMatch") if v2 else
                                  ("an x-amz-meta-* header a presigned URL does not sign", 403, "AccessDenied"))
    if how == "other value":
        plan.broken.append("signature")
    elif how == "missing":
        plan.broken.append("signed header missing")
    elif how == "other case":
        sent = {k.upper() if k == name else k: v for k, v in sent.items()}
    # sent as signed three times first: the proxy remembers a verified URL from its second
    # time (presigned_cache.rs), and must still compare what the last one sends otherwise
    replayed = rng.random() < 0.3
    plan.op = f"{'SigV2' if v2 else 'SigV4'} {sorted(signed)} sent {how}" + (f" ({name})" if how != "same" else "") + (
        " after 3 sent as signed" if replayed else "")

    def url(ctx: Context) -> str:
        if "url" not in ctx.state:
            target = _target(ctx.bucket, plan.key)
            if v2:
                ctx.state["url"] = sign_v2(ctx, "PUT", target, signed, data, True).target
            else:
                ctx.state["url"] = presign(ctx.authority, "PUT", target, signed, key=ctx.access_key, secret=ctx.secret,
                                           region=ctx.region).target
        return ctx.state["url"]

    def as_signed(ctx: Context) -> Result:
        return _send(ctx, RawRequest("PUT", url(ctx), list(signed.items()), data), _write_answer)

    def step(ctx: Context) -> Result:
        return _send(ctx, RawRequest("PUT", url(ctx), list(sent.items()), data), _write_answer)
    if replayed:
        plan.steps += [(f"sent as signed {i}", as_signed) for i in (1, 2, 3)]
    plan.steps.append((plan.op, step))


# --- SigV2 signed by hand ------------------------------------------------------------------

# The query parameters SigV2 signs (S3's list): the others are left out of the string to sign
SIGV2_SUBRESOURCES = {"acl", "delete", "lifecycle", "location", "logging", "notification", "partNumber", "policy",
                      "requestPayment", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning",
                      "versions", "website", "cors", "restore", "response-cache-control",
                      "response-content-disposition", "response-content-encoding", "response-content-language",
                      "response-content-type", "response-expires"}


def sigv2_by_hand(ctx: Context, method: str, target: str, headers: dict, body: bytes, presigned: bool,
                  amz_date: bool) -> RawRequest:
    """SigV2 as S3 documents it, written here rather than botocore's (which dates every request
    by `Date`): dated by `x-amz-date` (s3cmd's way; the date line is then empty) or `Date`, or
    presigned (`Expires`). Where the side does not take SigV2 (Garage straight), SigV4."""
    if not ctx.sigv2:
        return sign_v4_instead(ctx, method, target, headers, body, presigned)
    h = dict(headers)
    if presigned:
        date_line = str(int(time.time()) + 300)
    elif amz_date:
        h["x-amz-date"], date_line = email.utils.formatdate(usegmt=True), ""
    else:
        h["Date"] = date_line = email.utils.formatdate(usegmt=True)
    lower = {k.lower(): v.strip() for k, v in h.items()}
    amz = "".join(f"{k}:{lower[k]}\n" for k in sorted(lower) if k.startswith("x-amz-"))
    path, _, query = target.partition("?")
    subs = sorted((n, urllib.parse.unquote(v) if eq else None)
                  for n, eq, v in (p.partition("=") for p in query.split("&") if p) if n in SIGV2_SUBRESOURCES)
    resource = path + ("?" + "&".join(n + ("" if v is None else f"={v}") for n, v in subs) if subs else "")
    sts = f"{method}\n{lower.get('content-md5', '')}\n{lower.get('content-type', '')}\n{date_line}\n{amz}{resource}"
    signature = base64.b64encode(hmac.new(ctx.secret.encode(), sts.encode(), hashlib.sha1).digest()).decode()
    if presigned:
        auth = urllib.parse.urlencode({"AWSAccessKeyId": ctx.access_key, "Expires": date_line,
                                       "Signature": signature})
        return RawRequest(method, target + ("&" if query else "?") + auth, list(h.items()), body)
    return RawRequest(method, target, list(h.items()) + [("Authorization", f"AWS {ctx.access_key}:{signature}")],
                      body)


def _sigv2_by_hand(plan: Plan, rng: random.Random, origin: Origin) -> None:
    what = rng.choice(["get", "get", "get", "head", "put", "put", "part"])
    how = rng.choice(["Date", "x-amz-date", "presigned"])
    method = {"head": "HEAD", "put": "PUT"}.get(what, "GET")
    headers, params, body = {}, [], b""
    etag = '"' + hashlib.md5(f"body of {plan.key}".encode()).hexdigest() + '"'
    past, future = "Wed, 01 Jan 2020 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT"
    if what in ("get", "head", "part"):
        if what == "part":
            params.append(("partNumber", rng.choice(["1", "1", "2"])))
        if what == "get":
            for name in rng.sample(["response-content-type", "response-content-disposition", "response-cache-control",
                                    "response-content-language", "response-expires", "response-content-encoding"],
                                   rng.randint(0, 3)):
                params.append((name, {"response-content-type": "text/x y",
                                      "response-content-disposition": 'attachment; filename="a b.txt"',
                                      "response-cache-control": "no-cache", "response-content-language": "en",
                                      "response-expires": past, "response-content-encoding": "identity"}[name]))
            if rng.random() < 0.2:
                params.append(("versionId", "null"))
            if rng.random() < 0.3:
                headers["Range"] = rng.choice(["bytes=0-3", "bytes=-5", "bytes=100-200"])
        for name, values in (("If-Match", [etag, '"' + "0" * 32 + '"', "*"]), ("If-None-Match", [etag, "*"]),
                             ("If-Modified-Since", [past, future]), ("If-Unmodified-Since", [past, future])):
            if rng.random() < 0.15:
                headers[name] = rng.choice(values)
        rng.shuffle(params)
    else:
        body = plan.sent[plan.key] = rng.randbytes(rng.choice([0, 7, 300]))
        if rng.random() < 0.6:
            headers["Content-Type"] = rng.choice(["text/plain", "image/png", "a/b; c=d"])
        if rng.random() < 0.4:
            headers["Content-MD5"] = content_md5(body)
        for i in range(rng.randint(0, 2)):
            # SigV2 signs the names lower-cased and the values trimmed
            headers[rng.choice([f"x-amz-meta-h{i}", f"X-Amz-Meta-H{i}"])] = rng.choice(["v", " padded ", "a  b"])
        if rng.random() < 0.2:
            headers["x-amz-storage-class"] = "STANDARD"
    if how == "presigned":
        # a client sends the `x-amz-*` headers it signed; `x-amz-date` dates nothing there
        headers = {k: v for k, v in headers.items() if k.lower() not in ("x-amz-date",)}
    query = "&".join(f"{n}={urllib.parse.quote(v, safe='')}" for n, v in params)
    plan.op = f"{what} {how}" + (f" ?{','.join(n for n, _ in params)}" if params else "") + (
        f" {','.join(sorted(headers))}" if headers else "")

    def step(ctx: Context) -> Result:
        request = sigv2_by_hand(ctx, method, _target(ctx.bucket, plan.key, query), headers, body,
                                how == "presigned", how == "x-amz-date")
        return _send(ctx, request, _read_answer if method == "GET" else _write_answer)
    plan.steps.append((plan.op, step))


def _read_answer(r) -> bytes:
    """What a GET said: the body and the headers it was asked to set."""
    names = _HEADERS + ("content-disposition", "cache-control", "content-language", "expires", "content-encoding",
                        "content-range")
    return "".join(f"{h}: {r.headers[h]}\n" for h in names if h in r.headers).encode() + r.body


MORE_DRAW = {"sigv2_bucket": _sigv2_bucket, "copy_by_hand": _copy_by_hand, "checksums": _checksums,
             "windows": _windows, "presigned_headers": _presigned_headers, "sigv2_by_hand": _sigv2_by_hand}
