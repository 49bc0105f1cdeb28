"""Apache OpenDAL (its Python binding; the signer is its `reqsign` crate) through the proxy:
write/read/stat/list/delete, a write in parts (multipart upload), and the URLs it presigns
(read, write, stat) fetched with `requests`. It sends `UNSIGNED-PAYLOAD` and signs
`content-length`, which the filter carries to the origin as signed."""

import asyncio

import pytest
import requests

from harness.clients import REGION
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET
from test_post_policy import stored
from test_sdk_rust import file_of

opendal = pytest.importorskip("opendal", reason="opendal is not installed: make deps (test-harness/requirements.txt)")

MIB = 1024 * 1024


def options(proxy, bucket: str, secret: str = CLIENT_SECRET) -> dict:
    # No configuration files, environment or instance metadata: only these keys.
    return dict(bucket=bucket, endpoint=proxy.endpoint, region=REGION, access_key_id=CLIENT_KEY,
                secret_access_key=secret, disable_config_load="true", disable_ec2_metadata="true")


@pytest.mark.every_origin
def test_objects(proxy, origin_s3, bucket):
    op = opendal.Operator("s3", **options(proxy, bucket))
    key = "dir/a b&c=d é.txt"
    op.write(key, b"from opendal", content_type="text/x-opendal")
    assert stored(origin_s3, bucket, key)[:2] == (b"from opendal", "text/x-opendal")
    assert bytes(op.read(key)) == b"from opendal"
    assert op.stat(key).content_length == 12
    origin_s3.put_object(Bucket=bucket, Key="dir/sub/c.txt", Body=b"x")
    assert sorted(e.path for e in op.list("dir/")) == [key, "dir/sub/"]
    op.delete(key)
    assert stored(origin_s3, bucket, key) is None


@pytest.mark.every_origin
def test_write_in_parts(proxy, origin_s3, bucket, tmp_path):
    data = file_of(tmp_path, 11 * MIB + 1).read_bytes()
    op = opendal.Operator("s3", **options(proxy, bucket))
    with op.open("large.bin", "wb", chunk=5 * MIB) as f:
        f.write(data)
    obj = origin_s3.get_object(Bucket=bucket, Key="large.bin")
    assert obj["ETag"].endswith('-3"')
    assert obj["Body"].read() == data


@pytest.mark.every_origin
def test_presigned_urls(proxy, origin_s3, bucket):
    op = opendal.AsyncOperator("s3", **options(proxy, bucket))

    async def presign():
        return (await op.presign_write("presigned é.txt", 300), await op.presign_read("presigned é.txt", 300),
                await op.presign_stat("presigned é.txt", 300))

    put, get, head = asyncio.run(presign())
    r = requests.put(put.url, data=b"presigned put", headers=dict(put.headers), timeout=30)
    assert r.status_code == 200, r.text
    assert stored(origin_s3, bucket, "presigned é.txt")[0] == b"presigned put"
    r = requests.get(get.url, headers=dict(get.headers), timeout=30)
    assert (r.status_code, r.content) == (200, b"presigned put")
    r = requests.head(head.url, headers=dict(head.headers), timeout=30)
    assert (r.status_code, r.headers["Content-Length"]) == (200, "13")
    # A URL presigned for reading does not write.
    r = requests.put(get.url, data=b"overwritten", timeout=30)
    assert r.status_code == 403, r.text
    assert stored(origin_s3, bucket, "presigned é.txt")[0] == b"presigned put"


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket):
    op = opendal.Operator("s3", **options(proxy, bucket, secret="not-the-secret"))
    with pytest.raises(Exception, match="SignatureDoesNotMatch"):
        op.write("refused", b"x")
    assert stored(origin_s3, bucket, "refused") is None
