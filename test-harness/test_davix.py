"""davix 0.8.4 (Debian `davix`: CERN's HTTP/WebDAV/S3 toolkit in C++, used by ROOT, gfal2 and
XRootD; its own SigV2 and SigV4 signers, neon as its HTTP client) through the proxy (a
compatibility sweep, 2026-12-07). SigV2 is a header signature over the `x-amz-*` headers it
sends; with `--s3region` it signs SigV4 as a presigned URL on every request (`X-Amz-Expires=3600`,
`UNSIGNED-PAYLOAD`, `SignedHeaders` `host` and each `x-amz-*` given with `-H`), never a header
signature. `davix-put` uploads in one PUT up to 512 MiB, above that (or with `#forceMultiPart`
after the URL) as a multipart upload in 256 MiB parts: `POST ?uploads=`, `PUT
?uploadId=…&partNumber=N`, `POST ?uploadId=…` with a body it does not sign. `davix-mv` is a
CopyObject (`x-amz-copy-source`, signed) and a DeleteObject. `davix-ls` lists with `prefix`,
`delimiter` and `max-keys` and follows no page: `--s3-maxkeys N` lists N entries, and of 1,005
keys Ceph's 1,000-key page is all it lists, straight to the origin as well. Path-style with `--s3alternate`; virtual-hosted through a SOCKS5 proxy
(`--proxy socks5://…`, its only proxy kind: neon ignores `http_proxy`, and its libcurl back end
(`DAVIX_USE_LIBCURL`) fails here to "load certificate" on plain HTTP).

Catches, client-side: its SigV4 signs the path as written in the URL, not as S3 encodes it, so
a sub-delimiter left raw in a key (`+`, `(`, `)`, `!`, `*`, `'`, `=`, `,`, `:`, `@`, `;`, `$`)
is refused 403 `SignatureDoesNotMatch` (at Garage and Ceph too, straight; s3s-fs takes it):
write keys in the URL percent-encoded as S3 encodes them (`a%2Bb`, `a%20b`, `%C3%A9`; its
SigV2 takes either). `davix-mv` signs its DELETE with SigV2 even under `--s3region` (Garage
needs `origin_signature_version: v4`), sends a GET presigned with an empty key id and region
`null` (refused 400 `AuthorizationQueryParametersError`; 403 straight) and exits 255 when it
moved the object. `--s3token` is refused (400 `InvalidToken`). `--s3-listing flat` heads the
prefix first (`HEAD /bucket/p/`), which s3s-fs answers 500 straight too. Over TLS its
`--capath` takes a hashed directory (`openssl rehash`), not a file."""

import shutil
import socket
import struct
import subprocess
import threading
from urllib.parse import quote

import pytest

from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import environ_without_proxies
from test_post_policy import stored

pytestmark = pytest.mark.skipif(shutil.which("davix-put") is None,
                                reason="davix is not installed: apt-get install -y davix")


def _pipe(a, b):
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


class Socks5:
    """A SOCKS5 server (no authentication, CONNECT only) on 127.0.0.1 that connects every
    connection to Envoy's port, whatever host the client names (kept in `names`)."""

    def __init__(self, target_port: int):
        self.target_port, self.names = target_port, []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client):
        try:
            _, n = _exact(client, 2)
            _exact(client, n)
            client.sendall(b"\x05\x00")
            atyp = _exact(client, 4)[3]
            if atyp == 3:
                self.names.append(_exact(client, _exact(client, 1)[0]).decode())
            else:
                _exact(client, 4 if atyp == 1 else 16)
            _exact(client, 2)
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", self.target_port))
        except OSError:
            client.close()
            return
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        _pipe(client, upstream)

    def close(self):
        self.server.close()


KEYS = ["a b", "é/ü", "~tilde", "dir/x y.txt", "100%", "a+b", "x (1)!*'=,;:@$&"]


def davix(tool: str, *args: str, secret: str = CLIENT_SECRET, sigv4: bool = True, key: str = CLIENT_KEY,
          region: str = "us-east-1", check: bool = True) -> subprocess.CompletedProcess:
    """Runs `davix-<tool>` with the client key pair (SigV4 unless `sigv4=False`), no retries."""
    auth = ["--s3accesskey", key, "--s3secretkey", secret, "--retry", "0"]
    if sigv4:
        auth += ["--s3region", region]
    done = subprocess.run([f"davix-{tool}", *auth, *args], env=environ_without_proxies(), capture_output=True,
                          timeout=60)
    if check:
        assert done.returncode == 0, (tool, args, done.stdout[-2000:], done.stderr[-2000:])
    return done


def url(proxy, bucket: str, key: str = "") -> str:
    """An `s3://` (or `s3s://`) path-style URL of the proxy's: the key encoded as S3 encodes it."""
    scheme = "s3s" if proxy.endpoint.startswith("https") else "s3"
    return f"{scheme}://{proxy.authority}/{bucket}/{quote(key, safe='/~')}"


def refused(done: subprocess.CompletedProcess, status: int) -> bool:
    return done.returncode != 0 and f"HTTP {status}".encode() in done.stderr


def proxy_for(origin, proxy, make_proxy, sigv4: bool, mv: bool = False):
    """Garage takes SigV4 only: the filter re-signs davix's SigV2 as SigV4 for it (`davix-mv`
    signs its DELETE with SigV2 even when given `--s3region`)."""
    return make_proxy(origin_signature_version="v4") if origin.kind == "garage" and (mv or not sigv4) else proxy


@pytest.mark.every_origin
@pytest.mark.parametrize("sigv4", [False, True], ids=["sigv2", "sigv4"])
def test_objects(proxy, origin, make_proxy, origin_s3, bucket, tmp_path, sigv4):
    """PUT with a signed `x-amz-meta-*` and an unsigned `Content-Type`, GET, a ranged GET, a
    listing of a prefix, a copy (`davix-mv`) and DELETE of keys that need encoding."""
    proxy = proxy_for(origin, proxy, make_proxy, sigv4, mv=True)
    p = "--s3alternate"
    for key in KEYS:
        body = tmp_path / "body"
        body.write_bytes(f"davix {key}".encode())
        davix("put", p, "-H", "x-amz-meta-c: blue", "-H", "Content-Type: text/x-davix", str(body),
              url(proxy, bucket, key), sigv4=sigv4)
        assert stored(origin_s3, bucket, key) == (body.read_bytes(), "text/x-davix", {"c": "blue"}), key
        assert davix("get", p, url(proxy, bucket, key), sigv4=sigv4).stdout == body.read_bytes()
        ranged = davix("http", p, "-H", "Range: bytes=1-3", url(proxy, bucket, key), sigv4=sigv4).stdout
        assert ranged == body.read_bytes()[1:4], key
    listed = davix("ls", p, url(proxy, bucket, "dir/"), sigv4=sigv4).stdout.decode().splitlines()
    assert listed == ["x y.txt"]
    # davix-mv copies, sends a GET presigned with an empty key id and region "null" (refused:
    # 400 here, 403 straight), deletes (signed SigV2 whatever `--s3region` says), and exits 255
    # either way.
    davix("mv", p, url(proxy, bucket, "a b"), url(proxy, bucket, "moved é"), sigv4=sigv4, check=False)
    assert stored(origin_s3, bucket, "moved é")[0] == b"davix a b"
    assert stored(origin_s3, bucket, "a b") is None
    for key in KEYS[1:] + ["moved é"]:
        davix("rm", p, url(proxy, bucket, key), sigv4=sigv4)
        assert stored(origin_s3, bucket, key) is None, key


@pytest.mark.every_origin
@pytest.mark.parametrize("sigv4", [False, True], ids=["sigv2", "sigv4"])
def test_a_multipart_upload(proxy, origin, make_proxy, origin_s3, bucket, tmp_path, sigv4):
    """`#forceMultiPart`: CreateMultipartUpload, one UploadPart, CompleteMultipartUpload (its
    XML body unsigned under SigV4's `UNSIGNED-PAYLOAD`)."""
    proxy = proxy_for(origin, proxy, make_proxy, sigv4)
    body = tmp_path / "big"
    body.write_bytes(bytes(range(256)) * 4096 * 3)
    davix("put", "--s3alternate", str(body), url(proxy, bucket, "mp x.bin") + "#forceMultiPart", sigv4=sigv4)
    assert stored(origin_s3, bucket, "mp x.bin")[0] == body.read_bytes()


def test_virtual_hosted_through_a_socks5_proxy(proxy, origin_s3, bucket, tmp_path):
    """The bucket in the host name (`bucket.s3.mydomain.test:port`), reached through a SOCKS5
    proxy that connects every name to Envoy, SigV2 and SigV4."""
    socks = Socks5(int(proxy.authority.rsplit(":", 1)[1]))
    try:
        base = f"s3://{bucket}.{PUBLIC_TEST_DOMAIN}:{socks.target_port}"
        for sigv4 in (False, True):
            body = tmp_path / "v"
            body.write_bytes(b"virtual %d" % sigv4)
            target = f"{base}/v%20{int(sigv4)}.txt"
            davix("put", "--proxy", f"socks5://127.0.0.1:{socks.port}", str(body), target, sigv4=sigv4)
            assert stored(origin_s3, bucket, f"v {int(sigv4)}.txt")[0] == body.read_bytes()
            got = davix("get", "--proxy", f"socks5://127.0.0.1:{socks.port}", target, sigv4=sigv4).stdout
            assert got == body.read_bytes()
        assert f"{bucket}.{PUBLIC_TEST_DOMAIN}" in socks.names
    finally:
        socks.close()


def test_over_https(tls_proxy, origin_s3, bucket, tmp_path):
    """`s3s://` to the TLS listener, its CA given as a hashed directory (`--capath`)."""
    capath = tmp_path / "ca"
    capath.mkdir()
    shutil.copy(tls_proxy.ca_bundle, capath / "ca.pem")
    subprocess.run(["openssl", "rehash", str(capath)], check=True, capture_output=True)
    body = tmp_path / "body"
    body.write_bytes(b"over tls")
    for sigv4 in (False, True):
        target = url(tls_proxy, bucket, f"tls é {int(sigv4)}")
        davix("put", "--s3alternate", "--capath", str(capath), str(body), target, sigv4=sigv4)
        assert davix("get", "--s3alternate", "--capath", str(capath), target, sigv4=sigv4).stdout == b"over tls"
    assert stored(origin_s3, bucket, "tls é 1")[0] == b"over tls"


@pytest.mark.every_origin
def test_what_it_signs_wrong_or_cannot_sign_is_refused(proxy, origin, origin_s3, bucket, tmp_path):
    """A key with `+` or `(`: its SigV4 signs the path as sent (refused 403, as at S3 and
    Garage and Ceph; s3s-fs takes it straight), while its SigV2 is right; `--s3token` (400
    `InvalidToken`, SigV2 header and SigV4 query); a wrong secret (403). Nothing stored."""
    body = tmp_path / "body"
    body.write_bytes(b"x")
    p = "--s3alternate"
    for key in ("a+b", "x(1)"):  # raw in the URL: `%2B`, `%28`, `%29` are signed right
        raw = url(proxy, bucket) + key
        assert refused(davix("put", p, str(body), raw, check=False), 403), key
        straight = davix("put", p, str(body), url(origin, bucket) + key, key=origin.access_key,
                         secret=origin.secret_key, region=origin.region, check=False)
        assert straight.returncode == 0 if origin.kind == "s3s-fs" else refused(straight, 403)
        origin_s3.delete_object(Bucket=bucket, Key=key)
    for sigv4 in (False, True):
        done = davix("put", p, "--s3token", "FQoGZXIvYXdzE-token", str(body), url(proxy, bucket, f"tok{sigv4}"),
                     sigv4=sigv4, check=False)
        assert refused(done, 400), done.stderr
        assert refused(davix("put", p, str(body), url(proxy, bucket, f"w{sigv4}"), secret="not-it", sigv4=sigv4,
                             check=False), 403)
    assert "InvalidToken" in proxy.log_text()
    assert all(stored(origin_s3, bucket, k) is None for k in ("tokFalse", "tokTrue", "wFalse", "wTrue"))
