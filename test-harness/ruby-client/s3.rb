# frozen_string_literal: true

# The AWS SDK for Ruby (aws-sdk-s3, Debian's ruby-aws-sdk-s3) as a client of s3-resign, driven
# by test_sdk_ruby.py:
#   ruby s3.rb ENDPOINT BUCKET OP [ARG...]
# with the key pair in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the region in AWS_REGION.
# With S3_PROXY set (http://127.0.0.1:PORT) the client addresses buckets virtual-hosted and
# sends every request through that HTTP proxy: no resolver knows the bucket host names.
# Prints one JSON object: what the operation returned (or the error and its S3 code, exiting 1)
# and every request the SDK sent, as signed.
require 'aws-sdk-s3'
require 'digest'
require 'json'

endpoint, bucket, op, *args = ARGV
SENT = []

# Records each request as it goes out, signed (the innermost handler of the sign step: after
# the signer), and its status.
class Recorder < Seahorse::Client::Handler
  def call(context)
    response = @handler.call(context)
    request = context.http_request
    SENT << {
      method: request.http_method, host: request.endpoint.host, query: request.endpoint.query.to_s,
      sha256: request.headers['x-amz-content-sha256'], expect: request.headers['expect'],
      md5: request.headers['content-md5'], status: context.http_response.status_code,
      signed: request.headers['authorization'].to_s[/SignedHeaders=([^,]*)/, 1]
    }
    response
  end
end

proxy = ENV['S3_PROXY']
client = Aws::S3::Client.new(
  endpoint: endpoint, region: ENV.fetch('AWS_REGION', 'us-east-1'),
  credentials: Aws::Credentials.new(ENV.fetch('AWS_ACCESS_KEY_ID'), ENV.fetch('AWS_SECRET_ACCESS_KEY')),
  force_path_style: proxy.nil?, http_proxy: proxy, retry_limit: 0
)
client.handlers.add(Recorder, step: :sign, priority: 0)

PART_SIZE = 5 * 1024 * 1024

def digest(body)
  data = body.read
  result = { length: data.bytesize, sha256: Digest::SHA256.hexdigest(data) }
  text = data.dup.force_encoding(Encoding::UTF_8)
  result[:body] = text if data.bytesize <= 4096 && text.valid_encoding?
  result
end

def run(client, bucket, op, args)
  case op
  when 'put'
    File.open(args[1], 'rb') do |file|
      etag = client.put_object(bucket: bucket, key: args[0], body: file, content_type: 'text/x-ruby',
                               metadata: { 'm' => '1' }).etag
      { etag: etag }
    end
  when 'multipart'
    object = Aws::S3::Resource.new(client: client).bucket(bucket).object(args[0])
    object.upload_file(args[1], multipart_threshold: PART_SIZE, thread_count: 2)
    { etag: object.etag }
  when 'get'
    params = { bucket: bucket, key: args[0] }
    params[:range] = args[1] if args[1]
    digest(client.get_object(params).body)
  when 'head'
    head = client.head_object(bucket: bucket, key: args[0])
    { length: head.content_length, contentType: head.content_type, metadata: head.metadata }
  when 'list'
    client.list_objects_v2(bucket: bucket, prefix: args[0], max_keys: 2).flat_map { |page| page.contents.map(&:key) }
  when 'delete'
    client.delete_object(bucket: bucket, key: args[0])
    nil
  when 'copy'
    client.copy_object(bucket: bucket, key: args[1], copy_source: "#{bucket}/#{args[0]}")
    nil
  when 'presign-get', 'presign-put'
    method = op == 'presign-get' ? :get_object : :put_object
    Aws::S3::Presigner.new(client: client).presigned_url(method, bucket: bucket, key: args[0], expires_in: 300)
  when 'presign-post'
    # A browser form for keys under uploads/ of 1 byte to 1 KiB, text/plain.
    post = Aws::S3::Resource.new(client: client).bucket(bucket).presigned_post(
      key_starts_with: 'uploads/', content_length_range: 1..1024, content_type: 'text/plain',
      signature_expiration: Time.now + 300
    )
    { url: post.url, fields: post.fields }
  else
    raise ArgumentError, "unknown operation #{op}"
  end
end

begin
  result = run(client, bucket, op, args)
  puts JSON.generate(result: result, requests: SENT)
rescue Aws::S3::Errors::ServiceError => e
  puts JSON.generate(error: e.message, code: e.code, requests: SENT)
  exit 1
end
