"""s3fs-fuse 1.90 (Debian `s3fs`: C++, its own SigV4 signer over libcurl, a FUSE mount of a
bucket) through the proxy: files written (small, and one of 11 MiB in 5 MiB parts: a
multipart upload), read back after a remount, listed, `mkdir`, `mv` (a copy and a delete at
S3), `chmod` (a metadata copy), a symlink, `truncate`, xattrs (`use_xattr`: an
`x-amz-meta-xattr` header), `rm`, `rmdir`, names with a space, `+`, `é`, `~` and `%`;
path-style (`use_path_request_style`, `url=` the proxy) and virtual-hosted (Envoy as curl's
`http_proxy`, which libcurl honours); a wrong secret refused. Needs /dev/fuse and
`fusermount` (root, or a user in group `fuse`): skipped otherwise."""

import os
import shutil
import subprocess
import time

import pytest

from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import environ_without_proxies, key_file

pytestmark = pytest.mark.skipif(
    shutil.which("s3fs") is None or shutil.which("fusermount") is None or not os.access("/dev/fuse", os.R_OK | os.W_OK),
    reason="s3fs-fuse or FUSE is not available: apt-get install -y s3fs, and /dev/fuse",
)

MIB = 1024 * 1024
NAMES = ["a b.txt", "a+b.txt", "é.txt", "x~y.txt", "p%20q.txt"]


class S3fs:
    """A mount of `bucket` at `tmp_path/mnt`, in the foreground, unmounted on exit (also when
    a step fails)."""

    def __init__(self, tmp_path, endpoint, bucket, vhost=False, key=CLIENT_KEY, secret=CLIENT_SECRET,
                 region="us-east-1", *extra, auth="sigv4"):
        self.dir = tmp_path / "mnt"
        self.dir.mkdir(exist_ok=True)
        passwd = key_file(tmp_path, key, secret)
        self.env = environ_without_proxies()
        url = endpoint
        # multipart_threshold=5 is refused by 1.90 ("must be at least 5242880, was: 5242880")
        options = [f"passwd_file={passwd}", f"endpoint={region}", auth, "retries=1", "connect_timeout=5",
                   "readwrite_timeout=10", "stat_cache_expire=1", "multipart_size=5", "multipart_threshold=6",
                   "use_xattr", "dbglevel=info", "curldbg"]
        if vhost:
            self.env["http_proxy"] = endpoint
            url = f"http://{PUBLIC_TEST_DOMAIN}"
        else:
            options.append("use_path_request_style")
        options.append(f"url={url}")
        self.command = ["s3fs", bucket, str(self.dir), "-f", "-o", ",".join(options + list(extra))]
        self.log = tmp_path / "s3fs.log"
        self.process = None

    def __enter__(self):
        self.logfile = open(self.log, "w")
        self.process = subprocess.Popen(self.command, env=self.env, stdout=self.logfile, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not os.path.ismount(self.dir):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                if "fuse: " in self.tail() or "fusermount: " in self.tail():  # no SYS_ADMIN, no /dev/fuse access
                    pytest.skip(f"FUSE cannot mount here: {self.tail(500)}")
                raise AssertionError(f"s3fs did not mount:\n{self.tail()}")
            time.sleep(0.1)
        return self.dir

    def tail(self, n=6000):
        return self.log.read_text(errors="replace")[-n:]

    def __exit__(self, *exc):
        if os.path.ismount(self.dir):
            subprocess.run(["fusermount", "-u", str(self.dir)], capture_output=True)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            subprocess.run(["fusermount", "-u", "-z", str(self.dir)], capture_output=True)
        self.logfile.close()


def rejections(proxy) -> int:
    return sum(v for k, v in proxy.prometheus().items() if k.startswith("s3_resign_rejections_total"))


def keys(origin_s3, bucket):
    return {o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


@pytest.mark.every_origin
@pytest.mark.parametrize("vhost", [False, True], ids=["path", "virtual"])
@pytest.mark.parametrize("auth", ["sigv4", "sigv2"])
def test_a_mounted_bucket(proxy, origin, make_proxy, origin_s3, bucket, tmp_path, auth, vhost):
    """Every step on Garage and Ceph. s3s-fs 0.14.1 takes `PUT dir/` (s3fs' `mkdir`) but then
    answers `HEAD dir` and `HEAD dir/` 500, straight too: the directory steps are left out
    there. `truncate` on an open file (`ftruncate`): `truncate(2)` of a file nothing holds open
    uploads zeros in 1.90, straight too (s3fs-fuse PR #2931)."""
    if auth == "sigv2" and origin.kind == "garage":  # Garage refuses SigV2: upgraded
        proxy = make_proxy(origin_signature_version="v4")
    dirs = origin.kind != "s3s-fs"
    refused = rejections(proxy)
    big = os.urandom(11 * MIB + 1)
    mount = S3fs(tmp_path, proxy.endpoint, bucket, vhost, auth=auth)
    with mount as d:
        for name in NAMES:
            (d / name).write_bytes(name.encode())
        (d / "big.bin").write_bytes(big)  # a multipart upload
        if dirs:
            os.mkdir(d / "dir")
            (d / "dir" / "f").write_bytes(b"f")
        os.rename(d / "a b.txt", d / "moved.txt")
        os.chmod(d / "a+b.txt", 0o600)
        os.symlink("é.txt", d / "link")
        with open(d / "x~y.txt", "r+b") as f:
            f.truncate(3)
        os.setxattr(d / "é.txt", "user.k", b"v v")
        with open(d / "p%20q.txt", "ab") as f:
            f.write(b"+more")
    log = mount.tail(10**9)
    host = f"Host: {bucket}.{PUBLIC_TEST_DOMAIN}" if vhost else f"Host: localhost:{proxy.port}"
    assert host in log
    assert ("Authorization: AWS4-HMAC-SHA256 " if auth == "sigv4" else "Authorization: AWS CLIENTKEY:") in log
    names = {"moved.txt", "a+b.txt", "é.txt", "x~y.txt", "p%20q.txt", "big.bin", "link"}
    if origin.kind != "s3s-fs":  # s3s-fs answers encoding-type=url listings unencoded
        assert keys(origin_s3, bucket) == names | ({"dir/", "dir/f"} if dirs else set())
    head = origin_s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == len(big) and head["ETag"].endswith('-2"')  # 5 MiB, then 6 MiB + 1
    assert int(origin_s3.head_object(Bucket=bucket, Key="a+b.txt")["Metadata"]["mode"]) & 0o777 == 0o600
    assert "xattr" in origin_s3.head_object(Bucket=bucket, Key="é.txt")["Metadata"]
    with mount as d:
        assert set(os.listdir(d)) == names | ({"dir"} if dirs else set())
        assert (d / "big.bin").read_bytes() == big
        assert (d / "moved.txt").read_bytes() == b"a b.txt"
        assert (d / "é.txt").read_bytes() == "é.txt".encode()
        assert (d / "x~y.txt").read_bytes() == b"x~y"
        assert (d / "p%20q.txt").read_bytes() == b"p%20q.txt+more"
        assert os.stat(d / "a+b.txt").st_mode & 0o777 == 0o600
        assert os.readlink(d / "link") == "é.txt"
        assert os.getxattr(d / "é.txt", "user.k") == b"v v"
        if dirs:
            assert os.listdir(d / "dir") == ["f"]
            os.remove(d / "dir" / "f")
            os.rmdir(d / "dir")
        for name in os.listdir(d):
            os.remove(d / name)
        assert os.listdir(d) == []
    assert keys(origin_s3, bucket) == set()
    assert rejections(proxy) == refused


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket, tmp_path):
    refused = rejections(proxy)
    mount = S3fs(tmp_path, proxy.endpoint, bucket, False, CLIENT_KEY, "not-the-secret")
    with pytest.raises(AssertionError, match="did not mount"):
        with mount:
            pass
    assert "403" in mount.tail() and rejections(proxy) > refused
    assert keys(origin_s3, bucket) == set()
