"""Apache Libcloud 3.4.1 (Debian's python3-libcloud, for Debian's Python; its storage drivers
for S3-compatible stores, with a SigV4 signer of its own, `AWSRequestSignerAlgorithmV4`, and
a SigV2 one that puts `AWSAccessKeyId`/`Expires`/`Signature` in the query of every request)
through the proxy (a compatibility sweep, 2026-12-07). A client script, run by the system's
Python, drives `Provider.S3` (SigV4, `region` from Libcloud's list of AWS regions) and
`Provider.S3_RGW` with `signature_version="2"`; path-style only (Libcloud writes
`/bucket/key` whatever the host).

What it signs: every header it set (`host` with the port, `x-amz-date`,
`x-amz-content-sha256`, `content-type`, `x-amz-meta-*`), `UNSIGNED-PAYLOAD` for a file or a
stream, a part's SHA-256; every GET carries `Version=2006-03-01` in its query. A listing pages
by `marker` (the last key), 1000 keys a page.

Client-side catches, asserted here: `get_object_cdn_url` signs `host` without the port but
writes the port into the URL (refused, at every origin too: it works on 80/443 only);
`Provider.MINIO` signs an empty region (400 AuthorizationHeaderMalformed; s3s-fs and Ceph take
it straight); the SigV2 driver does not sign sub-resources (`?uploads`), so its multipart
uploads (every `upload_object_via_stream`) are refused, straight too; a session token is
refused (400 InvalidToken). s3s-fs 0.14.1 lists objects without an ETag, which Libcloud cannot
read (straight too). An empty file goes out chunked without a length: through the proxy it is
stored (`content-length: 0`), straight to s3s-fs and Ceph 16 it is refused (411)."""

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET
from harness.programs import LISTING_WITHOUT_ETAG, environ_without_proxies, results_ok as ok
from test_post_policy import stored

# Debian's Libcloud is installed for Debian's Python, not the tests' virtual environment.
SYSTEM_PYTHON = "/usr/bin/python3"
MIB = 1024 * 1024


def libcloud_missing() -> str | None:
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"{SYSTEM_PYTHON} is not installed"
    done = subprocess.run([SYSTEM_PYTHON, "-c", "import libcloud.storage.drivers.s3"], capture_output=True, timeout=60)
    return None if done.returncode == 0 else "Apache Libcloud does not import in the system's Python"


_missing = libcloud_missing()
pytestmark = pytest.mark.skipif(
    _missing is not None, reason=f"{_missing}: apt-get install -y python3-libcloud (Apache Libcloud)"
)

# The client: a JSON program on stdin ({driver, host, port, key, secret, region, token, ops}),
# every operation run (an error is a result), one JSON object out: `results` and the
# `requests` sent (op index, method, query, status).
CLIENT = r'''
import json, os, sys, tempfile
import libcloud.common.base as base
from libcloud.storage.providers import get_driver
from libcloud.storage.types import Provider

REQUESTS, OP = [], [0]
_request = base.Connection.request

def request(self, action, params=None, data=None, headers=None, method="GET", **kw):
    r = _request(self, action, params=params, data=data, headers=headers, method=method, **kw)
    REQUESTS.append({"op": OP[0], "method": method, "action": action,
                     "params": {k: str(v) for k, v in (params or {}).items()}, "status": r.status})
    return r

base.Connection.request = request
p = json.load(sys.stdin)
kw = dict(secure=False, host=p["host"], port=p["port"])
if p["driver"] == "s3":
    d = get_driver(Provider.S3)(p["key"], p["secret"], region=p.get("region", "us-east-1"), token=p.get("token"), **kw)
elif p["driver"] == "minio":
    d = get_driver(Provider.MINIO)(p["key"], p["secret"], **kw)
else:
    d = get_driver(Provider.S3_RGW)(p["key"], p["secret"], region=p.get("region", "us-east-1"),
                                    signature_version=p["driver"][-1], **kw)
tmp = tempfile.mkdtemp()
results = []

def extra(a):
    e = {}
    if len(a) > 3 and a[3]:
        e["content_type"] = a[3]
    if len(a) > 4 and a[4]:
        e["meta_data"] = a[4]
    return e

for i, (name, *a) in enumerate(p["ops"]):
    OP[0] = i
    try:
        if name == "list_containers":
            v = sorted(c.name for c in d.list_containers())
        elif name == "create_container":
            v = d.create_container(a[0]).name
        elif name == "delete_container":
            v = d.delete_container(d.get_container(a[0]))
        elif name == "upload":  # bucket key body [type meta]
            path = os.path.join(tmp, "up")
            with open(path, "wb") as f:
                f.write(a[2].encode())
            v = d.upload_object(path, d.get_container(a[0]), a[1], extra=extra(a)).hash
        elif name == "upload_stream":  # bucket key size [type meta]
            data = (bytes(range(251)) * (a[2] // 251 + 1))[:a[2]]
            chunks = iter([data[j:j + 65536] for j in range(0, a[2], 65536)])
            v = d.upload_object_via_stream(chunks, d.get_container(a[0]), a[1], extra=extra(a)).hash
        elif name == "get_object":
            o = d.get_object(a[0], a[1])
            v = {"size": o.size, "hash": o.hash, "content_type": o.extra.get("content_type"), "meta": o.meta_data}
        elif name == "download":
            path = os.path.join(tmp, "down")
            d.download_object(d.get_object(a[0], a[1]), path, overwrite_existing=True)
            v = open(path, "rb").read().decode("latin-1")
        elif name == "range":  # bucket key start end (end exclusive)
            v = b"".join(d.download_object_range_as_stream(d.get_object(a[0], a[1]), a[2], a[3])).decode("latin-1")
        elif name == "range_file":
            path = os.path.join(tmp, "range")
            d.download_object_range(d.get_object(a[0], a[1]), path, a[2], a[3], overwrite_existing=True)
            v = open(path, "rb").read().decode("latin-1")
        elif name == "list":  # bucket prefix
            v = [o.name for o in d.list_container_objects(d.get_container(a[0]), prefix=a[1])]
        elif name == "delete":
            v = d.delete_object(d.get_object(a[0], a[1]))
        elif name == "cdn_url":
            v = d.get_object_cdn_url(d.get_object(a[0], a[1]))
        else:
            raise SystemExit("unknown op " + name)
        results.append({"ok": v})
    except Exception as e:
        results.append({"error": str(e)[:400], "type": type(e).__name__})
print(json.dumps({"results": results, "requests": REQUESTS}))
'''


@pytest.fixture(scope="module")
def client_script(tmp_path_factory):
    path = tmp_path_factory.mktemp("libcloud") / "libcloud_client.py"
    path.write_text(CLIENT)
    return path


def run(script, where, *ops, driver="s3", **settings) -> dict:
    """Runs the operations with Libcloud against `where` (the proxy, with the client pair, or an
    origin, with its own pair and region)."""
    if hasattr(where, "access_key"):
        # (`Provider.S3` takes only AWS's regions, not Garage's: `Provider.S3_RGW`, the same signer.)
        program = dict(host="127.0.0.1", port=where.port, key=where.access_key, secret=where.secret_key,
                       region=where.region)
        driver = "rgw4" if driver == "s3" and where.region != "us-east-1" else driver
    else:
        program = dict(host="localhost", port=where.port, key=CLIENT_KEY, secret=CLIENT_SECRET)
    program.update(driver=driver, ops=[list(op) for op in ops], **settings)
    done = subprocess.run([SYSTEM_PYTHON, str(script)], input=json.dumps(program), capture_output=True, text=True,
                          timeout=120, env=environ_without_proxies())
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout)


def statuses(out: dict, op: int) -> list[int]:
    return [r["status"] for r in out["requests"] if r["op"] == op]


KEYS = ["a b.txt", "a+b", "é/ü", "~t", "a=b", "%41", "dir/x (1)!*'.txt", "q?x#h"]


@pytest.mark.every_origin
def test_objects(proxy, origin, origin_s3, bucket, client_script):
    """Buckets listed (as straight: Garage's list is empty to Libcloud either way), created and
    deleted; for each key an upload from a file (UNSIGNED-PAYLOAD) with a type and metadata, its
    HEAD (`extra`, `meta_data`), a download, a range as a stream, a delete; an empty file
    (chunked, no length: stored through the proxy). Libcloud writes `a//b` as `a/b`, straight
    too."""
    new = bucket.replace("t-", "n-")
    ops = [("list_containers",), ("create_container", new), ("delete_container", new)]
    for key in KEYS:
        ops += [("upload", bucket, key, f"body {key}", "text/x-lc", {"colour": "blue"}), ("get_object", bucket, key),
                ("download", bucket, key), ("range", bucket, key, 1, 4)]
    ops += [("upload", bucket, "empty", ""), ("upload", bucket, "x//y", "slashes")]
    results = ok(run(client_script, proxy, *ops))
    assert results[0] == ok(run(client_script, origin, ("list_containers",)))[0] and new not in results[0]
    assert stored(origin_s3, bucket, "x/y")[0] == b"slashes"
    for i, key in enumerate(KEYS):
        body = f"body {key}".encode()
        got = results[3 + 4 * i: 7 + 4 * i]
        assert got[1] == {"size": len(body), "hash": got[0], "content_type": "text/x-lc", "meta": {"colour": "blue"}}, key
        assert (got[2], got[3]) == (body.decode("latin-1"), "ody"), key
        assert stored(origin_s3, bucket, key) == (body, "text/x-lc", {"colour": "blue"}), key
    assert stored(origin_s3, bucket, "empty")[0] == b""
    results = ok(run(client_script, proxy, *[("delete", bucket, key) for key in KEYS]))
    assert results == [True] * len(KEYS)
    assert all(stored(origin_s3, bucket, key) is None for key in KEYS)


@pytest.mark.every_origin
def test_listing_in_pages(proxy, origin, origin_s3, bucket, client_script, origin_deviation):
    """A prefix with a space (sent as `+`), and 1,003 keys in two pages, the second asked for with
    a `marker` that holds a space, `+`, UTF-8, `~`, `=` and `%`. (Libcloud decodes a short
    listing with the charset `requests` guesses for `application/xml`: `é` may come back as
    `Ã©`, straight too.)"""
    origin_deviation(LISTING_WITHOUT_ETAG)
    for name in ("l/a b", "l/a+b", "l/é", "m/x"):
        origin_s3.put_object(Bucket=bucket, Key=name, Body=b"x", ContentType="text/plain")
    out = run(client_script, proxy, ("list", bucket, "l/"), ("list", bucket, "l/a "))
    assert "ok" in out["results"][0], out["results"]
    listed = ok(out)
    assert listed == ok(run(client_script, origin, ("list", bucket, "l/"), ("list", bucket, "l/a ")))
    assert listed[0][:2] == ["l/a b", "l/a+b"] and len(listed[0]) == 3 and listed[1] == ["l/a b"]
    names = [f"p/{i:04d}" + (" a+b é~=%" if i == 999 else "") for i in range(1003)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: origin_s3.put_object(Bucket=bucket, Key=n, Body=b"x", ContentType="text/plain"), names))
    out = run(client_script, proxy, ("list", bucket, "p/"))
    assert ok(out) == [names]
    assert [r["params"].get("marker") for r in out["requests"] if r["method"] == "GET"] == [None, names[999]]


@pytest.mark.every_origin
def test_multipart_upload(proxy, origin_s3, bucket, client_script):
    """`upload_object_via_stream`: always S3's multipart upload, 5 MiB parts signed by their
    SHA-256 with `Content-MD5`; a ranged download across a part boundary."""
    size = 11 * MIB + 1
    out = run(client_script, proxy, ("upload_stream", bucket, "big é.bin", size, "application/x-big", {"m": "1"}),
              ("get_object", bucket, "big é.bin"), ("range_file", bucket, "big é.bin", 5 * MIB - 2, 5 * MIB + 2))
    _, head, part = ok(out)  # (Ceph 16 answers the completion with an empty ETag: COMPLETION_ETAG)
    assert head["hash"].endswith("-3") and head["size"] == size and head["meta"] == {"m": "1"}
    data = (bytes(range(251)) * (size // 251 + 1))[:size]
    assert part == data[5 * MIB - 2: 5 * MIB + 2].decode("latin-1")
    obj = origin_s3.get_object(Bucket=bucket, Key="big é.bin")
    assert (obj["ContentType"], obj["Metadata"], obj["Body"].read() == data) == ("application/x-big", {"m": "1"}, True)


@pytest.mark.every_origin
def test_sigv2_driver(proxy, origin, origin_s3, bucket, client_script, make_proxy):
    """`Provider.S3_RGW` with `signature_version="2"`: every request a SigV2 query signature
    (Garage, which has no SigV2, through `origin_signature_version: v4`). Its multipart upload
    signs `/bucket/key` without `?uploads`: refused, nothing stored."""
    through = make_proxy(origin_signature_version="v4") if origin.kind == "garage" else proxy
    key = "v2 +é.txt"
    out = run(client_script, through, ("upload", bucket, key, "by SigV2", "text/x-v2", {"c": "red"}),
              ("get_object", bucket, key), ("download", bucket, key), ("range", bucket, key, 3, 8),
              ("upload_stream", bucket, "v2-multipart", 10), driver="rgw2")
    assert all("ok" in r for r in out["results"][:4]), out["results"]
    assert out["results"][1]["ok"]["meta"] == {"c": "red"} and out["results"][3]["ok"] == "SigV2"
    assert stored(origin_s3, bucket, key) == (b"by SigV2", "text/x-v2", {"c": "red"})
    assert "SignatureDoesNotMatch" in out["results"][4]["error"]
    assert stored(origin_s3, bucket, "v2-multipart") is None
    assert all("AWSAccessKeyId=" not in r["action"] for r in out["requests"])
    ok(run(client_script, through, ("delete", bucket, key), driver="rgw2"))
    assert stored(origin_s3, bucket, key) is None


def test_what_it_signs_wrong_is_refused(proxy, origin, origin_s3, bucket, client_script):
    """A session token (400 InvalidToken), `Provider.MINIO`'s empty region (400
    AuthorizationHeaderMalformed), a wrong secret, and `get_object_cdn_url`, which signs `host`
    without the port the URL carries: refused, as the same URL is by the origin; sent with
    `Host: localhost`, what it signed, it is served."""
    origin_s3.put_object(Bucket=bucket, Key="k é", Body=b"cdn", ContentType="text/plain")
    out = run(client_script, proxy, ("upload", bucket, "tok", "x"), token="FQoGZXIvYXdzEXAMPLE")
    assert set(statuses(out, 0)) == {400} and stored(origin_s3, bucket, "tok") is None
    assert "InvalidToken" in proxy.log_text()
    out = run(client_script, proxy, ("upload", bucket, "minio", "x"), driver="minio")
    assert set(statuses(out, 0)) == {400} and stored(origin_s3, bucket, "minio") is None
    assert "AuthorizationHeaderMalformed" in proxy.log_text()
    out = run(client_script, proxy, ("upload", bucket, "wrong", "x"), secret="not-the-secret")
    assert "SignatureDoesNotMatch" in out["results"][0]["error"] and stored(origin_s3, bucket, "wrong") is None
    [url] = ok(run(client_script, proxy, ("cdn_url", bucket, "k é")))
    assert f"localhost:{proxy.port}/" in url and "X-Amz-SignedHeaders=host" in url
    assert requests.get(url, timeout=30).status_code == 403
    assert requests.get(url, headers={"Host": "localhost"}, timeout=30).content == b"cdn"
    [straight] = ok(run(client_script, origin, ("cdn_url", bucket, "k é")))
    assert requests.get(straight, timeout=30).status_code == 403
