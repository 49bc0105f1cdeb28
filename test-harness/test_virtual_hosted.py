"""Virtual-hosted-style clients (`bucket.s3.mydomain.test/key`) through the proxy. No resolver
knows the name: the clients use Envoy as their HTTP proxy, which is how the host reaches it
unchanged. The origin gets the same bucket and key in the style it is configured for
(`origin_addressing`): path-style at an origin by address, virtual-hosted at one by name."""

import dataclasses
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from harness import Envoy, Garage, filter_config_json, origin_kinds, render, start_origin
from harness.clients import RawRequest, presign, s3_client, send, send_h2, sign_header, target_of
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN

ENDPOINT = f"http://{PUBLIC_TEST_DOMAIN}"


def virtual_client(proxy, **config):
    """boto3 addressing buckets in the host, sending through Envoy as an HTTP proxy."""
    return s3_client(ENDPOINT, s3={"addressing_style": "virtual"}, proxies={"http": proxy.endpoint}, **config)


def exercise(client, origin_s3, bucket):
    """The core operations, and what the origin holds after them."""
    client.put_object(Bucket=bucket, Key="dir/a b.txt", Body=b"virtual", Metadata={"m": "1"})
    assert origin_s3.get_object(Bucket=bucket, Key="dir/a b.txt")["Body"].read() == b"virtual"
    assert client.get_object(Bucket=bucket, Key="dir/a b.txt")["Body"].read() == b"virtual"
    assert client.head_object(Bucket=bucket, Key="dir/a b.txt")["Metadata"] == {"m": "1"}
    listed = client.list_objects_v2(Bucket=bucket, Prefix="dir/")
    assert [o["Key"] for o in listed["Contents"]] == ["dir/a b.txt"]
    upload = client.create_multipart_upload(Bucket=bucket, Key="multi")
    part = client.upload_part(Bucket=bucket, Key="multi", UploadId=upload["UploadId"], PartNumber=1, Body=b"p" * 1024)
    client.complete_multipart_upload(
        Bucket=bucket, Key="multi", UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert origin_s3.get_object(Bucket=bucket, Key="multi")["Body"].read() == b"p" * 1024
    client.delete_object(Bucket=bucket, Key="dir/a b.txt")
    with pytest.raises(ClientError):
        origin_s3.head_object(Bucket=bucket, Key="dir/a b.txt")


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_boto3_virtual_hosted_to_a_path_style_origin(proxy, origin_s3, bucket, signature_version):
    exercise(virtual_client(proxy, signature_version=signature_version), origin_s3, bucket)


def test_presigned_virtual_hosted_url(proxy, origin_s3, bucket):
    origin_s3.put_object(Bucket=bucket, Key="shared.txt", Body=b"shared")
    for version in ("s3v4", "s3"):
        url = virtual_client(proxy, signature_version=version).generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "shared.txt"}, ExpiresIn=300)
        host = f"{bucket}.{PUBLIC_TEST_DOMAIN}"
        assert url.startswith(f"http://{host}/shared.txt?"), url
        r = send(host, RawRequest("GET", url.split(host, 1)[1]), port=proxy.port)
        assert r.body == b"shared", r.body


def test_boto3_sends_a_dotted_bucket_path_style_over_https(h2_proxy, origin_s3):
    """A wildcard certificate (`*.s3.mydomain.test`) covers one label: asked for virtual-hosted
    addressing over HTTPS, boto3 puts a bucket whose name holds dots in the path, at the
    public name itself, and such a URL goes through (the other buckets stay in the host)."""
    dotted = f"dotted.{uuid.uuid4().hex[:10]}"
    origin_s3.create_bucket(Bucket=dotted)
    origin_s3.put_object(Bucket=dotted, Key="k.txt", Body=b"dotted")
    endpoint = f"https://{PUBLIC_TEST_DOMAIN}:{h2_proxy.port}"
    client = s3_client(endpoint, s3={"addressing_style": "virtual"})
    plain = client.generate_presigned_url("get_object", Params={"Bucket": "plain", "Key": "k.txt"})
    assert plain.startswith(f"https://plain.{PUBLIC_TEST_DOMAIN}:{h2_proxy.port}/k.txt?"), plain
    url = client.generate_presigned_url("get_object", Params={"Bucket": dotted, "Key": "k.txt"}, ExpiresIn=300)
    assert url.startswith(f"{endpoint}/{dotted}/k.txt?"), url
    r = send_h2(f"{PUBLIC_TEST_DOMAIN}:{h2_proxy.port}", "GET", target_of(url).encode(), h2_proxy.port,
                ca=h2_proxy.ca_bundle)
    assert (r.status, r.body) == (200, b"dotted"), r.body


def test_a_key_put_never_becomes_a_bucket_put(proxy, origin_s3, bucket):
    """`PUT /newbucket` at `<bucket>.s3.mydomain.test` stores object `newbucket` in bucket."""
    host = f"{bucket}.{PUBLIC_TEST_DOMAIN}"
    name = f"nb-{uuid.uuid4().hex[:8]}"
    r = send(host, sign_header(host, "PUT", f"/{name}", {}, b"object, not bucket"), port=proxy.port)
    assert r.status == 200, r.body
    assert origin_s3.get_object(Bucket=bucket, Key=name)["Body"].read() == b"object, not bucket"
    assert name not in [b["Name"] for b in origin_s3.list_buckets()["Buckets"]]
    # The path under a virtual-hosted bucket is all key: `/other/k` is key `other/k`.
    r = send(host, sign_header(host, "PUT", "/other/k", {}, b"nested"), port=proxy.port)
    assert r.status == 200, r.body
    assert origin_s3.get_object(Bucket=bucket, Key="other/k")["Body"].read() == b"nested"


def test_a_signature_binds_the_style(proxy, origin_s3, bucket):
    """Signed path-style, sent virtual-hosted (or the other way): another host, refused."""
    path_style = sign_header(proxy.authority, "PUT", f"/{bucket}/k", {}, b"x")
    host = f"{bucket}.localhost:{proxy.port}"
    moved = RawRequest("PUT", "/k", [(n, v) for n, v in path_style.headers if n.lower() != "host"], b"x")
    before = proxy.origin_requests()
    r = send(host, moved, port=proxy.port)
    assert r.status == 403 and b"SignatureDoesNotMatch" in r.body
    assert proxy.origin_requests() == before
    bad_bucket = send(f"Not_A_Bucket.{PUBLIC_TEST_DOMAIN}", RawRequest("GET", "/k"), port=proxy.port)
    assert bad_bucket.status == 400 and b"InvalidBucketName" in bad_bucket.body


@pytest.mark.every_origin
def test_an_escaped_path_style_bucket_is_refused(proxy, origin_s3, bucket):
    """`/%62ucket/k` is bucket `bucket` to s3s and to SigV4's canonical path, bucket `%62ucket`
    to Garage: a bucket name needs no escape, and one spelt with one is refused."""
    origin_s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    escaped = f"/%{ord(bucket[0]):02X}{bucket[1:]}/k"
    before = proxy.origin_requests()
    r = send(proxy.authority, sign_header(proxy.authority, "GET", escaped))
    assert r.status == 400 and b"InvalidBucketName" in r.body, r.body
    assert proxy.origin_requests() == before
    assert send(proxy.authority, sign_header(proxy.authority, "GET", f"/{bucket}/k")).status == 200


@pytest.mark.every_origin
def test_a_key_starting_with_a_slash_is_refused(proxy, origin_s3, bucket):
    """Found by an attack run (2026-12-01): `/b//k` and `/b/%2Fk` canonicalise alike, so one
    signature serves both, but Garage reads the first as key `k`, the second as `/k`, and
    `/b//` (DeleteObject of the key `/`) as the bucket itself. Refused in every spelling and
    style, presigned or not; a `/` inside a key still goes through."""
    origin_s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    host = f"{bucket}.{PUBLIC_TEST_DOMAIN}"
    before = proxy.origin_requests()
    for authority, port, method, path in [
        (proxy.authority, None, "GET", f"/{bucket}//k"),
        (proxy.authority, None, "GET", f"/{bucket}/%2Fk"),
        (proxy.authority, None, "PUT", f"/{bucket}/%2fk"),
        (proxy.authority, None, "DELETE", f"/{bucket}//"),
        (host, proxy.port, "DELETE", "//"),
        (host, proxy.port, "GET", "/%2Fk"),
    ]:
        for signed in (sign_header(authority, method, path), presign(authority, method, path)):
            r = send(authority, signed, port=port)
            assert r.status == 400 and b"InvalidArgument" in r.body, (method, path, r.body)
    assert proxy.origin_requests() == before
    origin_s3.head_bucket(Bucket=bucket)
    r = send(proxy.authority, sign_header(proxy.authority, "PUT", f"/{bucket}/d/k", {}, b"y"))
    assert r.status == 200, r.body
    assert origin_s3.get_object(Bucket=bucket, Key="d/k")["Body"].read() == b"y"


def test_aws_cli_virtual_hosted(proxy, origin_s3, bucket, tmp_path):
    config = tmp_path / "aws-config"
    config.write_text("[default]\ns3 =\n    addressing_style = virtual\n    signature_version = s3v4\n")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": CLIENT_KEY,
        "AWS_SECRET_ACCESS_KEY": CLIENT_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "HTTP_PROXY": proxy.endpoint,
        "NO_PROXY": "",
    }
    local = tmp_path / "cli.txt"
    local.write_bytes(b"from the cli")
    cli = str(Path(sys.executable).parent / "aws")

    def aws(*args):
        done = subprocess.run([cli, "--endpoint-url", ENDPOINT, *args], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    aws("s3", "cp", str(local), f"s3://{bucket}/cli.txt")
    assert origin_s3.get_object(Bucket=bucket, Key="cli.txt")["Body"].read() == b"from the cli"
    assert "cli.txt" in aws("s3", "ls", f"s3://{bucket}/")


@pytest.fixture(scope="module", params=origin_kinds())
def named_origin(request):
    """Each origin kind reached by name, taking virtual-hosted requests for `localhost`
    (s3s-fs's `--domain`, Garage's `root_domain`, Ceph's `rgw dns name`, `MINIO_DOMAIN`)."""
    with start_origin(request.param, domain="localhost") as o:
        yield o


@pytest.mark.parametrize("addressing", ["virtual", "preserve"])
@pytest.mark.parametrize("client_style", ["virtual", "path"])
def test_virtual_hosted_origin(named_origin, addressing, client_style):
    """`origin_addressing: virtual`: whatever the client's style, the origin gets
    `bucket.localhost:port/key`; `preserve`: the client's style. The origin checks the
    signature over that host, and the access log shows the path it got."""
    origin_authority = f"localhost:{named_origin.port}"
    config = render(
        origin_host="127.0.0.1",
        origin_port=named_origin.port,
        filter_config=filter_config_json(named_origin, origin_authority=origin_authority, origin_addressing=addressing),
    )
    origin_s3 = s3_client(f"http://{origin_authority}", named_origin.access_key, named_origin.secret_key,
                          region=named_origin.region)
    bucket = f"vo-{uuid.uuid4().hex[:10]}"
    origin_s3.create_bucket(Bucket=bucket)
    with Envoy(config) as proxy:
        client = virtual_client(proxy) if client_style == "virtual" else s3_client(proxy.endpoint)
        exercise(client, origin_s3, bucket)
        url = presign(proxy.authority, "GET", f"/{bucket}/multi")
        assert send(proxy.authority, url).body == b"p" * 1024
        # A key under MinIO's own path (its admin API, on any host) goes path-style instead,
        # an object like any other.
        client.put_object(Bucket=bucket, Key="minio/admin/v3/info", Body=b"an object")
        assert client.get_object(Bucket=bucket, Key="minio/admin/v3/info")["Body"].read() == b"an object"
        assert origin_s3.get_object(Bucket=bucket, Key="minio/admin/v3/info")["Body"].read() == b"an object"
        # So does one whose `/` is escaped: MinIO routes the decoded path when the raw one is no
        # valid encoding (a `|` in it), and `minio%2Fadmin/v3/heal/…|` reached its admin API.
        # (Signed as S3 reads it, `%2F` as `/`; botocore would sign the `%` itself.)
        signed = sign_header(proxy.authority, "PUT", f"/{bucket}/minio/admin/v3/x%7C", body=b"escaped")
        escaped = dataclasses.replace(signed, target=f"/{bucket}/minio%2Fadmin/v3/x%7C")
        assert send(proxy.authority, escaped).status == 200
        assert origin_s3.get_object(Bucket=bucket, Key="minio/admin/v3/x|")["Body"].read() == b"escaped"
    paths = {line["path"] for line in access_log(proxy) if line["method"] == "PUT"}
    in_host = addressing == "virtual" or client_style == "virtual"
    assert paths == {"/dir/a%20b.txt" if in_host else f"/{bucket}/dir/a%20b.txt", f"/{bucket}/minio/admin/v3/info",
                     f"/{bucket}/minio%2Fadmin/v3/x%7C", "/multi" if in_host else f"/{bucket}/multi"}, paths


def access_log(envoy) -> list[dict]:
    return [json.loads(line) for line in envoy.log_text().splitlines() if line.startswith("{")]


def test_a_virtual_hosted_client_reaches_the_object_at_an_origin_that_reads_paths_only():
    """Found by a new user's walk-through (2026-12-01): the README's Garage configuration, an
    origin reached by name that serves no virtual-hosted requests (no `root_domain`), and a
    virtual-hosted client. With `preserve` the default, `demo.localhost/private` went on as
    such, which Garage reads as the path-style `/private`: object requests acted on buckets.
    The default, `path`, sends `localhost/demo/private`."""
    with Garage() as garage:
        origin_authority = f"localhost:{garage.port}"
        origin_s3 = s3_client(f"http://{origin_authority}", garage.access_key, garage.secret_key, region=garage.region)
        for name in ("demo", "private", "newb"):
            origin_s3.create_bucket(Bucket=name)
        origin_s3.put_object(Bucket="private", Key="payroll.csv", Body=b"secret rows")
        origin_s3.put_object(Bucket="demo", Key="private", Body=b"the object")
        config = render(origin_host="127.0.0.1", origin_port=garage.port,
                        filter_config=filter_config_json(origin_authority, origin_region=garage.region,
                                                         credentials=[{
                                                             "access_key_id": CLIENT_KEY, "secret_access_key": CLIENT_SECRET,
                                                             "origin_access_key_id": garage.access_key,
                                                             "origin_secret_access_key": garage.secret_key}]))
        with Envoy(config) as proxy:
            client = virtual_client(proxy)
            assert client.get_object(Bucket="demo", Key="private")["Body"].read() == b"the object"
            client.delete_object(Bucket="demo", Key="newb")
            client.put_object(Bucket="demo", Key="surprise", Body=b"")
        buckets = sorted(b["Name"] for b in origin_s3.list_buckets()["Buckets"])
        assert buckets == ["demo", "newb", "private"], buckets
        keys = sorted(o["Key"] for o in origin_s3.list_objects_v2(Bucket="demo")["Contents"])
        assert keys == ["private", "surprise"], keys
