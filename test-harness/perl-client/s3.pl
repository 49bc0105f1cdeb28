#!/usr/bin/perl
# Net::Amazon::S3 operations (Debian's libnet-amazon-s3-perl: SigV4 in Perl), for
# test_perl_s3.py's tests: s3.pl HOST BUCKET OP ARGS... [-- OP ARGS...]... Several operations a
# run, because loading the library (Moose) takes a second or two. Prints one JSON object: the
# `results` in order (or, at the first that fails, `error` and `code`) and the `requests` the
# library sent (operation index, method, URI, what it signed), read from LWP as they leave.
use strict;
use warnings;
use Encode qw(decode);
use JSON::PP;
use Net::Amazon::S3;
use Net::Amazon::S3::Client;
use Net::Amazon::S3::Signature::V4;
use Net::Amazon::S3::Vendor::Generic;
use LWP::UserAgent;

# Keys arrive as UTF-8 bytes: as characters, the library encodes them once.
my ($host, $bucket_name, @words) = map { decode('UTF-8', $_) } @ARGV;
my (@requests, @results);
{
    no warnings 'redefine';
    my $send = \&LWP::UserAgent::send_request;
    *LWP::UserAgent::send_request = sub {
        my ($ua, $request) = @_;
        my ($signed) = ($request->header('Authorization') // '') =~ /SignedHeaders=([^,]+)/;
        push @requests, { op => scalar @results, method => $request->method, uri => $request->uri->as_string,
                          signed => $signed, sha256 => $request->header('x-amz-content-sha256') };
        return $send->(@_);
    };
}

my $region = $ENV{AWS_REGION} // 'us-east-1';
# A generic vendor: this host, plain HTTP, this region (Amazon's would ask each bucket's).
my $s3 = Net::Amazon::S3->new(
    aws_access_key_id     => $ENV{AWS_ACCESS_KEY_ID},
    aws_secret_access_key => $ENV{AWS_SECRET_ACCESS_KEY},
    retry                 => 0,
    vendor                => Net::Amazon::S3::Vendor::Generic->new(
        host                 => $host,
        use_https            => 0,
        # Virtual-hosted (`bucket.host`) when asked, reached through `http_proxy` (LWP's env_proxy).
        use_virtual_host     => $ENV{S3_VIRTUAL_HOST} ? 1 : 0,
        default_region       => $region,
        authorization_method => 'Net::Amazon::S3::Signature::V4',
    ),
);
my $bucket = $s3->bucket($bucket_name);

sub done {
    my (%out) = @_;
    print JSON::PP->new->utf8->canonical->encode({ %out, results => \@results, requests => \@requests }), "\n";
    exit($out{error} ? 1 : 0);
}

# The library answers a refusal with false (the S3 code in `err`) or by dying.
sub check {
    my ($call) = @_;
    my $got = eval { $call->() };
    done(error => "$@" || $s3->errstr || 'failed', code => $s3->err // '') unless $got;
    return $got;
}

sub run {
    my ($op, @args) = @_;
    if ($op eq 'put') {
        my ($key, $value, $type) = @args;
        check(sub { $bucket->add_key($key, $value, { content_type => $type, 'x-amz-meta-m' => '1' }) });
        return 'ok';
    } elsif ($op eq 'get') {
        my ($key, $range) = @args;
        my $got = check(sub { $bucket->get_key($key, 'GET', undef, defined $range ? (range => $range) : ()) });
        return { value => $got->{value}, content_type => $got->{content_type}, meta => $got->{'x-amz-meta-m'} };
    } elsif ($op eq 'copy') {
        check(sub { $bucket->copy_key($args[1], "/$bucket_name/$args[0]") });
        return 'ok';
    } elsif ($op eq 'multipart') {
        # KEY FILE PART_SIZE: the client API's multipart upload, part after part.
        my ($key, $file, $part_size) = @args;
        open(my $in, '<:raw', $file) or done(error => "$file: $!");
        my $object = Net::Amazon::S3::Client->new(s3 => $s3)->bucket(name => $bucket_name)->object(key => $key);
        my $upload_id = check(sub { $object->initiate_multipart_upload });
        my (@etags, @numbers);
        while (read($in, my $part, $part_size)) {
            push @numbers, scalar(@numbers) + 1;
            # (Not `put_part`: 0.991's passes `acl_short` and `copy_source`, which its request refuses.)
            my $response = $object->_perform_operation('Net::Amazon::S3::Operation::Object::Upload::Part',
                upload_id => $upload_id, part_number => $numbers[-1], value => $part,
                headers => { 'Content-Length' => length $part })->http_response;
            done(error => $response->status_line) unless $response->is_success;
            push @etags, $response->header('ETag');
        }
        my $response = $object->complete_multipart_upload(upload_id => $upload_id, etags => \@etags,
                                                          part_numbers => \@numbers);
        done(error => $response->status_line . ' ' . $response->content) unless $response->is_success;
        return scalar @numbers;
    } elsif ($op eq 'presign') {
        # KEY METHOD: a presigned URL, an hour long.
        my $object = Net::Amazon::S3::Client->new(s3 => $s3)->bucket(name => $bucket_name)
            ->object(key => $args[0], expires => time + 3600);
        return $object->query_string_authentication_uri_for_method($args[1]) . '';
    } elsif ($op eq 'list') {
        my $listed = check(sub { $bucket->list({ prefix => $args[0] }) });
        return [ map { $_->{key} } @{ $listed->{keys} } ];
    } elsif ($op eq 'delete') {
        check(sub { $bucket->delete_key($args[0]) });
        return 'ok';
    } else {
        done(error => "unknown operation $op");
    }
}

while (@words) {
    my @op;
    push @op, shift @words while @words && $words[0] ne '--';
    shift @words;
    push @results, run(@op);
}
done();
