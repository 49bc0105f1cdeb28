package main

import (
	"context"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/s3"
	"github.com/aws/aws-sdk-go/service/s3/s3manager"
)

// The AWS SDK for Go v1 (Debian: 1.44.133): SigV4 in the header with the payload's SHA-256,
// and `Expect: 100-Continue` (so spelt) on bodies of 2 MiB and more, signed like any header.
type v1 struct {
	s3     *s3.S3
	bucket string
}

func newV1(s settings) (client, error) {
	sess, err := session.NewSession(&aws.Config{
		Endpoint:         aws.String(s.endpoint),
		Region:           aws.String(s.region),
		Credentials:      credentials.NewStaticCredentials(s.key, s.secret, ""),
		S3ForcePathStyle: aws.Bool(!s.virtual),
		HTTPClient:       s.http,
		MaxRetries:       aws.Int(0),
	})
	if err != nil {
		return nil, err
	}
	return &v1{s3.New(sess), s.bucket}, nil
}

func (c *v1) put(ctx context.Context, key string, file *os.File, size int64) (any, error) {
	out, err := c.s3.PutObjectWithContext(ctx, &s3.PutObjectInput{
		Bucket: &c.bucket, Key: &key, Body: file, ContentType: aws.String(contentType),
		Metadata: aws.StringMap(metadata),
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"etag": aws.StringValue(out.ETag)}, nil
}

func (c *v1) multipart(ctx context.Context, key string, file *os.File, size int64) (any, error) {
	up := s3manager.NewUploaderWithClient(c.s3, func(u *s3manager.Uploader) { u.PartSize = partSize })
	out, err := up.UploadWithContext(ctx, &s3manager.UploadInput{Bucket: &c.bucket, Key: &key, Body: file})
	if err != nil {
		return nil, err
	}
	return map[string]any{"etag": aws.StringValue(out.ETag)}, nil
}

func (c *v1) get(ctx context.Context, key, byteRange string) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: &c.bucket, Key: &key}
	if byteRange != "" {
		in.Range = &byteRange
	}
	out, err := c.s3.GetObjectWithContext(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.Body, nil
}

func (c *v1) head(ctx context.Context, key string) (any, error) {
	out, err := c.s3.HeadObjectWithContext(ctx, &s3.HeadObjectInput{Bucket: &c.bucket, Key: &key})
	if err != nil {
		return nil, err
	}
	return map[string]any{"length": aws.Int64Value(out.ContentLength), "contentType": aws.StringValue(out.ContentType),
		"metadata": lowerKeys(aws.StringValueMap(out.Metadata))}, nil
}

// v1 gives metadata names canonical HTTP case (`M`); the others give them as stored.
func lowerKeys(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

func (c *v1) list(ctx context.Context, prefix string) ([]string, error) {
	keys := []string{}
	err := c.s3.ListObjectsV2PagesWithContext(ctx, &s3.ListObjectsV2Input{Bucket: &c.bucket, Prefix: &prefix, MaxKeys: aws.Int64(2)},
		func(page *s3.ListObjectsV2Output, _ bool) bool {
			for _, o := range page.Contents {
				keys = append(keys, aws.StringValue(o.Key))
			}
			return true
		})
	return keys, err
}

func (c *v1) remove(ctx context.Context, key string) error {
	_, err := c.s3.DeleteObjectWithContext(ctx, &s3.DeleteObjectInput{Bucket: &c.bucket, Key: &key})
	return err
}

func (c *v1) copy(ctx context.Context, from, to string) error {
	_, err := c.s3.CopyObjectWithContext(ctx, &s3.CopyObjectInput{Bucket: &c.bucket, Key: &to, CopySource: aws.String(c.bucket + "/" + from)})
	return err
}

func (c *v1) presign(_ context.Context, method, key string) (string, error) {
	if method == "PUT" {
		req, _ := c.s3.PutObjectRequest(&s3.PutObjectInput{Bucket: &c.bucket, Key: &key})
		return req.Presign(5 * time.Minute)
	}
	req, _ := c.s3.GetObjectRequest(&s3.GetObjectInput{Bucket: &c.bucket, Key: &key})
	return req.Presign(5 * time.Minute)
}
