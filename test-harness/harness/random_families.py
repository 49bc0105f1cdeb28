"""Seeded random request families beyond `random_requests`' single requests: SigV2 (header and
presigned, as botocore's HmacV1Auth and HmacV1QueryAuth sign, with sub-resources), uploads
(aws-chunked signed, with a signed trailer, unsigned with a checksum trailer; checksum and
Content-MD5 headers right and wrong), multipart uploads, copies, multi-object deletes and
browser POST forms whose policy the form meets or not.

A case is a `Plan`: every random choice is made when it is drawn, before anything is sent,
and `play` sends it to one side, for that side's bucket. Case `n` of seed `s` is always the
same plan, so it can be played on both sides and replayed alone."""

import base64
import hashlib
import http.client
import random
import re
import urllib.parse
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import botocore.auth
import requests
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ConnectionClosedError

from .chunked import SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER, chunked_put, crc32_checksum
from .clients import RawRequest, Response, content_md5, presign, quote_key, sign_header, target_of
from .random_requests import Origin, form_key, _file_and_directory, key, meta_value

FAMILIES = ["sigv2", "chunked", "multipart", "copy", "delete_objects", "post_form"]


@dataclass
class Result:
    """What one step's answer says, without what names the host, the bucket or the upload."""

    status: int | None
    code: str | None = None
    says: bytes = b""
    sent: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Plan:
    seed: int
    n: int
    family: str
    key: str
    key2: str
    op: str = ""
    sent: dict = field(default_factory=dict)  # key -> the bytes an upload of the plan sends
    # What the plan breaks on purpose (a browser form's policy, a checksum): an origin may name
    # another of several faults first
    broken: list = field(default_factory=list)
    # (why, status, code): the proxy must refuse it itself so, whatever the origin does
    refused_by_design: tuple | None = None
    steps: list = field(default_factory=list)  # (name, callable(Context) -> Result)

    @property
    def tag(self) -> str:
        return f"{self.family}/{self.op}"


@dataclass
class Context:
    """A side as a plan's steps see it: where to send, whose key pair signs, whether the side
    checks SigV2 itself, its bucket, and what earlier steps learnt (an upload id, part ETags)."""

    authority: str
    access_key: str
    secret: str
    region: str
    sigv2: bool  # False: this side's SigV2 requests are sent signed with SigV4 instead
    bucket: str
    client: object  # boto3, SigV4, for this side
    client_v2: object | None  # boto3, SigV2 (None where the side does not take it)
    state: dict = field(default_factory=dict)


def play(plan: Plan, ctx: Context, steps: list | None = None) -> list[Result]:
    """The plan's steps (or `steps` of them) sent to one side."""
    return [step(ctx) for _, step in (plan.steps if steps is None else steps)]


def make_plan(seed: int, n: int, origin: Origin, families: list[str] | None = None, draw: dict | None = None) -> Plan:
    """Case `n` of `seed`, of one of `families` (default: `FAMILIES`) drawn by `draw` (default:
    `DRAW`; `more_families.MORE_DRAW` for its own)."""
    draw = draw or DRAW
    rng = random.Random(f"{seed}:families:{n}")
    k, k2 = key(rng, origin), key(rng, origin)
    if k2 == k:
        k2 += "2"
    if origin.keys_as_files and _file_and_directory(k, k2):
        k2 += "_"
    family = rng.choice(families or list(draw))
    plan = Plan(seed, n, family, k, k2)
    draw[family](plan, rng, origin)
    return plan


# --- sending -------------------------------------------------------------------------------


def _send(ctx: Context, request: RawRequest, keep: bool = False) -> Result:
    try:
        r = _send_reading_early_answers(ctx.authority, request)
    except (OSError, http.client.HTTPException) as e:  # closed, reset or cut short
        return Result(None, f"{type(e).__name__}: {e}", sent=request.target)
    code = re.search(rb"<Code>([^<]*)</Code>", r.body)
    says = r.body if keep and 200 <= r.status < 300 else b""
    return Result(r.status, code.group(1).decode() if code else None, says, request.target)


def _send_reading_early_answers(authority: str, request: RawRequest) -> Response:
    """`clients.send`, but an answer sent before the body was all written (an origin refusing
    an upload by its head, then closing) is still read, as a client reading while it writes
    would."""
    conn = http.client.HTTPConnection("127.0.0.1", int(authority.rsplit(":", 1)[1]), timeout=30)
    try:
        conn.putrequest(request.method, request.target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", authority)
        for name, value in request.headers:
            conn.putheader(name, value)
        if request.header("content-length") is None and (request.body or request.method in ("PUT", "POST")):
            conn.putheader("Content-Length", str(len(request.body)))
        try:
            conn.endheaders(request.body or None)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = conn.getresponse()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def list_parts_of(key: str):
    """A step listing the parts of the upload in `ctx.state["upload"]` of `key`: numbers,
    sizes and ETags."""
    def list_parts(ctx: Context) -> Result:
        return _boto(lambda: ctx.client.list_parts(Bucket=ctx.bucket, Key=key, UploadId=ctx.state["upload"]),
                     # sorted: s3s-fs 0.14.1 lists parts in its directory's order, S3 by number
                     lambda out: repr(sorted((q["PartNumber"], q["Size"], q.get("ETag")) for q in out.get("Parts", [])))
                     .encode())[0]
    return list_parts


def _boto(call, says=lambda out: b""):
    try:
        out = call()
    except ClientError as e:
        return Result(e.response["ResponseMetadata"].get("HTTPStatusCode"), e.response["Error"].get("Code")), None
    except ConnectionClosedError as e:
        return Result(None, str(e)), None
    return Result(out["ResponseMetadata"]["HTTPStatusCode"], None, says(out)), out


def sign_v4_instead(ctx: Context, method: str, target: str, headers: dict, body: bytes,
                    presigned: bool) -> RawRequest:
    """A request meant for SigV2, signed with SigV4 for a side that does not take SigV2
    (Garage straight), as the proxy upgrades it."""
    who = {"key": ctx.access_key, "secret": ctx.secret, "region": ctx.region}
    if presigned:
        r = presign(ctx.authority, method, target, headers, **who)
        return RawRequest(method, r.target, r.headers, body)
    return sign_header(ctx.authority, method, target, headers, body, **who)


def sign_v2(ctx: Context, method: str, target: str, headers: dict, body: bytes, presigned: bool) -> RawRequest:
    """Signed as botocore signs SigV2 (s3cmd, `aws s3 presign`); where the side does not take
    SigV2, with SigV4 (`sign_v4_instead`)."""
    if not ctx.sigv2:
        return sign_v4_instead(ctx, method, target, headers, body, presigned)
    req = AWSRequest(method=method, url=f"http://{ctx.authority}{target}", data=body, headers=dict(headers))
    creds = Credentials(ctx.access_key, ctx.secret)
    if presigned:
        botocore.auth.HmacV1QueryAuth(creds, expires=300).add_auth(req)
        prepared = req.prepare()
        # the signed headers are sent too, as a client using the URL must
        return RawRequest(method, target_of(prepared.url), list(headers.items()), body)
    botocore.auth.HmacV1Auth(creds).add_auth(req)
    prepared = req.prepare()
    return RawRequest(method, target_of(prepared.url), list(prepared.headers.items()), body)


CHECKSUMS = {
    "crc32": crc32_checksum,
    "sha1": lambda d: base64.b64encode(hashlib.sha1(d).digest()).decode(),
    "sha256": lambda d: base64.b64encode(hashlib.sha256(d).digest()).decode(),
}


def _body(rng: random.Random) -> bytes:
    n = rng.choice([0, 1, 2, 17, 100, 1000, rng.randint(0, 5000)])
    return rng.randbytes(n)


def _target(bucket: str, k: str, query: str = "") -> str:
    return f"/{bucket}/{quote_key(k)}" + (f"?{query}" if query else "")


# --- SigV2 ---------------------------------------------------------------------------------


def _sigv2(plan: Plan, rng: random.Random, origin: Origin) -> None:
    what = rng.choice(["get", "get", "head", "put", "put", "delete", "get_acl", "put_acl", "get_tagging",
                       "put_tagging", "delete_tagging", "version_get", "version_head", "version_delete",
                       "create_upload", "copy", "post_delete"])
    presigned = what not in ("post_delete",) and rng.random() < 0.4
    plan.op = f"{what}{' presigned' if presigned else ''}"
    headers, body, query, method = {}, b"", "", "GET"
    k = plan.key
    if what in ("get", "version_get"):
        if rng.random() < 0.3:
            query = "response-content-type=" + urllib.parse.quote(rng.choice(["text/plain", "a/b", "x y"]), safe="")
        if rng.random() < 0.2:
            headers["Range"] = "bytes=0-3"
    if what.startswith("version_"):
        query = "&".join(q for q in ["versionId=null", query] if q)
        method = {"version_get": "GET", "version_head": "HEAD", "version_delete": "DELETE"}[what]
    elif what == "head":
        method = "HEAD"
    elif what == "delete":
        method = "DELETE"
    elif what == "put":
        method = "PUT"
        body = plan.sent[k] = _body(rng)
        if rng.random() < 0.5:
            headers["Content-Type"] = rng.choice(["text/plain", "image/png", "a/b; c=d"])
        if rng.random() < 0.4:
            headers["Content-MD5"] = content_md5(body if rng.random() < 0.75 else body + b"x")
        if not presigned:
            for i in range(rng.randint(0, 2)):
                headers[f"x-amz-meta-m{i}"] = meta_value(rng).replace("\t", " ").replace("é", "e").strip()
    elif what in ("get_acl", "put_acl"):
        query = "acl"
        if what == "put_acl":
            method = "PUT"
            if not presigned:
                headers["x-amz-acl"] = "private"
    elif what.endswith("_tagging"):
        query = "tagging"
        method = {"get_tagging": "GET", "put_tagging": "PUT", "delete_tagging": "DELETE"}[what]
        if method == "PUT":
            tag = escape(rng.choice(["a", "b c", "x+y"]))
            body = f"<Tagging><TagSet><Tag><Key>{tag}</Key><Value>v</Value></Tag></TagSet></Tagging>".encode()
            headers["Content-MD5"] = content_md5(body)
    elif what == "create_upload":
        method, query = "POST", "uploads"
    elif what == "copy":
        method = "PUT"
        k = plan.key2
        headers["x-amz-copy-source"] = None  # the side's bucket, filled in when sent
        if rng.random() < 0.5:
            headers["x-amz-metadata-directive"] = rng.choice(["COPY", "REPLACE"])
            if headers["x-amz-metadata-directive"] == "REPLACE" and rng.random() < 0.7:
                headers["x-amz-meta-copied"] = "yes"
                headers["Content-Type"] = "text/copied"
    elif what == "post_delete":
        method, query = "POST", "delete"
        body = (f"<Delete><Object><Key>{escape(plan.key)}</Key></Object>"
                f"<Object><Key>{escape(plan.key2)}</Key></Object></Delete>").encode()
        right = rng.random() < 0.8
        headers["Content-MD5"] = content_md5(body if right else body + b" ")
        headers["Content-Type"] = "application/xml"
        if not right:
            # SigV2 signs no payload: the Content-MD5 is what ties the body to the signature,
            # and the proxy checks it, as S3 does; s3s-fs and Garage check none on a
            # DeleteObjects, and delete
            plan.refused_by_design = ("a SigV2 DeleteObjects whose Content-MD5 is not its body's", 400, "BadDigest")

    def step(ctx: Context) -> Result:
        h = dict(headers)
        if "x-amz-copy-source" in h:
            h["x-amz-copy-source"] = f"/{ctx.bucket}/{quote_key(plan.key)}"
        bucket_level = what == "post_delete"
        target = f"/{ctx.bucket}" + ("/" if ctx.sigv2 else "") if bucket_level else _target(ctx.bucket, k)
        if query:
            target += "?" + query
        request = sign_v2(ctx, method, target, h, body, presigned)
        return _send(ctx, request, keep=method == "GET")

    plan.steps.append((plan.op, step))


# --- aws-chunked and other uploads ---------------------------------------------------------


def chunked_upload(ctx: Context, target: str, data: bytes, mode: str, chunk_size: int, algorithm: str | None,
                   wrong_trailer: bool, headers: dict) -> RawRequest:
    """An aws-chunked PUT as SDKs frame it, signed for this side (`mode` the payload mode);
    `algorithm` names the trailer's checksum (wrong if `wrong_trailer`)."""
    name = f"x-amz-checksum-{algorithm or 'crc32'}"
    checksum = CHECKSUMS[algorithm or "crc32"](data + (b"!" if wrong_trailer else b""))
    return chunked_put(ctx.authority, target, data, mode, chunk_size, key=ctx.access_key, secret=ctx.secret,
                       region=ctx.region, checksum=(name, checksum), extra_headers=headers)


def _chunked(plan: Plan, rng: random.Random, origin: Origin) -> None:
    trailers = [SIGNED_TRAILER, UNSIGNED_TRAILER, UNSIGNED_TRAILER] if origin.trailers else []
    mode = rng.choice([SIGNED, SIGNED, *trailers, "boto", "unsigned"])
    plan.op = {"boto": "boto put_object", "unsigned": "UNSIGNED-PAYLOAD with checksum"}.get(mode, mode)
    chunk = rng.choice([8192, 8192, 16384, 65536])
    data = rng.randbytes(rng.choice([0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk, rng.randint(2, 3 * chunk)]))
    algorithm = rng.choice([None, "crc32", "sha1", "sha256"])
    wrong_trailer = rng.random() < 0.25
    headers = {}
    if rng.random() < 0.3:
        headers["Content-Type"] = rng.choice(["text/plain", "application/x-www-form-urlencoded", "a/b"])
    if rng.random() < 0.3:
        headers["x-amz-meta-u"] = meta_value(rng).replace("\t", " ").replace("é", "e").strip()
    if rng.random() < 0.25:
        right = rng.random() < 0.6
        headers["Content-MD5"] = content_md5(data if right else data + b"x")
        plan.broken += [] if right else ["Content-MD5"]
    if mode in (SIGNED, "unsigned") and rng.random() < 0.4:
        alg, right = rng.choice(list(CHECKSUMS)), rng.random() < 0.6
        if mode == "unsigned" and alg in ("sha1", "sha256"):
            right = right or not origin.checksum_headers  # `Origin.checksum_headers`
        headers[f"x-amz-checksum-{alg}"] = CHECKSUMS[alg](data if right else data + b"x")
        plan.broken += [] if right else ["checksum"]
    if wrong_trailer and mode in (SIGNED_TRAILER, UNSIGNED_TRAILER):
        plan.broken.append("trailer checksum")
    plan.sent[plan.key] = data
    if mode == "boto":
        params = {"Key": plan.key, "Body": data}
        if algorithm:
            params["ChecksumAlgorithm"] = algorithm.upper()
        if "Content-MD5" in headers:
            params["ContentMD5"] = headers["Content-MD5"]
        if "Content-Type" in headers:
            params["ContentType"] = headers["Content-Type"]

        def step(ctx: Context) -> Result:
            return _boto(lambda: ctx.client.put_object(Bucket=ctx.bucket, **params))[0]
    elif mode == "unsigned":
        def step(ctx: Context) -> Result:
            return _send(ctx, sign_header(ctx.authority, "PUT", _target(ctx.bucket, plan.key), headers, data,
                                          key=ctx.access_key, secret=ctx.secret, region=ctx.region,
                                          payload_hash="UNSIGNED-PAYLOAD"))
    else:
        plan.op += f" chunk {chunk} len {len(data)}"

        def step(ctx: Context) -> Result:
            return _send(ctx, chunked_upload(ctx, _target(ctx.bucket, plan.key), data, mode, chunk, algorithm,
                                             wrong_trailer, headers))
    plan.steps.append((plan.op, step))


# --- multipart -----------------------------------------------------------------------------


def _etag(out) -> bytes:
    return (out.get("ETag") or "").encode()


def _multipart(plan: Plan, rng: random.Random, origin: Origin) -> None:
    count = rng.randint(1, 4)
    # S3 wants parts of 5 MiB but the last: mostly small ones (then completing more than one
    # is refused, EntityTooSmall, where the origin checks), sometimes a real first part
    sizes = [rng.choice([0, 1, 100, 5000]) for _ in range(count)]
    if rng.random() < 0.2:
        sizes[0] = 5 * 1024 * 1024
    parts = {i + 1: rng.randbytes(s) for i, s in enumerate(sizes)}
    order = list(parts)
    rng.shuffle(order)
    kinds = ["boto", "boto", SIGNED] + ([UNSIGNED_TRAILER] if origin.trailers else [])
    ways = {p: rng.choice(kinds) for p in order}
    end = rng.choice(["complete", "complete", "complete", "abort", "none"])
    chosen = sorted(rng.sample(order, rng.randint(1, count)))
    wrong = rng.random() < 0.15
    missing = rng.random() < 0.1
    plan.op = f"{count} parts, {end}"

    def create(ctx: Context) -> Result:
        result, out = _boto(lambda: ctx.client.create_multipart_upload(Bucket=ctx.bucket, Key=plan.key,
                                                                       ContentType="text/mp"))
        ctx.state["upload"] = out["UploadId"] if out else "none"
        ctx.state["etags"] = {}
        return result

    plan.steps.append(("create", create))
    for p in order:
        def upload(ctx: Context, p=p) -> Result:
            if ways[p] == "boto":
                result, out = _boto(lambda: ctx.client.upload_part(Bucket=ctx.bucket, Key=plan.key, PartNumber=p,
                                                                   UploadId=ctx.state["upload"], Body=parts[p]),
                                    _etag)
                if out:
                    ctx.state["etags"][p] = out["ETag"]
                return result
            target = _target(ctx.bucket, plan.key,
                             f"partNumber={p}&uploadId={urllib.parse.quote(ctx.state['upload'], safe='')}")
            request = chunked_upload(ctx, target, parts[p], ways[p], 8192, None, False, {})
            try:
                r = _send_reading_early_answers(ctx.authority, request)
            except (OSError, http.client.HTTPException) as e:
                return Result(None, f"{type(e).__name__}: {e}")
            if 200 <= r.status < 300:
                ctx.state["etags"][p] = r.headers.get("etag", "")
                return Result(r.status, None, r.headers.get("etag", "").encode())
            return _code(r)
        plan.steps.append((f"part {p} ({ways[p]})", upload))

    plan.steps.append(("list parts", list_parts_of(plan.key)))
    if end == "complete":
        def complete(ctx: Context) -> Result:
            listed = [{"PartNumber": p, "ETag": ctx.state["etags"].get(p, '"0"')} for p in chosen]
            if wrong:
                listed[0]["ETag"] = '"00000000000000000000000000000000"'
            if missing:
                listed.append({"PartNumber": count + 1, "ETag": '"00000000000000000000000000000000"'})
            return _boto(lambda: ctx.client.complete_multipart_upload(
                Bucket=ctx.bucket, Key=plan.key, UploadId=ctx.state["upload"], MultipartUpload={"Parts": listed}),
                _etag)[0]
        plan.steps.append((f"complete {chosen}{' wrong etag' if wrong else ''}{' missing' if missing else ''}",
                           complete))
    elif end == "abort":
        plan.steps.append(("abort", lambda ctx: _boto(lambda: ctx.client.abort_multipart_upload(
            Bucket=ctx.bucket, Key=plan.key, UploadId=ctx.state["upload"]))[0]))
        plan.steps.append(("list parts after abort", list_parts_of(plan.key)))


def _code(r) -> Result:
    code = re.search(rb"<Code>([^<]*)</Code>", r.body)
    return Result(r.status, code.group(1).decode() if code else None)


# --- copy ----------------------------------------------------------------------------------


def _copy(plan: Plan, rng: random.Random, origin: Origin) -> None:
    source = rng.choice([plan.key, plan.key, "missing-" + plan.key[:20]])
    dest = plan.key if rng.random() < 0.2 else plan.key2
    params = {}
    directive = rng.choice([None, "COPY", "REPLACE", "REPLACE"])
    if directive:
        params["MetadataDirective"] = directive
    if rng.random() < 0.5:
        params["Metadata"] = {"c": meta_value(rng).replace("\t", " ").replace("é", "e").strip()}
    if rng.random() < 0.4:
        params["ContentType"] = rng.choice(["text/copied", "image/png"])
    if rng.random() < 0.3:
        body = f"body of {plan.key}".encode()
        params["CopySourceIfMatch"] = '"' + (hashlib.md5(body).hexdigest() if rng.random() < 0.6 else "0" * 32) + '"'
    if rng.random() < 0.2:
        params["CopySourceIfNoneMatch"] = '"' + hashlib.md5(f"body of {plan.key}".encode()).hexdigest() + '"'
    plan.op = f"copy {'self' if dest == source else 'to key2'} {directive}"

    def step(ctx: Context) -> Result:
        return _boto(lambda: ctx.client.copy_object(Bucket=ctx.bucket, Key=dest,
                                                    CopySource={"Bucket": ctx.bucket, "Key": source}, **params))[0]
    plan.steps.append((plan.op, step))


# --- DeleteObjects -------------------------------------------------------------------------


def _delete_objects(plan: Plan, rng: random.Random, origin: Origin) -> None:
    keys = rng.sample([plan.key, plan.key2, plan.key + "-absent"], rng.randint(1, 3))
    quiet = rng.random() < 0.4
    raw = rng.random() < 0.4
    right_md5 = rng.random() < 0.8
    plan.op = f"{'raw' if raw else 'boto'} {len(keys)} keys{' quiet' if quiet else ''}" + (
        "" if right_md5 or not raw else " wrong md5")

    def step(ctx: Context) -> Result:
        if not raw:
            return _boto(lambda: ctx.client.delete_objects(
                Bucket=ctx.bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": quiet}),
                lambda out: repr([sorted(d["Key"] for d in out.get("Deleted", [])),
                                  sorted(e["Key"] for e in out.get("Errors", []))]).encode())[0]
        body = ("<Delete>" + ("<Quiet>true</Quiet>" if quiet else "")
                + "".join(f"<Object><Key>{escape(k)}</Key></Object>" for k in keys) + "</Delete>").encode()
        headers = {"Content-MD5": content_md5(body if right_md5 else body + b" ")}
        request = sign_header(ctx.authority, "POST", f"/{ctx.bucket}?delete", headers, body, key=ctx.access_key,
                              secret=ctx.secret, region=ctx.region)
        return _send(ctx, request)
    plan.steps.append((plan.op, step))


# --- browser POST forms --------------------------------------------------------------------


def leaves_its_place(key: str) -> bool:
    """Whether a form's key begins with `/` or holds a `.` or `..` segment, which an origin
    storing keys as files resolves elsewhere: the filter refuses it (README, Browser uploads;
    authorise.rs)."""
    return key.startswith(("/", "\\")) or any(segment in (".", "..") for segment in re.split(r"[/\\]", key))


FORM_KEY_REFUSAL = ("a form key beginning with '/' or with a '.' or '..' segment", 400, "InvalidArgument")


def _post_form(plan: Plan, rng: random.Random, origin: Origin) -> None:
    plan.key = form_key(plan.key, plan.key2, origin)
    data = rng.randbytes(rng.choice([0, 1, 10, 100, 3000]))
    conditions, fields, posted = [], {}, {}
    broken = []
    if rng.random() < 0.5:
        lo, hi = rng.choice([(0, 10000), (1, 10), (50, 200), (0, 0)])
        conditions.append(["content-length-range", lo, hi])
        if not lo <= len(data) <= hi:
            broken.append("length")
    if rng.random() < 0.4:
        prefix = plan.key[: rng.randint(0, len(plan.key))]
        conditions.append(["starts-with", "$key", prefix])
        if rng.random() < 0.2:
            posted["key"] = "other-" + plan.key[:30]
            broken.append("key")
    if rng.random() < 0.5:
        fields["Content-Type"] = rng.choice(["image/png", "text/plain"])
        if rng.random() < 0.5:
            conditions.append({"Content-Type": fields["Content-Type"]})
        else:
            conditions.append(["starts-with", "$Content-Type", fields["Content-Type"].split("/")[0] + "/"])
        if rng.random() < 0.2:
            posted["Content-Type"] = "application/evil"
            broken.append("type")
    if rng.random() < 0.4:
        fields["x-amz-meta-owner"] = rng.choice(["alice", "b o b"])
        conditions.append({"x-amz-meta-owner": fields["x-amz-meta-owner"]})
    if rng.random() < 0.3:
        fields["success_action_status"] = rng.choice(["200", "201", "204"])
        conditions.append({"success_action_status": fields["success_action_status"]})
    if rng.random() < 0.15:
        posted["x-amz-meta-extra"] = "not in the policy"
        broken.append("extra field")
    v2 = rng.random() < 0.3
    plan.op = f"{'SigV2' if v2 else 'SigV4'} form {len(data)} B" + (f" breaking {broken}" if broken else "")
    plan.broken = broken
    if leaves_its_place(posted.get("key", plan.key)):
        plan.refused_by_design = FORM_KEY_REFUSAL
    if plan.key.startswith("\ufeff") and "key" not in posted:
        # Garage decodes a field by its byte-order mark: the key it would store is not the key
        # the policy was checked against (README, Browser uploads; form_head.rs)
        plan.refused_by_design = ("a form field opening with a byte-order mark", 400, "MalformedPOSTRequest")

    def step(ctx: Context) -> Result:
        client = ctx.client_v2 if v2 and ctx.client_v2 is not None else ctx.client
        form = client.generate_presigned_post(Bucket=ctx.bucket, Key=plan.key, Fields=dict(fields),
                                              Conditions=list(conditions), ExpiresIn=300)
        values = {**form["fields"], **posted}
        prepared = requests.Request("POST", form["url"], data=values,
                                    files={"file": ("f.bin", data, "application/octet-stream")}).prepare()
        request = RawRequest("POST", target_of(form["url"]), [("Content-Type", prepared.headers["Content-Type"])],
                             prepared.body)
        return _send(ctx, request)
    plan.steps.append((plan.op, step))


DRAW = {"sigv2": _sigv2, "chunked": _chunked, "multipart": _multipart, "copy": _copy,
        "delete_objects": _delete_objects, "post_form": _post_form}
