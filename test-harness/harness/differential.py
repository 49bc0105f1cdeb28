"""One generated request (`random_requests.Case`) sent two ways, and what each did: through
Envoy + filter, signed for the public host with the client's key pair, and straight to the
origin, signed for the origin's host with the origin's key pair. Each side gets a bucket of
its own holding the same objects, so that nothing one side did is seen by the other."""

import http.client
import json
import random
import re
from dataclasses import dataclass, field, replace

from botocore.exceptions import ClientError, ConnectionClosedError

from .clients import RawRequest, presign, s3_client, send, sign_header, target_of
from .random_requests import Case


@dataclass
class Side:
    """Where a request goes and whose key pair signs it."""

    name: str
    authority: str
    key: str
    secret: str
    region: str
    _clients: dict = field(default_factory=dict)

    def client(self, sigver: str):
        if sigver not in self._clients:
            self._clients[sigver] = s3_client(f"http://{self.authority}", self.key, self.secret, self.region,
                                              signature_version=sigver)
        return self._clients[sigver]


@dataclass
class Outcome:
    """What the answer says, without what names the host, the bucket or the request: status,
    S3 error code, and the bytes read back, the keys listed or the object's headers."""

    status: int | None
    code: str | None = None
    says: bytes = b""
    sent: str = ""  # the request target, for the failure message

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def run(side: Side, case: Case, sigver: str) -> Outcome:
    """Sends the case to `side` (boto3 calls with `sigver`, which is the case's unless the
    caller knows better) and says what came back."""
    if case.kind == "boto":
        return _boto_call(side.client(sigver), case)
    if case.kind == "presign":
        url = side.client(sigver).generate_presigned_url(case.op, Params=case.params, ExpiresIn=300)
        body = case.body if case.method == "PUT" else b""
        return _send(side, RawRequest(case.method, target_of(url), list(case.headers.items()), body), case)
    return _send(side, signed(side, case), case)


def signed(side: Side, case: Case) -> RawRequest:
    """A hand-made case signed for `side` by botocore's SigV4 signers, with its unsigned headers."""
    who = {"key": side.key, "secret": side.secret, "region": side.region}
    if case.presigned:
        request = replace(presign(side.authority, case.method, case.target, case.headers, **who), body=case.body)
    else:
        request = sign_header(side.authority, case.method, case.target, case.headers, case.body,
                              payload_hash="UNSIGNED-PAYLOAD" if case.unsigned_payload else None, **who)
    return replace(request, headers=request.headers + case.unsigned_headers)


def _send(side: Side, request: RawRequest, case: Case) -> Outcome:
    try:
        r = send(side.authority, request)
    except (OSError, http.client.HTTPException) as e:  # the connection closed, reset or cut short
        return Outcome(None, f"{type(e).__name__}: {e}", sent=request.target)
    code = re.search(rb"<Code>([^<]*)</Code>", r.body)
    says = r.body if case.method == "GET" else b""
    if b"<ListBucketResult" in says:
        says = json.dumps(listing(says)).encode()
    return Outcome(r.status, code.group(1).decode() if code else None, says, request.target)


def listing(body: bytes) -> list:
    """The keys, common prefixes and truncation of a listing's XML."""
    return [re.findall(pattern, body.decode("utf-8", "replace"), re.S) for pattern in (
        r"<Key>(.*?)</Key>", r"<CommonPrefixes>\s*<Prefix>(.*?)</Prefix>", r"<IsTruncated>(.*?)</IsTruncated>")]


def _boto_call(client, case: Case) -> Outcome:
    try:
        out = getattr(client, case.op)(**case.params)
    except ClientError as e:
        return Outcome(e.response["ResponseMetadata"].get("HTTPStatusCode"), e.response["Error"].get("Code"))
    except ConnectionClosedError as e:
        return Outcome(None, str(e))
    says = b""
    if case.op == "get_object":
        says = out["Body"].read()
    elif case.op.startswith("list_objects"):
        says = json.dumps([[o["Key"] for o in out.get("Contents", [])],
                           [p["Prefix"] for p in out.get("CommonPrefixes", [])], out.get("IsTruncated")]).encode()
    elif case.op == "delete_objects":
        says = json.dumps([sorted(d["Key"] for d in out.get("Deleted", [])),
                           sorted(e["Key"] for e in out.get("Errors", []))]).encode()
    elif case.op == "head_object":
        says = json.dumps([out.get("ContentType"), out.get("Metadata"), out.get("ContentLength")]).encode()
    return Outcome(out["ResponseMetadata"]["HTTPStatusCode"], None, says)


def populate(admin, bucket: str, case: Case) -> None:
    """The objects the case acts on: its key, mostly its second key too (a listing, a copy or a
    delete then meets one that exists and one that may not)."""
    rng = random.Random(f"populate:{case.seed}:{case.n}")
    for k in {case.key, case.key2} if rng.random() < 0.8 else {case.key}:
        admin.put_object(Bucket=bucket, Key=k, Body=f"body of {k}".encode(), ContentType="text/plain")


def etags(admin, bucket: str) -> dict[str, str | None]:
    """Every key in the bucket with its ETag. `admin` must list raw keys (`clients.raw_listing`).
    s3s-fs 0.14.1 lists no ETags: those are asked for one object at a time."""
    out, token = {}, None
    while True:
        page = admin.list_objects_v2(Bucket=bucket, **({"ContinuationToken": token} if token else {}))
        out.update((o["Key"], o.get("ETag")) for o in page.get("Contents", []))
        if not page.get("IsTruncated"):
            break
        token = page["NextContinuationToken"]
    for k, etag in out.items():
        if etag is None:
            try:
                out[k] = admin.head_object(Bucket=bucket, Key=k)["ETag"]
            except ClientError as e:
                out[k] = e.response["Error"]["Code"]
    return out


def stored(admin, bucket: str, case: Case) -> list:
    """What the origin holds in the bucket: every key with its ETag, and the stored type and
    metadata of the case's keys."""
    out = sorted(etags(admin, bucket).items())
    for k in (case.key, case.key2):
        try:
            head = admin.head_object(Bucket=bucket, Key=k)
            out.append((k, head.get("ContentType"), head.get("Metadata")))
        except ClientError as e:
            out.append((k, e.response["Error"]["Code"]))
    return out


def differences(direct: Outcome, proxied: Outcome, stored_direct: list, stored_proxied: list) -> list[str]:
    """How the proxy's answer and effect differ from the origin's own, if at all."""
    found = []
    if direct.status is None:
        # The origin closed the connection without an answer (s3s-fs 0.14.1 panics on a
        # listing whose delimiter has a multi-byte character that occurs in a key, s3.rs:1316):
        # through the proxy, Envoy answers the reset 503 (502 for a malformed answer).
        if proxied.status not in (502, 503):
            found.append("the origin closed the connection, the proxy answered")
    elif direct.ok and not proxied.ok:
        found.append("the proxy refused what the origin takes")
    elif proxied.ok and not direct.ok:
        found.append("the proxy passed what the origin refuses")
    elif direct.status != proxied.status:
        found.append("another status")
    elif not direct.ok and direct.code != proxied.code:
        found.append("another error code")
    if direct.ok and proxied.ok and direct.says != proxied.says:
        found.append("another answer")
    if stored_direct != stored_proxied:
        found.append("another effect on the stored objects")
    return found
