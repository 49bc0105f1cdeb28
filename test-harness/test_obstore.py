"""obstore (Python over Apache Arrow's Rust `object_store`, the signer of Arrow's Rust readers,
DataFusion and Polars) through the proxy: put/get/range/head/list/copy/delete, a multipart
upload, URLs it presigns (`sign`) fetched with `requests`, and virtual-hosted through Envoy as
its HTTP proxy. It signs every body by its SHA-256 and presigns `host` alone."""

import datetime

import pytest
import requests

from harness.clients import REGION
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from test_post_policy import stored
from test_sdk_rust import file_of

obs = pytest.importorskip("obstore", reason="obstore is not installed: make deps (test-harness/requirements.txt)")
from obstore.store import S3Store  # noqa: E402

MIB = 1024 * 1024


def store(endpoint: str, bucket: str, secret: str = CLIENT_SECRET, **options) -> "S3Store":
    return S3Store(bucket, endpoint=endpoint, access_key_id=CLIENT_KEY, secret_access_key=secret, region=REGION,
                   client_options={"allow_http": True, **options.pop("client_options", {})},
                   retry_config={"max_retries": 0, "retry_timeout": datetime.timedelta(seconds=5),
                                 "backoff": {}}, **options)


@pytest.mark.every_origin
def test_objects(proxy, origin_s3, bucket):
    st = store(proxy.endpoint, bucket)
    key = "dir/a b&c=d é.txt"
    obs.put(st, key, b"from obstore")
    assert stored(origin_s3, bucket, key)[0] == b"from obstore"
    assert bytes(obs.get(st, key).bytes()) == b"from obstore"
    assert bytes(obs.get_range(st, key, start=5, end=8)) == b"obs"
    assert obs.head(st, key)["size"] == 12
    origin_s3.put_object(Bucket=bucket, Key="dir/sub/c.txt", Body=b"x")
    assert sorted(m["path"] for m in obs.list(st, prefix="dir").collect()) == [key, "dir/sub/c.txt"]
    listed = obs.list_with_delimiter(st, prefix="dir")
    assert ([m["path"] for m in listed["objects"]], listed["common_prefixes"]) == ([key], ["dir/sub"])
    obs.copy(st, key, "dir/copy.txt")
    assert stored(origin_s3, bucket, "dir/copy.txt")[0] == b"from obstore"
    obs.rename(st, "dir/copy.txt", "dir/renamed.txt")
    assert stored(origin_s3, bucket, "dir/copy.txt") is None
    # Several keys at once: one DeleteObjects POST.
    obs.delete(st, [key, "dir/renamed.txt"])
    assert stored(origin_s3, bucket, key) is None and stored(origin_s3, bucket, "dir/renamed.txt") is None


@pytest.mark.every_origin
def test_attributes(proxy, origin_s3, bucket):
    st = store(proxy.endpoint, bucket)
    attributes = {"Content-Type": "text/x-ob", "Cache-Control": "max-age=1", "Content-Disposition": "attachment",
                  "my-meta": "v"}
    obs.put(st, "attributed.txt", b"x", attributes=attributes)
    assert stored(origin_s3, bucket, "attributed.txt") == (b"x", "text/x-ob", {"my-meta": "v"})
    assert obs.get(st, "attributed.txt").attributes == attributes


def test_conditional_puts(proxy, origin_s3, bucket):
    """What table formats commit with (Delta Lake, Iceberg through object_store): a put that
    creates only (`If-None-Match: *`), and one that replaces only the version read
    (`If-Match`). object_store signs these headers (`if-none-match`, `if-match` in its
    SignedHeaders), so they bind, and reach the origin re-signed.
    (s3s-fs alone: Garage 2.5.0 ignores both on a PUT, sent to it directly too.)"""
    st = store(proxy.endpoint, bucket)
    first = obs.put(st, "_delta_log/0.json", b"commit 0", mode="create")
    with pytest.raises(obs.exceptions.AlreadyExistsError):
        obs.put(st, "_delta_log/0.json", b"a rival commit 0", mode="create")
    assert stored(origin_s3, bucket, "_delta_log/0.json")[0] == b"commit 0"
    obs.put(st, "_delta_log/0.json", b"commit 0, replaced", mode={"e_tag": first["e_tag"]})
    with pytest.raises(obs.exceptions.PreconditionError):
        obs.put(st, "_delta_log/0.json", b"stale", mode={"e_tag": first["e_tag"]})
    assert stored(origin_s3, bucket, "_delta_log/0.json")[0] == b"commit 0, replaced"


@pytest.mark.every_origin
def test_multipart_upload(proxy, origin_s3, bucket, tmp_path):
    data = file_of(tmp_path, 11 * MIB + 1).read_bytes()
    obs.put(store(proxy.endpoint, bucket), "large.bin", data, use_multipart=True, chunk_size=5 * MIB)
    obj = origin_s3.get_object(Bucket=bucket, Key="large.bin")
    assert obj["ETag"].endswith('-3"')
    assert obj["Body"].read() == data


@pytest.mark.every_origin
def test_presigned_urls(proxy, origin_s3, bucket):
    st = store(proxy.endpoint, bucket)
    expires = datetime.timedelta(minutes=5)
    url = obs.sign(st, "PUT", "signed put é.txt", expires)
    assert "X-Amz-SignedHeaders=host&" in url
    r = requests.put(url, data=b"presigned put", timeout=30)
    assert r.status_code == 200, r.text
    assert stored(origin_s3, bucket, "signed put é.txt")[0] == b"presigned put"
    r = requests.get(obs.sign(st, "GET", "signed put é.txt", expires), timeout=30)
    assert (r.status_code, r.content) == (200, b"presigned put")
    # The URL for one key does not fetch another.
    r = requests.get(url.replace("signed%20put", "signed%20pux"), timeout=30)
    assert r.status_code == 403, r.text


def test_virtual_hosted_through_envoy_as_http_proxy(proxy, origin_s3, bucket):
    st = store(f"http://{bucket}.{PUBLIC_TEST_DOMAIN}", bucket, virtual_hosted_style_request=True,
               client_options={"proxy_url": proxy.endpoint})
    obs.put(st, "v.txt", b"virtual")
    assert stored(origin_s3, bucket, "v.txt")[0] == b"virtual"
    assert bytes(obs.get(st, "v.txt").bytes()) == b"virtual"
    assert [m["path"] for m in obs.list(st).collect()] == ["v.txt"]


def test_a_wrong_secret_is_refused(proxy, origin_s3, bucket):
    with pytest.raises(Exception, match="SignatureDoesNotMatch"):
        obs.put(store(proxy.endpoint, bucket, secret="not-the-secret"), "refused", b"x")
    assert stored(origin_s3, bucket, "refused") is None
