package main

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The AWS SDK for Go v2 (Debian: 1.17.1, service/s3 1.29.1): SigV4 in the header with the
// payload's SHA-256 (a seekable body over plain HTTP), presigned URLs.
type v2 struct {
	s3     *s3.Client
	bucket string
}

func newV2(s settings) client {
	cfg := aws.Config{
		Region:      s.region,
		Credentials: credentials.NewStaticCredentialsProvider(s.key, s.secret, ""),
		HTTPClient:  s.http,
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.EndpointResolver = s3.EndpointResolverFromURL(s.endpoint)
		o.UsePathStyle = !s.virtual
	})
	return &v2{c, s.bucket}
}

func (c *v2) put(ctx context.Context, key string, file *os.File, size int64) (any, error) {
	out, err := c.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &c.bucket, Key: &key, Body: file, ContentLength: size,
		ContentType: aws.String(contentType), Metadata: metadata,
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"etag": aws.ToString(out.ETag)}, nil
}

func (c *v2) multipart(ctx context.Context, key string, file *os.File, size int64) (any, error) {
	up := manager.NewUploader(c.s3, func(u *manager.Uploader) { u.PartSize = partSize })
	out, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: &c.bucket, Key: &key, Body: file})
	if err != nil {
		return nil, err
	}
	return map[string]any{"etag": aws.ToString(out.ETag), "parts": len(out.CompletedParts)}, nil
}

func (c *v2) get(ctx context.Context, key, byteRange string) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: &c.bucket, Key: &key}
	if byteRange != "" {
		in.Range = &byteRange
	}
	out, err := c.s3.GetObject(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.Body, nil
}

func (c *v2) head(ctx context.Context, key string) (any, error) {
	out, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &c.bucket, Key: &key})
	if err != nil {
		return nil, err
	}
	return map[string]any{"length": out.ContentLength, "contentType": aws.ToString(out.ContentType),
		"metadata": out.Metadata}, nil
}

func (c *v2) list(ctx context.Context, prefix string) ([]string, error) {
	keys := []string{}
	pages := s3.NewListObjectsV2Paginator(c.s3, &s3.ListObjectsV2Input{Bucket: &c.bucket, Prefix: &prefix, MaxKeys: 2})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys, nil
}

func (c *v2) remove(ctx context.Context, key string) error {
	_, err := c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &c.bucket, Key: &key})
	return err
}

func (c *v2) copy(ctx context.Context, from, to string) error {
	_, err := c.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &c.bucket, Key: &to, CopySource: aws.String(c.bucket + "/" + from)})
	return err
}

func (c *v2) presign(ctx context.Context, method, key string) (string, error) {
	p := s3.NewPresignClient(c.s3, s3.WithPresignExpires(5*time.Minute))
	if method == "PUT" {
		req, err := p.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &c.bucket, Key: &key})
		if err != nil {
			return "", err
		}
		return req.URL, nil
	}
	req, err := p.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &c.bucket, Key: &key})
	if err != nil {
		return "", err
	}
	return req.URL, nil
}
