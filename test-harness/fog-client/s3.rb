# frozen_string_literal: true

# fog-aws (Debian's ruby-fog-aws 3.15: the S3 layer of GitLab, Discourse and CarrierWave, with
# a SigV4 signer and an aws-chunked body signer of its own, over Excon) as a client of
# s3-resign, driven by test_fog_aws.py:
#   ruby s3.rb ENDPOINT BUCKET OP [ARG...] [-- OP [ARG...]]...
# (several operations in one process: loading fog takes a second).
# with the key pair in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the region in AWS_REGION.
# With S3_PROXY set (http://127.0.0.1:PORT), ENDPOINT's host is the public domain: buckets are
# addressed virtual-hosted and every request goes through that HTTP proxy.
# Prints one JSON object: what each operation returned, `results` (at a failure, the error and
# its S3 code, exiting 1), and every request sent, as signed, with its operation's index `op`.
require 'fog/aws'
require 'digest'
require 'json'
require 'uri'

endpoint, bucket_name, *words = ARGV
OPS = words.slice_when { |a, _| a == '--' }.map { |op| op - ['--'] }
SENT = []
$op = 0

# Excon's instrumentor sees each request as it goes out, signed.
class Recorder
  def self.instrument(name, params = {})
    if name == 'excon.request'
      headers = params[:headers]
      SENT << {
        op: $op, method: params[:method].to_s.upcase, host: headers['Host'], path: params[:path], query: params[:query],
        sha256: headers['x-amz-content-sha256'], md5: headers['Content-MD5'],
        signed: headers['Authorization'].to_s[/SignedHeaders=([^,]*)/, 1]
      }
    end
    yield if block_given?
  end
end

proxy = ENV['S3_PROXY']
options = {
  provider: 'AWS', aws_access_key_id: ENV.fetch('AWS_ACCESS_KEY_ID'),
  aws_secret_access_key: ENV.fetch('AWS_SECRET_ACCESS_KEY'), region: ENV.fetch('AWS_REGION', 'us-east-1'),
  connection_options: { instrumentor: Recorder, retry_limit: 1 }
}
if proxy
  uri = URI(endpoint)
  options.update(host: uri.host, scheme: uri.scheme, path_style: false)
  # fog signs `Host` without a port; Excon would write `:80` into the proxied request line,
  # whose authority Envoy then takes.
  options[:connection_options].update(proxy: proxy, omit_default_port: true)
else
  options.update(endpoint: endpoint, path_style: true)
end
storage = Fog::Storage.new(options)
directory = storage.directories.new(key: bucket_name)

def digest(data)
  result = { length: data.bytesize, sha256: Digest::SHA256.hexdigest(data) }
  text = data.dup.force_encoding(Encoding::UTF_8)
  result[:body] = text if data.bytesize <= 4096 && text.valid_encoding?
  result
end

def run(storage, directory, bucket_name, op, args)
  case op
  when 'put'
    # A String body: signed by its SHA-256.
    file = directory.files.create(key: args[0], body: args[1], content_type: 'text/x-fog',
                                  metadata: { 'x-amz-meta-m' => '1' })
    { etag: file.etag }
  when 'put-file'
    # A File body: fog streams it aws-chunked, each chunk signed by its own signer.
    File.open(args[1], 'rb') { |f| { etag: directory.files.create(key: args[0], body: f).etag } }
  when 'multipart'
    File.open(args[1], 'rb') do |f|
      { etag: directory.files.create(key: args[0], body: f, multipart_chunk_size: Integer(args[2])).etag }
    end
  when 'get'
    options = args[1] ? { 'Range' => args[1] } : {}
    digest(storage.get_object(bucket_name, args[0], options).body)
  when 'head'
    head = directory.files.head(args[0])
    { length: head.content_length, contentType: head.content_type, metadata: head.metadata }
  when 'list'
    directory.files.all(prefix: args[0]).map(&:key)
  when 'copy'
    storage.copy_object(bucket_name, args[0], bucket_name, args[1])
    nil
  when 'delete'
    storage.delete_object(bucket_name, args[0])
    nil
  when 'url'
    storage.get_object_url(bucket_name, args[0], Time.now + 300)
  when 'https-url'
    storage.get_object_https_url(bucket_name, args[0], Time.now + 300)
  when 'put-url'
    storage.put_object_url(bucket_name, args[0], Time.now + 300)
  else
    raise ArgumentError, "unknown operation #{op}"
  end
end

results = []
begin
  OPS.each_with_index do |(op, *args), i|
    $op = i
    results << run(storage, directory, bucket_name, op, args)
  end
  puts JSON.generate(results: results, requests: SENT)
rescue Excon::Error::HTTPStatus => e
  code = e.response.body[%r{<Code>([^<]*)</Code>}, 1]
  puts JSON.generate(error: e.message.lines.first.strip, code: code, status: e.response.status, results: results,
                     requests: SENT)
  exit 1
end
