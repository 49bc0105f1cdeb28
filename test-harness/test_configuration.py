"""The filter's configuration contract, exercised through Envoy: what starts, what Envoy
refuses (and what it logs), and how each setting changes what reaches the origin."""

import pytest
from botocore.exceptions import ClientError

from harness import Envoy, render
from harness.clients import RawRequest, presign, s3_client, send, sign_header
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, ORIGIN_KEY, ORIGIN_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import FOREIGN_REGION, EnvoyExited


def test_the_reference_configuration_with_secrets_from_the_environment(origin, bucket, origin_s3):
    """envoy/envoy.yaml as shipped: secrets come from Envoy's environment."""
    env = {"S3_RESIGN_CLIENT_SECRET": CLIENT_SECRET, "S3_RESIGN_ORIGIN_SECRET": ORIGIN_SECRET}
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config=None)
    with Envoy(config, env=env) as envoy:
        s3_client(envoy.endpoint).put_object(Bucket=bucket, Key="env", Body=b"from env")
    assert origin_s3.get_object(Bucket=bucket, Key="env")["Body"].read() == b"from env"


def test_the_python_proxy_environment(origin, bucket, origin_s3):
    """An empty configuration reads the variables of the proxy s3-resign replaces."""
    env = {
        "PUBLIC_DOMAINS": "s3.mydomain.com, localhost",
        "ORIGIN_DOMAIN": origin.authority,
        "AWS_REGION": "us-east-1",
        "CLIENT_ACCESS_KEY": "LEGACYKEY",
        "CLIENT_SECRET_KEY": "legacy-secret",
        "ORIGIN_ACCESS_KEY": ORIGIN_KEY,
        "ORIGIN_SECRET_KEY": ORIGIN_SECRET,
    }
    config = render(origin_host="127.0.0.1", origin_port=origin.port, filter_config="", env_keys=list(env))
    with Envoy(config, env=env) as envoy:
        s3_client(envoy.endpoint, "LEGACYKEY", "legacy-secret").put_object(Bucket=bucket, Key="legacy", Body=b"l")
    assert origin_s3.get_object(Bucket=bucket, Key="legacy")["Body"].read() == b"l"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"origin_authority": "https://s3.example.com"}, "origin_authority"),
        ({"public_domains": []}, "public_domains"),
        ({"public_domains": ["localhost", "https://s3.mydomain.com"]}, "public_domains[1]"),
        # A bucket's virtual-hosted name under the first: a signature for it could mean either.
        ({"public_domains": ["mydomain.test", "files.mydomain.test"]}, "public_domains[1]"),
        ({"chunk_memory_budget_bytes": 1}, "chunk_memory_budget_bytes"),
        ({"credentials": []}, "credentials"),
        ({"credentials": [{"access_key_id": "K"}]}, "credentials[0].secret_access_key"),
        ({"credentials": [{"access_key_id": "K", "secret_access_key_env": "UNSET_VAR"}]}, "credentials[0].secret_access_key_env"),
        ({"anonymous": "allow"}, "anonymous"),
        ({"max_clock_skew_seconds": "soon"}, "max_clock_skew_seconds"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_invalid_configuration_stops_envoy_and_names_the_field(origin, make_proxy, overrides, field):
    with pytest.raises(EnvoyExited) as e:
        make_proxy(**overrides)
    assert f"invalid configuration: {field}:" in e.value.log
    assert CLIENT_SECRET not in e.value.log and ORIGIN_SECRET not in e.value.log


def test_configuration_errors_do_not_log_secrets(origin, make_proxy):
    bad = [{"access_key_id": "K", "secret_access_key": "hunter2-secret", "secret_access_key_env": "X"}]
    with pytest.raises(EnvoyExited) as e:
        make_proxy(credentials=bad)
    assert "credentials[0].secret_access_key" in e.value.log
    assert "hunter2-secret" not in e.value.log


@pytest.mark.every_origin
def test_origin_region_replaces_the_clients(make_proxy, origin, bucket, origin_s3):
    """Clients sign for whatever region they are set to; the origin gets its own."""
    envoy = make_proxy(origin_region=origin.region)
    eu = s3_client(envoy.endpoint, region="eu-west-3")
    eu.put_object(Bucket=bucket, Key="regional", Body=b"r")
    assert origin_s3.get_object(Bucket=bucket, Key="regional")["Body"].read() == b"r"


@pytest.mark.every_origin
def test_the_origin_refuses_another_region(make_proxy, origin, bucket, origin_s3, origin_deviation):
    """What `origin_region` is for: re-signed for a region that is not the origin's, a valid
    request is refused by the origin, as S3 refuses it, and nothing is stored."""
    origin_deviation(FOREIGN_REGION)
    envoy = make_proxy(origin_region="eu-north-1")
    try:
        s3_client(envoy.endpoint).put_object(Bucket=bucket, Key="misdirected", Body=b"r")
        status = 200
    except ClientError as e:
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
    assert status in (400, 403), f"{origin.kind} took a request signed for another region"
    with pytest.raises(ClientError):
        origin_s3.head_object(Bucket=bucket, Key="misdirected")


def test_several_key_pairs(make_proxy, bucket, origin_s3):
    credentials = [
        {"access_key_id": "ALICE", "secret_access_key": "alice-secret",
         "origin_access_key_id": ORIGIN_KEY, "origin_secret_access_key": ORIGIN_SECRET},
        {"access_key_id": "BOB", "secret_access_key": "bob-secret",
         "origin_access_key_id": ORIGIN_KEY, "origin_secret_access_key": ORIGIN_SECRET},
        # No origin pair: the client's own pair is used at the origin.
        {"access_key_id": ORIGIN_KEY, "secret_access_key": ORIGIN_SECRET},
    ]
    envoy = make_proxy(credentials=credentials)
    for key, secret in (("ALICE", "alice-secret"), ("BOB", "bob-secret"), (ORIGIN_KEY, ORIGIN_SECRET)):
        s3_client(envoy.endpoint, key, secret).put_object(Bucket=bucket, Key=key, Body=key.encode())
        assert origin_s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    with pytest.raises(ClientError) as e:
        s3_client(envoy.endpoint, "ALICE", "bob-secret").put_object(Bucket=bucket, Key="x", Body=b"x")
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_anonymous_forward_passes_unsigned_requests_only(make_proxy, bucket):
    envoy = make_proxy(anonymous="forward")
    before = envoy.origin_requests()
    r = send(envoy.authority, RawRequest("GET", f"/{bucket}/public-object"))
    # The origin answered (it has no public buckets): the request went through unsigned.
    assert envoy.origin_requests() == before + 1
    assert r.status in (403, 404)
    # Signed requests are still verified.
    with pytest.raises(ClientError) as e:
        s3_client(envoy.endpoint, CLIENT_KEY, "wrong").list_objects_v2(Bucket=bucket)
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert envoy.origin_requests() == before + 1


def test_anonymous_forward_lets_no_one_choose_the_answers_headers(make_proxy, bucket):
    """S3 takes `response-content-type` and its kin only on signed requests: unsigned, an origin
    honouring them would serve a public object as an HTML page of the public domain; Ceph
    refuses them with a 200 head and then a 400 on a connection Envoy shares (RT60,
    2026-12-05). Refused as S3 refuses them, before the origin; signed, they pass."""
    envoy = make_proxy(anonymous="forward")
    before = envoy.origin_requests()
    for query in ("response-content-type=text/html", "response-content-disposition=inline&x=1"):
        r = send(envoy.authority, RawRequest("GET", f"/{bucket}/public-object?{query}"))
        assert r.status == 400 and b"<Code>InvalidRequest</Code>" in r.body, r.body
        assert b"anonymous GET requests" in r.body
    assert envoy.origin_requests() == before
    envoy_s3 = s3_client(envoy.endpoint)
    envoy_s3.put_object(Bucket=bucket, Key="page.txt", Body=b"<b>hi</b>")
    got = envoy_s3.get_object(Bucket=bucket, Key="page.txt", ResponseContentType="text/plain; charset=utf-8")
    assert got["ContentType"] == "text/plain; charset=utf-8"


def test_anonymous_forward_passes_no_other_service(make_proxy, bucket):
    """MinIO and Ceph answer STS on the S3 port, authenticated by a web identity token or an
    LDAP password in the query or a urlencoded body, and Ceph Swift, by its own credentials:
    with `anonymous: forward` such a request would buy origin credentials from the public
    endpoint, or let anyone guess passwords through it. None reaches the origin, signed or
    not."""
    envoy = make_proxy(anonymous="forward")
    before = envoy.origin_requests()
    form = [("content-type", "application/x-www-form-urlencoded")]
    for method, path, headers, body, status, code in [
        ("POST", "/?Action=AssumeRoleWithWebIdentity&WebIdentityToken=t&Version=2011-06-15", form, b"",
         400, "InvalidArgument"),
        ("POST", "/", form, b"Action=AssumeRoleWithLDAPIdentity&LDAPUsername=u&LDAPPassword=p", 400, "InvalidRequest"),
        ("POST", f"/{bucket}/k", form, b"Action=AssumeRoleWithWebIdentity&WebIdentityToken=t", 400, "InvalidRequest"),
        ("GET", f"/{bucket}/k?Action=AssumeRoleWithWebIdentity", [], b"", 400, "InvalidArgument"),
        # Swift's names, `auth` and `swift`, are refused as buckets; its credentials on any.
        ("GET", "/auth/v1.0", [("X-Auth-User", "t:u"), ("X-Auth-Key", "guess")], b"", 400, "InvalidBucketName"),
        ("GET", f"/{bucket}/v1.0", [("X-Auth-User", "t:u"), ("X-Auth-Key", "guess")], b"", 403, "AccessDenied"),
        ("PUT", "/swift/v1/c/o", [("X-Auth-Token", "AUTH_rgwtk0")], b"x", 400, "InvalidBucketName"),
        ("PUT", f"/{bucket}/v1/c/o", [("X-Auth-Token", "AUTH_rgwtk0")], b"x", 403, "AccessDenied"),
        ("GET", f"/{bucket}/v1/AUTH_a/c/o?temp_url_sig=00&temp_url_expires=1", [], b"", 400,
         "AuthorizationQueryParametersError"),
    ]:
        r = send(envoy.authority, RawRequest(method, path, headers, body))
        assert r.status == status and f"<Code>{code}</Code>".encode() in r.body, (method, path, r.body)
    # Signed, the logins are refused all the same: MinIO would check the password and ignore
    # the signature.
    sts = "/?Action=AssumeRoleWithLDAPIdentity&LDAPUsername=u&LDAPPassword=p&Version=2011-06-15"
    r = send(envoy.authority, sign_header(envoy.authority, "POST", sts, {}, b""))
    assert r.status == 400 and b"<Code>InvalidArgument</Code>" in r.body, r.body
    body = b"Action=AssumeRoleWithLDAPIdentity&LDAPUsername=u&LDAPPassword=p&Version=2011-06-15"
    r = send(envoy.authority, sign_header(envoy.authority, "POST", "/", dict(form), body))
    assert r.status == 400 and b"<Code>InvalidRequest</Code>" in r.body, r.body
    assert envoy.origin_requests() == before
    # An S3 POST names its operation: it still goes on, for the origin to judge.
    r = send(envoy.authority, RawRequest("POST", f"/{bucket}/k?uploads"))
    assert envoy.origin_requests() == before + 1 and r.status == 403


def test_minios_own_apis_and_cephs_zone_requests_are_not_served(make_proxy, bucket):
    """MinIO serves its admin, KMS, metrics and node APIs under the bucket name it keeps,
    `minio` (admin S3-signed, some node APIs unsigned: the bootstrap check of CVE-2023-28432),
    and Ceph lets a system user's request act as any user with `rgwx-uid`: a client key
    translated to a powerful origin key, or `anonymous: forward`, would reach them. Refused in
    either bucket style, signed or not, before the origin. So is S3 Express's CreateSession,
    which would answer credentials of the origin's key."""
    envoy = make_proxy(anonymous="forward")
    before = envoy.origin_requests()
    virtual = f"minio.{PUBLIC_TEST_DOMAIN}"
    for authority, request, status, code in [
        (envoy.authority, RawRequest("POST", "/minio/bootstrap/v1/verify?x"), 400, "InvalidBucketName"),
        (envoy.authority, RawRequest("GET", "/minio/v2/metrics/cluster"), 400, "InvalidBucketName"),
        (envoy.authority, sign_header(envoy.authority, "GET", "/minio/admin/v3/info"), 400, "InvalidBucketName"),
        (envoy.authority, presign(envoy.authority, "PUT", "/minio/admin/v3/set-user-status?accessKey=v&status=disabled"),
         400, "InvalidBucketName"),
        (virtual, sign_header(virtual, "GET", "/admin/v3/info"), 400, "InvalidBucketName"),
        (envoy.authority, sign_header(envoy.authority, "GET", f"/{bucket}/k?rgwx-uid=victim"), 400, "InvalidArgument"),
        (envoy.authority, RawRequest("GET", f"/{bucket}/k?rgwx-uid=victim"), 400, "InvalidArgument"),
        # S3 Express's CreateSession: credentials of the origin's key (a red team, 2026-12-05).
        (envoy.authority, sign_header(envoy.authority, "GET", f"/{bucket}?session"), 400, "InvalidArgument"),
        (envoy.authority, presign(envoy.authority, "GET", f"/{bucket}?session"), 400, "InvalidArgument"),
    ]:
        r = send(authority, request, port=envoy.port)
        assert r.status == status and f"<Code>{code}</Code>".encode() in r.body, (authority, request.target, r.body)
    assert envoy.origin_requests() == before
