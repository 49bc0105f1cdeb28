"""Perl's Amazon::S3 0.60 (Debian's libamazon-s3-perl; a client of its own, not Net::Amazon::S3,
signing SigV4 only, with Net::Amazon::Signature::V4 0.21 from libnet-amazon-signature-v4-perl)
through the proxy (a compatibility sweep, 2026-12-07), driven by a Perl script this file
writes: path-style (`dns_bucket_names => 0`, `host` the proxy's `host:port`) and
virtual-hosted (`dns_bucket_names => 1`, `host` the public name, Envoy as LWP's `http_proxy`).

What it signs: every header of the request (`content-length`, `content-md5`, `content-type`,
`date` beside `x-amz-date`, `host`, `x-amz-content-sha256`, `x-amz-meta-*`, a copy's
`x-amz-copy-source` and `x-amz-tagging-directive`); a string body by its SHA-256, a file
(`add_key_filename`) as `UNSIGNED-PAYLOAD`, after a HEAD probe; parts by their SHA-256;
the query as it sorts and encodes it (`delimiter=/` sent raw). Its `_simplify_uri` signs
`a//b` as `a/b` and `./x` as `/x`: refused, at every origin too.

Client-side catches: `list_bucket_all_v2` pages with `marker=<continuation token>`, which
ListObjectsV2 ignores, and so loops for ever on a truncated listing (use `list_bucket_all`,
ListObjects v1); `get_key` compares the body's MD5 with the ETag, so a multipart object
cannot be read with it; `buckets`, `add_bucket` and `delete_bucket` sign for `us-east-1`
whatever the region (straight to Garage, refused: through the proxy, re-signed for
`origin_region`); a session token (`token`) is refused (400 InvalidToken)."""

import json
import subprocess

import pytest

from harness.envoy_config import CLIENT_KEY, CLIENT_SECRET, PUBLIC_TEST_DOMAIN
from harness.programs import environ_without_proxies, perl_modules_missing, results_ok as ok
from test_post_policy import stored

MIB = 1024 * 1024


_missing = perl_modules_missing("libamazon-s3-perl", "Amazon::S3")
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")

SCRIPT = r'''#!/usr/bin/perl
# Amazon::S3 (Debian libamazon-s3-perl 0.60) driver for the tests.
# perl as3.pl HOST BUCKET OP ARGS... [-- OP ARGS...]: prints one JSON object,
# {"results": [{"ok": ...} | {"error": ...}], "requests": [{op, method, uri, status, signed, sha256}]}.
# Env: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, S3_DNS (1: dns_bucket_names),
# http_proxy (LWP env_proxy), AWS_SESSION_TOKEN.
use strict;
use warnings;
use utf8;
use Encode qw(decode_utf8);
use Encode ();
use JSON::PP;
use Amazon::S3;
use LWP::UserAgent;

my ( $host, $bucketname, @words ) = @ARGV;
@words = map { decode_utf8($_) } @words;
my @ops = ( [] );
for my $w (@words) {
  if ( $w eq '--' ) { push @ops, []; next }
  push @{ $ops[-1] }, $w;
}

my ( @requests, $opi );
{
  no warnings 'redefine';
  my $orig = \&LWP::UserAgent::request;
  *LWP::UserAgent::request = sub {
    my ( $ua, $req, @rest ) = @_;
    my $res = $orig->( $ua, $req, @rest );
    my ($signed) = ( $req->header('Authorization') // '' ) =~ /SignedHeaders=([^,]+)/;
    push @requests,
      { op     => $opi,
        method => $req->method,
        uri    => "" . $req->uri,
        status => $res->code,
        signed => $signed // '',
        sha256 => $req->header('x-amz-content-sha256') // '',
        error  => ( $res->code >= 300 ? substr( $res->content // '', 0, 300 ) : '' ),
      };
    return $res;
  };
}

my $s3 = Amazon::S3->new(
  { aws_access_key_id     => $ENV{AWS_ACCESS_KEY_ID},
    aws_secret_access_key => $ENV{AWS_SECRET_ACCESS_KEY},
    ( $ENV{AWS_SESSION_TOKEN} ? ( token => $ENV{AWS_SESSION_TOKEN} ) : () ),
    host             => $host,
    secure           => 0,
    region           => $ENV{AWS_REGION} // 'us-east-1',
    dns_bucket_names => $ENV{S3_DNS} ? 1 : 0,
    retry            => 0,
  }
);
my $bucket = $s3->bucket( { bucket => $bucketname, region => $ENV{AWS_REGION} // 'us-east-1' } );

sub err_of { return $s3->errstr // $s3->err // ( $@ ? "$@" : 'failed' ) }

my @results;
$opi = 0;
for my $op (@ops) {
  my ( $name, @a ) = @{$op};
  my $v = eval {
    if ( $name eq 'buckets' ) {
      my $r = $s3->buckets or die err_of() . "\n";
      return [ sort map { $_->bucket } @{ $r->{buckets} } ];
    }
    if ( $name eq 'add_bucket' ) {
      return $s3->add_bucket( { bucket => $a[0] } ) ? 1 : die( err_of() . "\n" );
    }
    if ( $name eq 'delete_bucket' ) {
      return $s3->delete_bucket( { bucket => $a[0], region => 'us-east-1' } ) ? 1 : die( err_of() . "\n" );
    }
    if ( $name eq 'put' ) {    # key value [content-type] [meta-value]
      my %conf;
      $conf{content_type} = $a[2] if $a[2];
      $conf{'x-amz-meta-colour'} = $a[3] if defined $a[3];
      my $value = $a[1];
      utf8::encode($value);
      return $bucket->add_key( $a[0], $value, \%conf ) ? 1 : die( err_of() . "\n" );
    }
    if ( $name eq 'put_file' ) {    # key path [content-type]
      my %conf;
      $conf{content_type} = $a[2] if $a[2];
      return $bucket->add_key_filename( $a[0], $a[1], \%conf ) ? 1 : die( err_of() . "\n" );
    }
    if ( $name eq 'get' ) {
      my $r = $bucket->get_key( $a[0] );
      die( ( err_of() ) . "\n" ) if !$r;
      return { value => Encode::decode( 'UTF-8', $r->{value} ), content_type => $r->{content_type}, meta => $r->{'x-amz-meta-colour'} };
    }
    if ( $name eq 'head' ) {
      my $r = $bucket->head_key( $a[0] );
      return undef if !$r;
      return { content_length => $r->{content_length}, content_type => $r->{content_type},
               meta => $r->{'x-amz-meta-colour'}, etag => $r->{etag} };
    }
    if ( $name eq 'delete' ) {
      return $bucket->delete_key( $a[0] ) ? 1 : die( err_of() . "\n" );
    }
    if ( $name eq 'copy' ) {    # source key
      my $r = $bucket->copy_object( source => $a[0], key => $a[1] );
      return 1;
    }
    if ( $name eq 'list' ) {    # prefix delimiter max-keys marker
      my %c = ( bucket => $bucketname );
      $c{prefix}     = $a[0] if defined $a[0] && length $a[0];
      $c{delimiter}  = $a[1] if defined $a[1] && length $a[1];
      $c{'max-keys'} = $a[2] if defined $a[2] && length $a[2];
      $c{marker}     = $a[3] if defined $a[3] && length $a[3];
      my $r = $s3->list_bucket( \%c ) or die err_of() . "\n";
      return { keys => [ map { $_->{key} } @{ $r->{keys} } ], prefixes => $r->{common_prefixes} // [],
               truncated => $r->{is_truncated} ? 1 : 0, next_marker => $r->{next_marker} };
    }
    if ( $name eq 'list_all' ) {    # prefix max-keys [v2]
      my %c = ( bucket => $bucketname );
      $c{prefix}     = $a[0] if defined $a[0] && length $a[0];
      $c{'max-keys'} = $a[1] if defined $a[1] && length $a[1];
      my $r = ( $a[2] ? $s3->list_bucket_all_v2( \%c ) : $s3->list_bucket_all( \%c ) ) or die err_of() . "\n";
      return [ map { $_->{key} } @{ $r->{keys} } ];
    }
    if ( $name eq 'multipart' ) {    # key size chunk
      my $data = join '', map { chr( ( $_ * 7 ) % 251 ) } 0 .. 250;
      $data = substr( $data x ( int( $a[1] / length($data) ) + 1 ), 0, $a[1] );
      my $parts = $bucket->upload_multipart_object( key => $a[0], data => $data, chunk_size => $a[2] );
      die( "no parts: " . err_of() . "\n" ) if !%{$parts};
      return scalar keys %{$parts};
    }
    die "unknown op $name\n";
  };
  push @results, ( $@ ? { error => "$@" } : { ok => $v } );
  $opi++;
}
binmode STDOUT;
print JSON::PP->new->utf8->canonical->encode( { results => \@results, requests => \@requests } );
'''


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("amazon-s3") / "amazon_s3.pl"
    path.write_text(SCRIPT)
    return path


def pl(script, proxy, bucket, *ops, virtual=False, secret=CLIENT_SECRET, env=None) -> dict:
    """Runs the operations (tuples: name, arguments) in one Perl process through the proxy;
    its JSON: `results` (each `ok` or `error`) and the `requests` sent, with their `op` index."""
    environ = environ_without_proxies()
    environ.update(AWS_ACCESS_KEY_ID=CLIENT_KEY, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION="us-east-1", **(env or {}))
    host = proxy.authority
    if virtual:
        environ.update(http_proxy=proxy.endpoint + "/", S3_DNS="1")
        host = PUBLIC_TEST_DOMAIN
    words = [w for i, op in enumerate(ops) for w in (["--"] if i else []) + [str(a) for a in op]]
    done = subprocess.run(["perl", str(script), host, bucket, *words], env=environ, capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout)


def sent(out: dict, op: int) -> list[dict]:
    return [r for r in out["requests"] if r["op"] == op]


KEYS = ["a b.txt", "a+b", "é/ü", "~t", "a=b&c", "%41", "dir/x (1)!*'.txt", "q?x", "#h", "日本"]


@pytest.mark.every_origin
@pytest.mark.parametrize("virtual", [False, True], ids=["path", "virtual"])
def test_objects(proxy, origin_s3, bucket, script, virtual):
    """For each key: `add_key` with a type and metadata (signed with its SHA-256 and Content-MD5),
    `head_key`, `get_key`, `delete_key`; a server-side copy."""
    ops = []
    for key in KEYS:
        ops += [("put", key, f"body {key}", "text/x-as3", "blue"), ("head", key), ("get", key)]
    ops += [("put", "src.txt", "source", "text/plain"), ("copy", "src.txt", "copy é.txt")]
    out = pl(script, proxy, bucket, *ops, virtual=virtual)
    results = ok(out)
    [put] = sent(out, 0)
    assert put["signed"] == "content-length;content-md5;content-type;date;host;x-amz-content-sha256;x-amz-date;x-amz-meta-colour"
    assert put["uri"] == (f"http://{bucket}.{PUBLIC_TEST_DOMAIN}/a%20b.txt" if virtual else f"{proxy.endpoint}/{bucket}/a%20b.txt")
    assert len(put["sha256"]) == 64
    for i, key in enumerate(KEYS):
        head, got = results[3 * i + 1: 3 * i + 3]
        body = f"body {key}"
        assert (head["content_type"], head["meta"], int(head["content_length"])) == ("text/x-as3", "blue", len(body.encode())), key
        assert got == {"value": body, "content_type": "text/x-as3", "meta": "blue"}, key
        assert stored(origin_s3, bucket, key) == (body.encode(), "text/x-as3", {"colour": "blue"}), key
    assert "x-amz-copy-source" in sent(out, len(ops) - 1)[0]["signed"]
    assert stored(origin_s3, bucket, "copy é.txt")[0] == b"source"
    ok(pl(script, proxy, bucket, *[("delete", key) for key in KEYS], virtual=virtual))
    assert all(stored(origin_s3, bucket, key) is None for key in KEYS)


@pytest.mark.every_origin
def test_listing(proxy, origin_s3, bucket, script):
    """ListObjects with a prefix and a delimiter (sent raw: `delimiter=/`), `max-keys` with a
    `marker` that holds a space, and `list_bucket_all` paging by `NextMarker` or the last key."""
    names = ["l/+", "l/a b", "l/s/x", "l/é", "l/~t"]
    for name in names:
        origin_s3.put_object(Bucket=bucket, Key=name, Body=b"x")
    out = pl(script, proxy, bucket, ("list", "l/", "/"), ("list", "l/", "", "2"), ("list", "l/", "", "2", "l/a b"),
             ("list_all", "l/", "2"))
    delimited, first, after, every = ok(out)
    assert (delimited["keys"], delimited["prefixes"]) == (["l/+", "l/a b", "l/~t", "l/é"], ["l/s"])
    assert (first["keys"], first["truncated"]) == (["l/+", "l/a b"], 1)
    assert (after["keys"], after["truncated"]) == (["l/s/x", "l/~t"], 1)
    assert every == sorted(names)
    assert "delimiter=/" in sent(out, 0)[0]["uri"] and "marker=l/a%20b" in sent(out, 2)[0]["uri"]


@pytest.mark.every_origin
def test_uploads(proxy, origin_s3, bucket, script, tmp_path):
    """A bucket created and deleted; `add_key_filename` (a HEAD probe, then the file as
    UNSIGNED-PAYLOAD with its Content-MD5); `upload_multipart_object` in three 5 MiB parts,
    each signed by its SHA-256, virtual-hosted."""
    new = bucket.replace("t-", "n-")
    path = tmp_path / "file.bin"
    path.write_bytes(bytes(range(256)) * 1200)
    out = pl(script, proxy, bucket, ("add_bucket", new), ("delete_bucket", new),
             ("put_file", "file é.bin", path, "application/x-f"), ("head", "file é.bin"))
    results = ok(out)
    assert [r["method"] for r in sent(out, 2)] == ["HEAD", "PUT"] and sent(out, 2)[1]["sha256"] == "UNSIGNED-PAYLOAD"
    assert results[3]["content_type"] == "application/x-f"
    assert stored(origin_s3, bucket, "file é.bin")[0] == path.read_bytes()
    out = pl(script, proxy, bucket, ("multipart", "big é.bin", 11 * MIB + 1, 5 * MIB), virtual=True)
    assert ok(out) == [3]
    parts = [r for r in out["requests"] if "partNumber=" in r["uri"]]
    assert len(parts) == 3 and all(len(r["sha256"]) == 64 for r in parts)
    obj = origin_s3.get_object(Bucket=bucket, Key="big é.bin")
    assert obj["ETag"].endswith('-3"') and obj["ContentLength"] == 11 * MIB + 1


def test_what_it_signs_wrong_is_refused(proxy, origin_s3, bucket, script):
    """`a//b` and `./x`, signed as `a/b` and `/x` and sent as written (403, as at every origin),
    a session token (400 InvalidToken), a wrong secret (403): nothing stored."""
    out = pl(script, proxy, bucket, ("put", "a//b", "x"), ("put", "./x", "x"))
    assert [sent(out, i)[0]["status"] for i in (0, 1)] == ["403", "403"]
    assert all("SignatureDoesNotMatch" in r["error"] for r in sent(out, 0) + sent(out, 1))
    out = pl(script, proxy, bucket, ("put", "tok", "x"), env={"AWS_SESSION_TOKEN": "FQoGZXIvYXdzEXAMPLE"})
    assert sent(out, 0)[0]["status"] == "400" and "<Code>InvalidToken</Code>" in sent(out, 0)[0]["error"]
    out = pl(script, proxy, bucket, ("put", "wrong", "x"), secret="not-the-secret")
    assert "SignatureDoesNotMatch" in sent(out, 0)[0]["error"]
    assert all(stored(origin_s3, bucket, k) is None for k in ("a//b", "a/b", "./x", "x", "tok", "wrong"))
