"""awscurl 0.44 (PyPI `awscurl`: a curl-like CLI on requests with a SigV4 signer of its own,
awscurl/awscurl.py; it pulls in boto3, botocore and awscrt, ~60 MB) through the proxy (a
compatibility sweep, 2026-12-07). It signs `host`, `x-amz-date`, `x-amz-content-sha256` (the
body's SHA-256, always), `content-type` and every `x-amz-*` given with `-H`; the canonical path
is the URL's path encoded once more (`quote`, `/` kept), the canonical query the URL's query
split on `&` and `=` and encoded once more. Without `-H` it sends and signs `Accept:
application/xml` and `Content-Type: application/json` (a PUT stores that type); any `-H`
replaces both. `-d @file` reads the file as UTF-8 text unless `--data-binary` is given.
Virtual-hosted requests reach Envoy as requests' HTTP proxy (`http_proxy`), or with `-H 'Host:
bucket.domain:port'`, which it signs as given. `--session_token` is signed as
`x-amz-security-token`: refused (400 InvalidToken); `--region '*'` signs SigV4a with the CRT:
refused (501 NotImplemented).

Catches, client-side (straight to the origin too): write keys and query values raw, not
percent-encoded: it encodes them again for the signature (`a%20b` is signed as `a%2520b`, 403
SignatureDoesNotMatch), so a key holding `%` cannot be named at all; a query value holding `+`,
`%`, `=` or `&` cannot be signed either (`prefix=a+b` signed as `a%2Bb`, sent as `a+b`, a
space), which rules out passing an origin's continuation token that holds them: page with
`start-after` on keys without them, or use another client. `-H` values are split on `': '`.
A binary `-d @file` without `--data-binary` fails in the client (UnicodeDecodeError)."""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.clients import REGION, xml_texts
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import environ_without_proxies
from test_post_policy import stored

AWSCURL = os.environ.get("AWSCURL") or shutil.which("awscurl") or (
    str(Path(sys.executable).parent / "awscurl") if (Path(sys.executable).parent / "awscurl").exists() else None)
pytestmark = pytest.mark.skipif(AWSCURL is None, reason="awscurl is not installed: pip install awscurl==0.44 "
                                                        "(or pipx; AWSCURL=path/to/awscurl)")

KEYS = ["a b+c", "é/x (1)!*'", "~t=&;"]


def awscurl(*args: str, secret: str = CLIENT_SECRET, region: str = REGION, key: str = CLIENT_KEY,
            env: dict | None = None) -> tuple[dict, bytes]:
    """Runs awscurl with the client key pair and no AWS configuration: (headers, body)."""
    # (Names in lower case: environ_without_proxies compares them with the lowered names.)
    environ = environ_without_proxies("aws_profile", "aws_session_token", "aws_security_token", "aws_default_region",
                                      "aws_access_key_id", "aws_secret_access_key",
                                      "boto_disable_crt")  # its SigV4a needs the CRT
    environ.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, **(env or {}))
    done = subprocess.run([AWSCURL, "--service", "s3", "--region", region, "--access_key", key, "--secret_key", secret,
                           "-i", *args], env=environ, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    # `-i` prints requests' CaseInsensitiveDict of the answer's headers, a blank line, the body.
    head, _, body = done.stdout.partition(b"\n\n")
    return {k.lower(): v for k, v in ast.literal_eval(head.decode()).items()}, body


def error_code(body: bytes) -> str | None:
    """The S3 error code of an answer, if it is one."""
    return (xml_texts(body, "Code") or [None])[0] if b"<Error>" in body else None


@pytest.mark.every_origin
def test_objects(proxy, origin_s3, bucket, tmp_path):
    """PUT from a file with a signed type and metadata, GET with a `Range` (unsigned), HEAD and
    DELETE of keys full of reserved characters (written raw), path-style."""
    for key in KEYS:
        body = tmp_path / "body"
        body.write_text(f"from awscurl {key}\n")
        target = f"{proxy.endpoint}/{bucket}/{key}"
        _, answer = awscurl("-X", "PUT", "-d", f"@{body}", "-H", "Content-Type: text/x-awscurl",
                               "-H", "x-amz-meta-c: blue", target)
        assert error_code(answer) is None, (key, answer)
        assert stored(origin_s3, bucket, key) == (body.read_bytes(), "text/x-awscurl", {"c": "blue"}), key
        _, got = awscurl("-H", "Range: bytes=5-10", target)
        assert got == body.read_bytes()[5:11], key
        headers, _ = awscurl("-X", "HEAD", target)
        assert headers.get("x-amz-meta-c") == "blue", (key, headers)
        awscurl("-X", "DELETE", target)
        assert stored(origin_s3, bucket, key) is None, key


@pytest.mark.every_origin
def test_listings_and_a_binary_body(proxy, origin_s3, bucket, tmp_path):
    """ListObjectsV2 with a prefix, a delimiter, `max-keys` and `start-after`; GetBucketLocation
    (a parameter without a value); a binary PUT (`--data-binary`, no `-H`: its default
    `Content-Type: application/json`, signed, is stored)."""
    for name in ["l/a b", "l/é", "l/sub/x", "l/~t", "l/z"]:
        origin_s3.put_object(Bucket=bucket, Key=name, Body=b"x")
    base = f"{proxy.endpoint}/{bucket}"
    _, page = awscurl(f"{base}?list-type=2&prefix=l/&delimiter=/&max-keys=2")
    assert xml_texts(page, "Key") == ["l/a b"] and xml_texts(page, "Prefix") == ["l/", "l/sub/"], page
    assert xml_texts(page, "IsTruncated") == ["true"]
    _, rest = awscurl(f"{base}?list-type=2&prefix=l/&delimiter=/&start-after=l/a b")
    assert xml_texts(rest, "Key") == ["l/z", "l/~t", "l/é"] and xml_texts(rest, "Prefix")[1:] == ["l/sub/"], rest
    _, location = awscurl(f"{base}?location")
    assert b"LocationConstraint" in location, location
    data = tmp_path / "bin"
    data.write_bytes(bytes(range(256)) * 8)
    _, answer = awscurl("-X", "PUT", "--data-binary", "-d", f"@{data}", f"{base}/bin é")
    assert error_code(answer) is None, answer
    assert stored(origin_s3, bucket, "bin é")[:2] == (data.read_bytes(), "application/json")


def test_virtual_hosted(proxy, origin_s3, bucket):
    """The bucket in the host name: through Envoy as requests' HTTP proxy, and with a `Host`
    header it signs as given."""
    port = proxy.authority.rsplit(":", 1)[1]
    host = f"{bucket}.{PUBLIC_TEST_DOMAIN}"
    _, answer = awscurl("-X", "PUT", "-d", "by proxy", f"http://{host}/v 1+x",
                           env={"http_proxy": f"http://127.0.0.1:{port}"})
    assert error_code(answer) is None, answer
    assert stored(origin_s3, bucket, "v 1+x")[0] == b"by proxy"
    _, got = awscurl("-H", f"Host: {host}:{port}", f"http://127.0.0.1:{port}/v 1+x")
    assert got == b"by proxy"
    _, listing = awscurl(f"http://{host}/?list-type=2&prefix=v", env={"http_proxy": f"http://127.0.0.1:{port}"})
    assert xml_texts(listing, "Key") == ["v 1+x"]


def test_over_https(tls_proxy, origin_s3, bucket):
    """To the TLS listener, its CA through `REQUESTS_CA_BUNDLE` (awscurl has no option of its
    own for one)."""
    target = f"{tls_proxy.endpoint}/{bucket}/tls é"
    _, answer = awscurl("-X", "PUT", "-d", "over tls", target, env={"REQUESTS_CA_BUNDLE": tls_proxy.ca_bundle})
    assert error_code(answer) is None, answer
    assert stored(origin_s3, bucket, "tls é")[0] == b"over tls"


def test_what_it_signs_wrong_or_cannot_sign_is_refused(proxy, origin, origin_s3, bucket):
    """A percent-encoded key (encoded again for the signature: 403, straight too), a query value
    with `+` (403, straight too), a session token (400 InvalidToken), SigV4a (501
    NotImplemented), a wrong secret (403). Nothing stored."""
    straight = {"key": origin.access_key, "secret": origin.secret_key, "region": origin.region}
    for base, auth in ((proxy.endpoint, {}), (origin.endpoint, straight)):
        assert error_code(awscurl("-X", "PUT", "-d", "x", f"{base}/{bucket}/a%20b", **auth)[1]) == "SignatureDoesNotMatch"
        assert error_code(awscurl(f"{base}/{bucket}?list-type=2&prefix=a+b", **auth)[1]) == "SignatureDoesNotMatch"
    target = f"{proxy.endpoint}/{bucket}/refused"
    assert error_code(awscurl("--session_token", "FQoGZXIvYXdzE-token", "-X", "PUT", "-d", "x", target)[1]) == "InvalidToken"
    assert error_code(awscurl("-X", "PUT", "-d", "x", target, region="*")[1]) == "NotImplemented"
    assert error_code(awscurl("-X", "PUT", "-d", "x", target, secret="not-it")[1]) == "SignatureDoesNotMatch"
    assert stored(origin_s3, bucket, "refused") is None and stored(origin_s3, bucket, "a b") is None
