"""The AWS CLI through the proxy: high-level `aws s3` commands and `aws s3api`."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from harness.clients import RawRequest, send
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET


# The core client matrix: every test here runs against every origin kind.
pytestmark = pytest.mark.every_origin


@pytest.fixture
def aws(proxy, tmp_path):
    config = tmp_path / "aws-config"
    config.write_text("[default]\ns3 =\n    addressing_style = path\n    signature_version = s3v4\n")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": CLIENT_KEY,
        "AWS_SECRET_ACCESS_KEY": CLIENT_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
    }
    cli = str(Path(sys.executable).parent / "aws")

    def run(*args: str) -> str:
        done = subprocess.run(
            [cli, "--endpoint-url", proxy.endpoint, *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"aws {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    return run


def test_s3_commands(aws, origin_s3, tmp_path):
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    aws("s3", "mb", f"s3://{bucket}")
    small = tmp_path / "small file.txt"
    small.write_bytes(b"small\n")
    large = tmp_path / "large.bin"
    large.write_bytes(os.urandom(9 * 1024 * 1024))  # past the CLI's 8 MiB multipart threshold

    aws("s3", "cp", str(small), f"s3://{bucket}/docs/small file.txt")
    aws("s3", "cp", str(large), f"s3://{bucket}/large.bin")
    listing = aws("s3", "ls", "--recursive", f"s3://{bucket}")
    assert "docs/small file.txt" in listing and "large.bin" in listing
    assert origin_s3.get_object(Bucket=bucket, Key="large.bin")["Body"].read() == large.read_bytes()

    back = tmp_path / "back.bin"
    aws("s3", "cp", f"s3://{bucket}/large.bin", str(back))
    assert back.read_bytes() == large.read_bytes()

    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "sub" / "b c.txt").write_text("b")
    aws("s3", "sync", str(tree), f"s3://{bucket}/tree")
    keys = {o["Key"] for o in origin_s3.list_objects_v2(Bucket=bucket, Prefix="tree/")["Contents"]}
    assert keys == {"tree/a.txt", "tree/sub/b c.txt"}

    aws("s3", "rm", "--recursive", f"s3://{bucket}")
    aws("s3", "rb", f"s3://{bucket}")
    assert bucket not in [b["Name"] for b in origin_s3.list_buckets()["Buckets"]]


def test_s3api_and_presign(aws, proxy, origin_s3, bucket, tmp_path):
    body = tmp_path / "body"
    body.write_bytes(b"via s3api")
    aws("s3api", "put-object", "--bucket", bucket, "--key", "k&ey=1", "--body", str(body), "--content-type", "text/x")
    listed = json.loads(aws("s3api", "list-objects-v2", "--bucket", bucket))
    assert [o["Key"] for o in listed["Contents"]] == ["k&ey=1"]
    out = tmp_path / "out"
    meta = json.loads(aws("s3api", "get-object", "--bucket", bucket, "--key", "k&ey=1", str(out)))
    assert meta["ContentType"] == "text/x"
    assert out.read_bytes() == b"via s3api"

    url = aws("s3", "presign", f"s3://{bucket}/k&ey=1", "--expires-in", "300").strip()
    assert url.startswith(proxy.endpoint)
    r = send(proxy.authority, RawRequest("GET", url[len(proxy.endpoint):]))
    assert (r.status, r.body) == (200, b"via s3api")
