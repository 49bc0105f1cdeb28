"""Perl's AWS::Signature4 1.02 (Debian's libaws-signature4-perl: a stand-alone SigV4 signer for
LWP's HTTP::Request, `sign` and `signed_url`) through the proxy (a compatibility sweep,
2026-12-07), driven by a Perl script this file writes: path-style straight to the proxy's
port, and path-style and virtual-hosted with Envoy as LWP's `http_proxy` (the public name,
port 80).

What it signs: every header of the request when `sign` runs but `Date` (so set `Content-Type`,
`Content-Length`, `Range`, metadata first; LWP adds `User-Agent`, `TE`, `Connection` after,
unsigned), the path as written (`a//b`, `./x` kept), the query decoded and re-encoded, the
body's SHA-256 or the hash given (`UNSIGNED-PAYLOAD`). A region it cannot read from an AWS
host name is `us-east-1` unless passed to `sign`; `signed_url` always signs for `us-east-1`.

Client-side catches, asserted here: it signs `host` as the URL's host *without its port*
unless the caller sets `Host` first, and `signed_url` cannot be told, so a presigned URL works
only on ports 80/443 (refused here as at every origin; through Envoy as an HTTP proxy, on the
public name, it works); `signed_url` signs a GET whatever the request (a presigned PUT is
refused); it adds no `x-amz-content-sha256` (400 InvalidRequest until the caller sets one);
URI 5's `query_form` drops a parameter without `=` (`?location`, `?uploads`): write `?location=`;
it does not fold white space inside a quoted header value (refused, as at every origin); it
signs a repeated header as one comma-joined value but LWP sends both lines (refused, 400
InvalidArgument; Garage alone takes it straight); a session token goes into presigned URLs
only (400 InvalidToken)."""

import json
import subprocess
from urllib.parse import quote

import pytest
import requests

from harness.clients import listed_in_pages
from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import environ_without_proxies, perl_modules_missing
from test_post_policy import stored


_missing = perl_modules_missing("libaws-signature4-perl", "AWS::Signature4", "LWP::UserAgent")
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")

SCRIPT = r'''#!/usr/bin/perl
# AWS::Signature4 (Debian libaws-signature4-perl 1.02) driver for the tests: a JSON list of
# requests on stdin, each {method, url, headers: {}, body, payload: "hash"|"unsigned"|"header-hash"|"none",
# region, host_header: bool, presign: seconds (signed_url, then sent with the method/body/headers)};
# prints a JSON list of {status, body, headers: {lower-case name: value}, url, signed}.
# Env: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, http_proxy (LWP env_proxy).
use strict;
use warnings;
use JSON::PP;
use AWS::Signature4;
use HTTP::Request;
use LWP::UserAgent;
use Digest::SHA qw(sha256_hex);

local $/;
my $jobs = JSON::PP->new->utf8->decode(<STDIN>);
my $signer = AWS::Signature4->new(
  -access_key => $ENV{AWS_ACCESS_KEY_ID},
  -secret_key => $ENV{AWS_SECRET_ACCESS_KEY},
  ( $ENV{AWS_SESSION_TOKEN} ? ( -security_token => $ENV{AWS_SESSION_TOKEN} ) : () ),
);
my $ua = LWP::UserAgent->new( timeout => 30 );
$ua->env_proxy;
my @out;
for my $j ( @{$jobs} ) {
  my $body = defined $j->{body} ? $j->{body} : '';
  utf8::encode($body) if utf8::is_utf8($body);
  my ( $req, $url, $signed );
  if ( $j->{presign} ) {
    $url = $signer->signed_url( $j->{url}, $j->{presign} );
    $req = HTTP::Request->new( $j->{method}, $url );
    while ( my ( $k, $v ) = each %{ $j->{headers} || {} } ) { $req->header( $k => $v ) }
    $req->content($body);
  }
  else {
    $req = HTTP::Request->new( $j->{method}, $j->{url} );
    while ( my ( $k, $v ) = each %{ $j->{headers} || {} } ) { $req->header( $k => $v ) }
    $req->content($body);
    $req->header( 'Content-Length' => length $body ) if length $body || $j->{method} =~ /^(PUT|POST)$/;
    if ( $j->{host_header} ) {
      my $u = $req->uri;
      $req->header( Host => $u->host . ( $u->port != $u->default_port ? ':' . $u->port : '' ) );
    }
    my $p = $j->{payload} // 'header-hash';
    my $hash;
    if ( $p eq 'header-hash' ) { $req->header( 'X-Amz-Content-SHA256' => sha256_hex($body) ) }
    elsif ( $p eq 'unsigned' ) {
      $req->header( 'X-Amz-Content-SHA256' => 'UNSIGNED-PAYLOAD' );
      $hash = 'UNSIGNED-PAYLOAD';
    }
    $signer->sign( $req, $j->{region}, $hash );
    ($signed) = ( $req->header('Authorization') // '' ) =~ /SignedHeaders=([^,]+)/;
    if ( defined $j->{tamper} ) { $req->content( $j->{tamper} ); $req->header( 'Content-Length' => length $j->{tamper} ) }
    $url = $req->uri;
  }
  my $res = $ua->request($req);
  my %h;
  for my $n ( $res->headers->header_field_names ) { $h{ lc $n } = scalar $res->header($n) }
  push @out, { status => $res->code + 0, body => substr( $res->content // '', 0, 2000 ), headers => \%h,
               url => "$url", signed => $signed // '' };
}
binmode STDOUT;
print JSON::PP->new->canonical->ascii->encode( \@out );
'''


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("aws-signature4") / "signature4.pl"
    path.write_text(SCRIPT)
    return path


def send(script, proxy, *jobs, through=False, token=None, secret=CLIENT_SECRET) -> list[dict]:
    """Signs and sends the requests (dicts: method, url, headers, body, payload, host_header,
    presign, tamper; see the script) in one Perl process; `through`: with Envoy as LWP's HTTP
    proxy. Each answer: status, body (its bytes as code points), headers, url, signed."""
    env = environ_without_proxies()
    env.update(AWS_ACCESS_KEY_ID=CLIENT_KEY, AWS_SECRET_ACCESS_KEY=secret)
    if through:
        env["http_proxy"] = proxy.endpoint + "/"
    if token:
        env["AWS_SESSION_TOKEN"] = token
    done = subprocess.run(["perl", str(script)], input=json.dumps(list(jobs)), env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout)


def base(proxy, bucket, style: str) -> tuple[str, bool]:
    """The bucket's URL and whether it goes through Envoy as an HTTP proxy."""
    return {"path": (f"{proxy.endpoint}/{bucket}", False),
            "proxied": (f"http://{PUBLIC_TEST_DOMAIN}/{bucket}", True),
            "virtual": (f"http://{bucket}.{PUBLIC_TEST_DOMAIN}", True)}[style]


def content(answer: dict) -> bytes:
    return answer["body"].encode("latin-1")


KEYS = ["a b", "a+b", "é/ü", "~t", "a=b&c", "%41", "a//b", "./dot", "dir/x (1)!*'.txt", "q?x", "#h", "日本"]


@pytest.mark.every_origin
@pytest.mark.parametrize("style", ["path", "virtual"])
def test_objects(proxy, origin_s3, bucket, script, style):
    """PUT with a type and metadata (the body's SHA-256), GET with a `Range`, HEAD and DELETE of
    keys that need encoding; path-style to the proxy's port with `Host` set before signing, and
    virtual-hosted through Envoy as LWP's proxy."""
    url, through = base(proxy, bucket, style)
    jobs = []
    for key in KEYS:
        u = f"{url}/{quote(key, safe='/~')}"
        jobs += [dict(method="PUT", url=u, body=f"body {key}", headers={"Content-Type": "text/x-s4", "x-amz-meta-c": "blue"},
                      host_header=True),
                 dict(method="GET", url=u, headers={"Range": "bytes=1-3"}, host_header=True),
                 dict(method="HEAD", url=u, host_header=True)]
    answers = send(script, proxy, *jobs, through=through)
    assert answers[0]["signed"] == "content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-c"
    for i, key in enumerate(KEYS):
        put, get, head = answers[3 * i: 3 * i + 3]
        body = f"body {key}".encode()
        assert (put["status"], get["status"], content(get)) == (200, 206, body[1:4]), (key, put, get)
        assert (head["status"], head["headers"].get("x-amz-meta-c")) == (200, "blue"), key
        assert stored(origin_s3, bucket, key) == (body, "text/x-s4", {"c": "blue"}), key
    answers = send(script, proxy, *[dict(method="DELETE", url=f"{url}/{quote(k, safe='/~')}", host_header=True) for k in KEYS],
                   through=through)
    assert [a["status"] for a in answers] == [204] * len(KEYS)
    assert all(stored(origin_s3, bucket, key) is None for key in KEYS)


@pytest.mark.every_origin
def test_payloads_and_queries(proxy, origin_s3, bucket, script):
    """`UNSIGNED-PAYLOAD`; a body changed after signing (400 XAmzContentSHA256Mismatch, nothing
    stored); ListObjectsV2 in
    pages with a delimiter and continuation tokens, through Envoy as a proxy; `?location=`."""
    url, _ = base(proxy, bucket, "path")
    names = ["l/a b", "l/a+b", "l/é", "l/sub/x", "l/~t", "l/=&"]
    for name in names:
        origin_s3.put_object(Bucket=bucket, Key=name, Body=b"x")
    unsigned, tampered, location = send(
        script, proxy, dict(method="PUT", url=f"{url}/unsigned", body="not hashed", payload="unsigned", host_header=True),
        dict(method="PUT", url=f"{url}/tampered", body="signed", host_header=True, tamper="SIGNED"),
        dict(method="GET", url=f"{url}/?location=", host_header=True))
    assert unsigned["status"] == 200 and stored(origin_s3, bucket, "unsigned")[0] == b"not hashed"
    assert tampered["status"] == 400 and b"<Code>XAmzContentSHA256Mismatch</Code>" in content(tampered) and stored(origin_s3, bucket, "tampered") is None
    assert location["status"] == 200 and b"LocationConstraint" in content(location)
    proxied, _ = base(proxy, bucket, "proxied")

    def page(params):
        [answer] = send(script, proxy, dict(method="GET", url=f"{proxied}/?" + "&".join(
            f"{k}={quote(v, safe='')}" for k, v in params.items())), through=True)
        assert answer["status"] == 200, answer
        return content(answer)

    assert sorted(listed_in_pages(page, "l/")) == sorted([n for n in names if "/sub/" not in n] + ["l/sub/"])


@pytest.mark.every_origin
def test_presigned(proxy, origin_s3, bucket, script):
    """`signed_url` GETs on the public name through Envoy as a proxy (port 80, as it signs), one
    with `response-content-type`; a signature changed: 403."""
    origin_s3.put_object(Bucket=bucket, Key="pre é+x", Body=b"presigned", ContentType="text/plain")
    url, _ = base(proxy, bucket, "proxied")
    u = f"{url}/{quote('pre é+x', safe='/~')}"
    plain, typed = send(script, proxy, dict(method="GET", url=u, presign=600),
                        dict(method="GET", url=u + "?response-content-type=text%2Fx-p", presign=600), through=True)
    assert "X-Amz-SignedHeaders=host" in plain["url"] and "X-Amz-Expires=600" in plain["url"]
    assert (plain["status"], content(plain)) == (200, b"presigned")
    assert (typed["status"], typed["headers"]["content-type"]) == (200, "text/x-p")
    forged = plain["url"][:-4] + ("0000" if not plain["url"].endswith("0000") else "1111")
    answer = requests.get(forged, proxies={"http": proxy.endpoint}, timeout=30)
    assert answer.status_code == 403 and b"SignatureDoesNotMatch" in answer.content


def test_what_it_signs_wrong_is_refused(proxy, origin_s3, bucket, script):
    """The client's catches (module docstring), each refused with nothing stored."""
    url, _ = base(proxy, bucket, "path")
    proxied, _ = base(proxy, bucket, "proxied")
    origin_s3.put_object(Bucket=bucket, Key="there", Body=b"x")
    location, no_hash, quoted, repeated = send(
        script, proxy, dict(method="GET", url=f"{url}/?location", host_header=True),
        dict(method="PUT", url=f"{url}/nohash", body="x", payload="none", host_header=True),
        dict(method="PUT", url=f"{url}/quoted", body="x", headers={"x-amz-meta-q": '"a  b"'}, host_header=True),
        dict(method="PUT", url=f"{url}/repeated", body="x", headers={"x-amz-meta-r": ["one", "two"]}, host_header=True))
    assert location["status"] == 403 and b"SignatureDoesNotMatch" in content(location)
    assert no_hash["status"] == 400 and b"x-amz-content-sha256" in content(no_hash)
    assert quoted["status"] == 403 and b"SignatureDoesNotMatch" in content(quoted)
    assert repeated["status"] == 400 and b"<Code>InvalidArgument</Code>" in content(repeated)
    [with_port] = send(script, proxy, dict(method="GET", url=f"{url}/there", presign=600))
    assert with_port["status"] == 403 and f"localhost:{proxy.port}/" in with_port["url"]
    [put] = send(script, proxy, dict(method="PUT", url=f"{proxied}/presigned-put", body="x", presign=600), through=True)
    assert put["status"] == 403
    [token] = send(script, proxy, dict(method="GET", url=f"{proxied}/there", presign=600), through=True,
                   token="FQoGZXIvYXdzEXAMPLE")
    assert token["status"] == 400 and b"<Code>InvalidToken</Code>" in content(token)
    assert all(stored(origin_s3, bucket, k) is None for k in ("nohash", "quoted", "repeated", "presigned-put"))
