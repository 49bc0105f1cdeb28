"""Seeded random S3 requests a legitimate client could send, with awkward canonicalisation:
keys and query values of reserved, percent, `+`, dot-segment and Unicode characters, spelt
the ways clients encode them. Case `n` of seed `s` is always the same request (dates aside),
for the bucket it is given, so one case can be made again for another bucket and replayed.

Three kinds of case: a boto3 call (SigV4, or SigV2 where the origin takes it), a boto3
presigned URL, and a request written by hand and signed by botocore's SigV4 signers (header or
presigned), its target encoded as a client might."""

import random
import string
import urllib.parse
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from .clients import content_md5

PRINTABLE = [c for c in string.printable if c not in "\t\n\r\x0b\x0c"]
NASTY = list("+=&;%~*'()!$,:@[]{}|\\^`\"<>#? ")
FRAGMENTS = ["//", "./", "../", "/./", "/../", "..", ".", "%", "%2F", "%25", "%20", "+", "~", "a b", "  ",
             "%7E", "%7e", "&x=1", "?acl", "#frag", ";tagging", "=", "/"]
UNICODE = ["é", "e\u0301", "\u0301", "ñ", "日本", "\U0001F600", "\U00010348", "\u200b", "\ufeff", "Ω", "\u00a0",
           "\u2028", "ß", "ﬁ", "\U0001F9D1\u200d\U0001F4BB", "ï", "\u0345"]
MAX_KEY_BYTES = 1024


@dataclass(frozen=True)
class Origin:
    """What the origin under test serves as S3 does, so that every request generated is one
    whose answer straight from the origin is S3's answer."""

    # SigV2 (Garage refuses it; through the proxy it is upgraded to SigV4).
    sigv2: bool
    # A SigV2 bucket-level request (a listing, a multi-object delete) checked against the path
    # as sent, `/bucket`, while the SDKs sign `/bucket/` (s3s-fs 0.14.1, Ceph 16.2): boto3's
    # are refused.
    sigv2_bucket_as_sent: bool
    # A listing with `delimiter=` empty (s3s-fs 0.14.1 drops the connection, sent directly too).
    empty_delimiter: bool
    # It stores an object as a file named by its key (s3s-fs, MinIO): a `..` segment leaves the
    # bucket's directory (into another bucket's: the other side's), a `.` segment is dropped
    # (the key `.` is the bucket's directory: 500), a key ending in `/` is a directory (400
    # UnexpectedContent), and a key cannot be both an object and the directory of another.
    # S3 takes all four; such keys are not generated.
    keys_as_files: bool
    # The longest key it stores (S3: 1024 bytes). s3s-fs 0.14.1 writes a file per object named
    # `.bucket-<base64 of the bucket>.object-<base64 of the whole key>.metadata.json`, which
    # must fit the file system's 255 bytes: with the tests' 15-character buckets, keys of 153
    # bytes at the most (longer: 500 InternalError). Garage 2.5.0 keeps objects in LMDB, whose
    # keys (the bucket's 32-byte id and the key) are 511 bytes at the most (longer: 503).
    max_key_bytes: int
    # How it answers a browser form that its policy does not allow (a condition failed, a field
    # the policy does not name), where S3 answers 403 AccessDenied, "Invalid according to
    # Policy" (as the proxy does itself): s3s 0.14.1 400 InvalidPolicyDocument, Garage 2.5.0
    # 400 InvalidRequest ("Bad request: Key 'key' has value not allowed in policy").
    policy_refusal: tuple[int, str] = (403, "AccessDenied")
    # A browser form whose file is outside its `content-length-range`: S3 answers 400
    # EntityTooLarge or EntityTooSmall (so does the proxy), Garage 2.5.0 400 InvalidRequest.
    length_refusal: str | None = None
    # An upload whose `x-amz-checksum-*` header does not match its body: S3 answers 400
    # BadDigest (so does the proxy, which checks a signed SHA-256, SHA-512, SHA-1 or MD5 itself), Garage
    # 2.5.0 400 InvalidDigest.
    checksum_refusal: str = "BadDigest"
    # An upload refused for a wrong Content-MD5 or `x-amz-checksum-*` (400 BadDigest) has still
    # written its body over the object's bytes, its ETag and metadata kept (s3s-fs 0.14.1 writes
    # the file as the body comes and checks the digest after). The proxy checks the strongest
    # signed digest (payload SHA-256, checksum SHA-256, SHA-512, SHA-1 or MD5, Content-MD5) before the origin
    # sees the body's end; a wrong Content-MD5 beside a matching signed SHA-256 reaches it.
    writes_before_digest: bool = False
    # It answers an upload it refuses by its head (an upload id it does not know) before
    # reading the body, and closes with the body unread: the kernel resets the connection,
    # and Envoy, still sending the body, may lose the answer and answer 503 itself (s3s-fs
    # 0.14.1). A client sending straight reads the answer.
    resets_early_refusals: bool = False
    # A signature that does not match (a presigned URL sent with another value of a header it
    # signs): S3 answers 403 SignatureDoesNotMatch (so does the proxy), Garage 2.5.0 403
    # AccessDenied ("Forbidden: Invalid signature").
    signature_refusal: str = "SignatureDoesNotMatch"
    # A request sent without a header its signature signs: S3 answers 403
    # SignatureDoesNotMatch (so does the proxy), Garage 2.5.0 400 InvalidRequest.
    missing_signed_header_refusal: tuple[int, str] = (403, "SignatureDoesNotMatch")
    # Uploads whose aws-chunked body carries a trailer (Ceph 16.2 refuses them all: it
    # predates S3's flexible checksums); none are generated where it does not.
    trailers: bool = True
    # It checks an upload's `x-amz-checksum-*` header against the body (S3, s3s 0.14.1, Garage
    # 2.5.0). Ceph 16.2 predates flexible checksums and stores the body whatever the header
    # says; the proxy checks a signed SHA-256, SHA-512, SHA-1 or MD5 itself where no signed payload hash
    # binds the body (SigV4 `UNSIGNED-PAYLOAD`, SigV2), and refuses there (400 BadDigest) what
    # Ceph would store: by design, so such a wrong checksum is not generated where it does not.
    checksum_headers: bool = True
    # A presigned URL or a browser form past its expiry: S3 answers 403 AccessDenied ("Request
    # has expired", "Invalid according to Policy: Policy expired."), as the proxy does; Garage
    # 2.5.0 400 InvalidRequest ("Expiration date is in the past").
    expiry_refusal: tuple[int, str] = (403, "AccessDenied")
    # It reads a browser form's policy whose key holds a character beyond the Basic
    # Multilingual Plane, which boto3 and the JS SDK write in the JSON as a surrogate pair
    # (`\ud83d\ude00`). Ceph 16.2 does not: sent straight, such a form is refused (403
    # AccessDenied, "Policy check failed, variable not met condition: key"); through the proxy
    # with credential translation it is stored, the policy written anew in UTF-8 (found at
    # seed 20261209). Such form keys are not generated where it does not.
    escaped_astral_policy: bool = True


ORIGINS = {
    "s3s-fs": Origin(sigv2=True, sigv2_bucket_as_sent=True, empty_delimiter=False, keys_as_files=True,
                     max_key_bytes=150, policy_refusal=(400, "InvalidPolicyDocument"), writes_before_digest=True,
                     resets_early_refusals=True),
    "garage": Origin(sigv2=False, sigv2_bucket_as_sent=False, empty_delimiter=True, keys_as_files=False,
                     max_key_bytes=479, policy_refusal=(400, "InvalidRequest"),
                     length_refusal="InvalidRequest", checksum_refusal="InvalidDigest",
                     signature_refusal="AccessDenied", missing_signed_header_refusal=(400, "InvalidRequest"),
                     expiry_refusal=(400, "InvalidRequest")),
    "ceph": Origin(sigv2=True, sigv2_bucket_as_sent=True, empty_delimiter=True, keys_as_files=False,
                   max_key_bytes=1024, trailers=False, checksum_headers=False, escaped_astral_policy=False),
    # not run here yet (no `minio` binary): S3's limits, and object names as paths
    "minio": Origin(sigv2=True, sigv2_bucket_as_sent=False, empty_delimiter=True, keys_as_files=True,
                    max_key_bytes=1024),
}


@dataclass
class Case:
    seed: int
    n: int
    kind: str  # boto, presign, raw
    sigver: str  # s3v4; s3 (SigV2 header), s3-query (SigV2 presigned)
    op: str
    key: str
    key2: str
    body: bytes
    params: dict = field(default_factory=dict)  # boto and presign: the operation's parameters
    method: str = ""
    headers: dict = field(default_factory=dict)  # signed headers (raw), headers sent (presign)
    target: str = ""  # raw: the request target before signing
    presigned: bool = False  # raw: query-signed rather than header-signed
    unsigned_payload: bool = False  # raw, header-signed: UNSIGNED-PAYLOAD
    unsigned_headers: list = field(default_factory=list)  # raw: sent, not signed

    @property
    def tag(self) -> str:
        how = "presigned" if self.presigned else self.sigver
        return f"{self.kind}/{how}/{self.op}"

    @property
    def bucket_level(self) -> bool:
        return self.op in ("list", "list_objects", "list_objects_v2", "delete_objects", "post_delete")


def make_case(seed: int, n: int, bucket: str, origin: Origin) -> Case:
    rng = random.Random(f"{seed}:{n}")
    k, k2 = key(rng, origin), key(rng, origin)
    if origin.keys_as_files and _file_and_directory(k, k2):
        k2 += "_"
    kind = rng.choice(["boto", "boto", "presign", "raw", "raw", "raw"])
    sigver = "s3" if origin.sigv2 and rng.random() < 0.25 else "s3v4"
    body = rng.choice([b"", b"hello", bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))])
    case = Case(seed, n, kind, sigver, "", k, k2, body)
    {"boto": _boto, "presign": _presign, "raw": _raw}[kind](case, rng, bucket, origin)
    return case


def copy_source_refused(key: str) -> bool:
    """Whether the proxy refuses a part copy of `key` by design (SECURITY.md, class 4): a key
    holding `%`, or `+` after a `?` (Ceph decodes a part copy's source twice, reading that `+` as
    a space, and aborts on the key `%`). A CopyObject of it goes on (every origin decodes its
    source once)."""
    return "%" in key or "+" in key.partition("?")[2]


def form_key(plan_key: str, other: str, origin: Origin) -> str:
    """The key a browser form of the plan posts: `plan_key`, without the characters beyond the
    Basic Multilingual Plane where the origin misreads them in a policy
    (`Origin.escaped_astral_policy`), and never `other`, the plan's other key."""
    if origin.escaped_astral_policy:
        return plan_key
    k = "".join(c for c in plan_key if ord(c) <= 0xFFFF) or "k"
    return k + "_" if k == other else k


def _file_and_directory(k: str, k2: str) -> bool:
    """Whether one key names the other's directory (`a` and `a/b`, `a//b`): S3 holds both, an
    origin that stores keys as files cannot (the second write is answered 500)."""
    a, b = ("/".join(s for s in x.split("/") if s) for x in (k, k2))
    return a.startswith(b + "/") or b.startswith(a + "/")


BOTO_OPS = ["put_object", "get_object", "head_object", "delete_object", "delete_objects", "list_objects",
            "list_objects_v2", "copy_object"]


def _boto(case: Case, rng: random.Random, bucket: str, origin: Origin) -> None:
    case.op = rng.choice(BOTO_OPS)
    if case.op == "copy_object" and copy_source_refused(case.key):
        # Not drawn: a CopyObject of such a key was refused by the proxy until 2026-12-05 (a
        # part copy's still is), and a HEAD draws nothing more, so the cases after it stay as
        # the seeds' known cases were drawn. test_rejections.py copies such keys.
        case.op = "head_object"
    p = {"Bucket": bucket}
    if case.op == "put_object":
        p.update(Key=case.key, Body=case.body)
        if rng.random() < 0.5:
            p["ContentType"] = rng.choice(["text/plain", "text/plain; charset=utf-8", "application/octet-stream",
                                           "image/png", 'multipart/form-data; boundary="a b"', 'x/y;a=b;c="d e"'])
        if rng.random() < 0.5:
            # botocore refuses tabs and non-ASCII in metadata itself
            p["Metadata"] = {f"m{i}": meta_value(rng).replace("\t", " ").replace("é", "e")
                             for i in range(rng.randint(1, 3))}
        if rng.random() < 0.3:
            p["ContentMD5"] = content_md5(case.body)
        if rng.random() < 0.3:
            p["Tagging"] = urllib.parse.urlencode({value(rng, origin)[:20] or "t": value(rng, origin)[:20]})
    elif case.op in ("get_object", "head_object", "delete_object"):
        p["Key"] = case.key
        if case.op == "get_object" and rng.random() < 0.2:
            p["Range"] = "bytes=0-3"
        if case.op == "get_object" and rng.random() < 0.2:
            p["ResponseContentDisposition"] = f'attachment; filename="{value(rng, origin)[:30]}"'
    elif case.op == "delete_objects":
        p["Delete"] = {"Objects": [{"Key": case.key}, {"Key": case.key2}]}
    elif case.op == "list_objects":
        p.update(_list_params(rng, ["Prefix", "Delimiter", "Marker"], case.key, origin))
    elif case.op == "list_objects_v2":
        p.update(_list_params(rng, ["Prefix", "Delimiter", "StartAfter"], case.key, origin))
    elif case.op == "copy_object":
        p.update(Key=case.key2, CopySource={"Bucket": bucket, "Key": case.key})
    case.params = p


def _presign(case: Case, rng: random.Random, bucket: str, origin: Origin) -> None:
    case.op = rng.choice(["get_object", "put_object", "head_object", "delete_object", "list_objects"])
    case.method = {"put_object": "PUT", "head_object": "HEAD", "delete_object": "DELETE"}.get(case.op, "GET")
    p = {"Bucket": bucket}
    if case.op == "list_objects":
        p.update(_list_params(rng, ["Prefix", "Delimiter", "Marker"], case.key, origin))
    else:
        p["Key"] = case.key
    if case.op == "put_object" and rng.random() < 0.4:
        p["ContentType"] = case.headers["Content-Type"] = "text/plain"
    if case.op == "get_object" and rng.random() < 0.3:
        p["ResponseContentDisposition"] = f'attachment; filename="{value(rng, origin)[:30]}"'
    if case.sigver == "s3" and rng.random() < 0.5:
        case.sigver = "s3-query"
    case.params = p


def _raw(case: Case, rng: random.Random, bucket: str, origin: Origin) -> None:
    case.sigver = "s3v4"
    what = rng.choice(["get", "put", "head", "delete", "list", "list", "post_delete"])
    case.op = what
    case.presigned = rng.random() < 0.4
    qparams = []
    if what == "list":
        path = f"/{bucket}" + rng.choice(["", "/"])
        if rng.random() < 0.5:
            qparams.append(("list-type", "2"))
        names = ["prefix", "delimiter", "marker", "continuation-token", "start-after", "max-keys",
                 "encoding-type", "fetch-owner"]
        for name in rng.sample(names, rng.randint(0, 4)):
            v = {"max-keys": str(rng.randint(0, 1000)), "encoding-type": "url", "fetch-owner": "true"}.get(name) \
                or rng.choice([value(rng, origin), case.key[:rng.randint(0, 5)], "", "/"])
            if name == "delimiter" and v == "" and not origin.empty_delimiter:
                v = "/"
            qparams.append((name, v))
    elif what == "post_delete":
        path = f"/{bucket}"
        qparams.append(("delete", None))
    else:
        path = f"/{bucket}/" + path_encode(case.key, rng)
        if what == "get" and rng.random() < 0.3:
            qparams.append(("response-content-type", rng.choice(["text/plain", value(rng, origin)[:20] or "a"])))
    case.method = {"get": "GET", "put": "PUT", "head": "HEAD", "delete": "DELETE", "post_delete": "POST"}.get(
        what, "GET")
    # a parameter most origins ignore, sometimes empty
    if rng.random() < 0.2 and what in ("list", "get"):
        qparams.append(("x-id", rng.choice(["GetObject", "ListObjects", ""])))
    style = rng.choice(["sdk", "sdk", "plus", "lower", "loose"])
    q = [name if v is None else query_encode(name, rng, "sdk") + "=" + query_encode(v, rng, style)
         for name, v in qparams]
    if rng.random() < 0.3:
        rng.shuffle(q)
    case.target = path + ("?" + "&".join(q) if q else "")
    if what == "put":
        if rng.random() < 0.5:
            case.headers["x-amz-meta-a"] = meta_value(rng)
        if rng.random() < 0.3:
            case.headers["x-amz-meta-b"] = meta_value(rng)
        if rng.random() < 0.4:
            case.headers["Content-Type"] = rng.choice(["text/plain", "a/b;  c=d", 'text/html; charset="utf 8"'])
        if rng.random() < 0.3:
            case.headers["Content-MD5"] = content_md5(case.body)
        if rng.random() < 0.2:
            case.headers["x-amz-tagging"] = "a%20b=c%2Bd&e=" + urllib.parse.quote(value(rng, origin)[:10], safe="")
    elif what == "post_delete":
        case.body = (f"<Delete><Object><Key>{escape(case.key)}</Key></Object>"
                     f"<Object><Key>{escape(case.key2)}</Key></Object></Delete>").encode()
        case.headers["Content-MD5"] = content_md5(case.body)
        case.presigned = False
    else:
        case.body = b""
    # A Latin-1 value: botocore signs its UTF-8, http.client sends its Latin-1 (see `not_canonical`).
    if what == "put" and rng.random() < 0.15:
        case.headers["x-amz-meta-c"] = rng.choice(["caf\xe9", "\xa0nbsp", "\xff"])
    case.unsigned_payload = rng.random() < 0.5
    if rng.random() < 0.3:
        case.unsigned_headers.append(("User-Agent", "a  b\tc"))
        if rng.random() < 0.5:
            case.unsigned_headers.append(("User-Agent", "second"))


def _list_params(rng: random.Random, names: list[str], k: str, origin: Origin) -> dict:
    out = {}
    for name in names:
        if rng.random() < 0.5:
            out[name] = rng.choice([value(rng, origin), k[: rng.randint(0, max(1, len(k)))], "/", ""])
            if name == "Delimiter" and out[name] == "" and not origin.empty_delimiter:
                out[name] = "/"
    if rng.random() < 0.2:
        out["MaxKeys"] = rng.randint(1, 3)
    return out


def not_canonical(target: str, headers: dict) -> str | None:
    """Why a request botocore signed by hand is not signed in SigV4's canonical form, or None.
    botocore's S3 signers sign the path and query as given, while SigV4 signs each component
    decoded and encoded again (RFC 3986 unreserved characters bare, every other byte `%XX`,
    upper case), as S3, Garage and the proxy compute it: such a signature cannot verify there."""
    path, _, query = target.partition("?")
    if urllib.parse.quote(urllib.parse.unquote_to_bytes(path), safe="/~") != path:
        return "path not in canonical form"
    for param in query.split("&") if query else []:
        for part in param.split("=", 1):
            if urllib.parse.quote(urllib.parse.unquote_plus(part), safe="-_.~") != part:
                return "query not in canonical form"
    if any(ord(ch) > 127 for v in headers.values() for ch in v):
        return "header value signed as UTF-8, sent as Latin-1"
    return None


def key(rng: random.Random, origin: Origin, allow_slash_start: bool = False) -> str:
    if rng.random() < 0.05:
        # long: up to S3's 1024 bytes of UTF-8, cut to what the origin stores
        target = rng.randint(600, MAX_KEY_BYTES)
        k = ""
        while len(k.encode()) < target:
            k += rng.choice(PRINTABLE + UNICODE + NASTY)
    else:
        parts = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            pool = PRINTABLE if r < 0.35 else NASTY if r < 0.6 else FRAGMENTS if r < 0.8 else UNICODE
            parts.append(rng.choice(pool))
        k = "".join(parts)
    if rng.random() < 0.1:
        k += "/"
    if not allow_slash_start:
        k = k.lstrip("/")
    while len(k.encode()) > origin.max_key_bytes:
        k = k[:-1]
    if origin.keys_as_files:
        # dot segments respelt, a trailing `/` dropped (see `Origin.keys_as_files`)
        k = "/".join(s + "_" if s in (".", "..") else s for s in k.split("/")).rstrip("/")
    return k or "k"


def value(rng: random.Random, origin: Origin) -> str:
    """A query or form value: empty, or a key-like string (prefixes and markers name keys)."""
    if rng.random() < 0.15:
        return ""
    return key(rng, origin, allow_slash_start=True)[:60]


def meta_value(rng: random.Random) -> str:
    """A metadata header value as a client may send it (no CR/LF)."""
    return rng.choice(["plain", "two  spaces", "tab\there", " lead", "trail ", "a\t\tb", "x,y", "é-utf8", 'q"uote',
                       "semi;colon", "eq=al", "mixed \t space", "", "   many   inner   spaces   "])


def query_encode(s: str, rng: random.Random, style: str) -> str:
    """A query component encoded the way some client would."""
    if style == "sdk":
        return urllib.parse.quote(s, safe="-_.~")
    if style == "plus":
        return urllib.parse.quote_plus(s, safe="-_.~")
    if style == "lower":
        return _lower_hex(urllib.parse.quote(s, safe="-_.~"))
    # loose: sub-delimiters left bare where a URL allows them
    return urllib.parse.quote(s, safe="-_.~!$'()*,:@/")


def path_encode(k: str, rng: random.Random) -> str:
    """A key in a path, encoded the way some client would."""
    style = rng.choice(["sdk", "sdk", "sdk", "all", "lower", "loose"])
    if style == "sdk":
        return urllib.parse.quote(k, safe="/~")
    if style == "all":
        return urllib.parse.quote(k, safe="")  # `/` as %2F too
    if style == "lower":
        return _lower_hex(urllib.parse.quote(k, safe="/~"))
    return urllib.parse.quote(k, safe="/~!$&'()*+,;=:@")


def _lower_hex(q: str) -> str:
    out, i = [], 0
    while i < len(q):
        if q[i] == "%" and i + 2 < len(q):
            out.append("%" + q[i + 1:i + 3].lower())
            i += 3
        else:
            out.append(q[i])
            i += 1
    return "".join(out)
