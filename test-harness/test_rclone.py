"""rclone (Debian's package, aws-sdk-go inside) through the proxy: copy, list, read back,
multipart, delete, over plain HTTP and over HTTPS where the listener offers h2 (Go's net/http
then speaks HTTP/2); and its presigned-request mode, which Envoy's HTTP/1 codec refuses before
any filter runs (it sends Content-Length twice; Envoy 1.40 has no option to accept that), and
which works over HTTP/2 (Go's HTTP/2 transport writes the length once)."""

import os
import shutil
import subprocess

import pytest
from botocore.exceptions import ClientError

from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET

pytestmark = pytest.mark.skipif(shutil.which("rclone") is None, reason="rclone is not installed (make deps installs it)")


def rclone(endpoint, *args: str, check: bool = True, key: str = CLIENT_KEY, secret: str = CLIENT_SECRET,
           ca: str | None = None) -> subprocess.CompletedProcess:
    # aws-sdk-go refuses AWS_CA_BUNDLE with rclone's own HTTP transport: a TLS proxy's CA
    # goes by --ca-cert.
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    env = {
        **env,
        "RCLONE_CONFIG": os.devnull,
        "RCLONE_CONFIG_EDGE_TYPE": "s3",
        "RCLONE_CONFIG_EDGE_PROVIDER": "Other",
        "RCLONE_CONFIG_EDGE_ACCESS_KEY_ID": key,
        "RCLONE_CONFIG_EDGE_SECRET_ACCESS_KEY": secret,
        "RCLONE_CONFIG_EDGE_ENDPOINT": endpoint,
        "RCLONE_CONFIG_EDGE_REGION": "us-east-1",
        "RCLONE_CONFIG_EDGE_FORCE_PATH_STYLE": "true",
    }
    done = subprocess.run(
        ["rclone", "--retries", "1", "--low-level-retries", "1", *(["--ca-cert", ca] if ca else []), *args],
        env=env, capture_output=True, text=True, timeout=120,
    )
    if check:
        assert done.returncode == 0, f"rclone {' '.join(args)}:\n{done.stderr}"
    return done


def test_rclone(public, origin, origin_s3, bucket, tmp_path):
    small = tmp_path / "small.txt"
    small.write_bytes(b"from rclone\n")
    large = tmp_path / "large.bin"
    large.write_bytes(os.urandom(6 * 1024 * 1024))

    def edge(*args: str) -> subprocess.CompletedProcess:
        with public.speaking(public.protocol_of(speaks_h2=True)):
            return rclone(public.endpoint, *args, ca=public.ca_bundle)

    edge("copyto", str(small), f"edge:{bucket}/dir/small.txt")
    edge("copyto", "--s3-upload-cutoff", "1M", "--s3-chunk-size", "5M", str(large), f"edge:{bucket}/large.bin")
    assert origin_s3.get_object(Bucket=bucket, Key="dir/small.txt")["Body"].read() == b"from rclone\n"
    assert origin_s3.get_object(Bucket=bucket, Key="large.bin")["Body"].read() == large.read_bytes()
    assert edge("cat", f"edge:{bucket}/dir/small.txt").stdout == "from rclone\n"
    back = tmp_path / "back.bin"
    edge("copyto", f"edge:{bucket}/large.bin", str(back))
    assert back.read_bytes() == large.read_bytes()
    # rclone lists with an empty `delimiter=`, which s3s-fs 0.14.1 answers with nothing even
    # directly: the proxy must list what the origin lists.
    direct = rclone(origin.endpoint, "lsf", "-R", f"edge:{bucket}", key=origin.access_key, secret=origin.secret_key)
    assert edge("lsf", "-R", f"edge:{bucket}").stdout == direct.stdout
    edge("deletefile", f"edge:{bucket}/dir/small.txt")
    with pytest.raises(ClientError):
        origin_s3.head_object(Bucket=bucket, Key="dir/small.txt")


def test_rclone_presigned_requests_are_refused_by_envoys_codec(proxy, origin_s3, bucket, tmp_path):
    """Known limitation: with --s3-use-presigned-request, rclone's upload carries two
    identical Content-Length headers; Envoy answers 400 before the filter sees the request.
    Nothing reaches the origin."""
    small = tmp_path / "small.txt"
    small.write_bytes(b"x")
    before = proxy.origin_requests()
    done = rclone(proxy.endpoint, "copyto", "--s3-no-check-bucket", "--s3-use-presigned-request", str(small),
                  f"edge:{bucket}/presigned.txt", check=False)
    assert done.returncode != 0
    assert "400 Bad Request" in done.stderr, done.stderr
    assert proxy.origin_requests() - before == 1  # rclone's HEAD probe; the upload never left Envoy
    assert "presigned.txt" not in [o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_rclone_presigned_requests_work_over_http2(h2_proxy, origin_s3, bucket, tmp_path):
    """The same mode through a listener that offers h2: Go's HTTP/2 transport writes the
    request's length once, whatever the header map holds, so Envoy's HTTP/2 codec takes it and
    the filter verifies and re-signs the presigned upload. Behind a TLS listener with h2,
    --s3-use-presigned-request works."""
    small = tmp_path / "small.txt"
    small.write_bytes(b"presigned over h2")
    presigned = 's3_resign_requests_total{kind="presigned_v4"}'
    before = h2_proxy.prometheus().get(presigned, 0)
    with h2_proxy.speaking("HTTP/2"):
        rclone(h2_proxy.endpoint, "copyto", "--s3-no-check-bucket", "--s3-use-presigned-request", str(small),
               f"edge:{bucket}/presigned.txt", ca=h2_proxy.ca_bundle)
    assert h2_proxy.prometheus().get(presigned, 0) - before == 1
    assert origin_s3.get_object(Bucket=bucket, Key="presigned.txt")["Body"].read() == b"presigned over h2"
