"""MinIO's Python SDK (minio-py) through the proxy: objects, a multipart fput_object, presigned
GET and PUT URLs, and a presigned_post_policy form posted with `requests`."""

import datetime
import io

import pytest
import requests
from minio import Minio
from minio.datatypes import PostPolicy

from harness.clients import REGION
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET
from harness.programs import URL_ENCODED_LISTING
from test_post_policy import post, stored
from test_sdk_rust import file_of

pytestmark = pytest.mark.every_origin

MIB = 1024 * 1024


@pytest.fixture
def mc(proxy):
    # With the region given, minio-py asks no bucket location; with a host that is not AWS's,
    # it addresses buckets path-style.
    return Minio(proxy.authority, CLIENT_KEY, CLIENT_SECRET, secure=False, region=REGION)


def test_objects(mc, origin_s3, bucket):
    key = "dir/a b&c=d.txt"
    mc.put_object(bucket, key, io.BytesIO(b"from minio-py"), 13, content_type="text/x-mc", metadata={"m": "1"})
    assert stored(origin_s3, bucket, key) == (b"from minio-py", "text/x-mc", {"m": "1"})
    with mc.get_object(bucket, key) as r:
        assert r.data == b"from minio-py"
    stat = mc.stat_object(bucket, key)
    assert (stat.size, stat.content_type, stat.metadata["x-amz-meta-m"]) == (13, "text/x-mc", "1")
    assert [o.object_name for o in mc.list_objects(bucket, prefix="dir/")] == [key]
    mc.remove_object(bucket, key)
    assert stored(origin_s3, bucket, key) is None


def test_listing_keys_with_a_plus(mc, origin_s3, bucket, origin_deviation):
    """minio-py lists with encoding-type=url and decodes the keys ("+" is a space)."""
    origin_deviation(URL_ENCODED_LISTING)
    for key in ("dir/a+b.txt", "dir/sub/c.txt"):
        origin_s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    assert [o.object_name for o in mc.list_objects(bucket, prefix="dir/")] == ["dir/a+b.txt", "dir/sub/"]
    assert [o.object_name for o in mc.list_objects(bucket, recursive=True)] == ["dir/a+b.txt", "dir/sub/c.txt"]


def test_multipart_fput_object(mc, origin_s3, bucket, tmp_path):
    path = file_of(tmp_path, 11 * MIB)
    mc.fput_object(bucket, "large.bin", str(path), part_size=5 * MIB)
    obj = origin_s3.get_object(Bucket=bucket, Key="large.bin")
    assert obj["ETag"].endswith('-3"')
    assert obj["Body"].read() == path.read_bytes()


def test_presigned_urls(mc, origin_s3, bucket):
    expires = datetime.timedelta(minutes=5)
    r = requests.put(mc.presigned_put_object(bucket, "presigned.txt", expires), data=b"presigned put", timeout=30)
    assert r.status_code == 200, r.text
    assert stored(origin_s3, bucket, "presigned.txt")[0] == b"presigned put"
    r = requests.get(mc.presigned_get_object(bucket, "presigned.txt", expires), timeout=30)
    assert (r.status_code, r.content) == (200, b"presigned put")


def test_presigned_post_policy(mc, proxy, origin_s3, bucket):
    policy = PostPolicy(bucket, datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5))
    policy.add_starts_with_condition("key", "uploads/")
    policy.add_content_length_range_condition(1, 1024)
    fields = mc.presigned_post_policy(policy)
    r = post(proxy, {"url": f"{proxy.endpoint}/{bucket}", "fields": fields}, b"posted by a form",
             extra_fields={"key": "uploads/form.txt"}, content_type="text/plain")
    assert r.status_code == 204, r.text
    assert stored(origin_s3, bucket, "uploads/form.txt")[0] == b"posted by a form"
