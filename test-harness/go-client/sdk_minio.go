package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// minio-go (Debian: 7.0.46), the library of MinIO's `mc`: over plain HTTP it sends every upload
// as STREAMING-AWS4-HMAC-SHA256-PAYLOAD (64 KiB chunks, each signed); with TrailingHeaders its
// multipart parts carry a signed CRC32C trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER).
type mc struct {
	c      *minio.Client
	bucket string
}

func newMinio(s settings, trailer bool) (client, error) {
	u, err := url.Parse(s.endpoint)
	if err != nil {
		return nil, err
	}
	lookup := minio.BucketLookupPath
	if s.virtual {
		lookup = minio.BucketLookupDNS
	}
	minio.MaxRetry = 1
	c, err := minio.New(u.Host, &minio.Options{
		Creds: credentials.NewStaticV4(s.key, s.secret, ""), Secure: u.Scheme == "https",
		Region: s.region, Transport: s.http.Transport, BucketLookup: lookup, TrailingHeaders: trailer,
	})
	if err != nil {
		return nil, err
	}
	return &mc{c, s.bucket}, nil
}

func (c *mc) put(ctx context.Context, key string, file *os.File, size int64) (any, error) {
	info, err := c.c.PutObject(ctx, c.bucket, key, file, size,
		minio.PutObjectOptions{ContentType: contentType, UserMetadata: metadata})
	if err != nil {
		return nil, err
	}
	return map[string]any{"etag": info.ETag}, nil
}

func (c *mc) multipart(ctx context.Context, key string, file *os.File, size int64) (any, error) {
	info, err := c.c.PutObject(ctx, c.bucket, key, file, size, minio.PutObjectOptions{PartSize: partSize, NumThreads: 2})
	if err != nil {
		return nil, err
	}
	return map[string]any{"etag": info.ETag}, nil
}

func (c *mc) get(ctx context.Context, key, byteRange string) (io.ReadCloser, error) {
	opts := minio.GetObjectOptions{}
	if byteRange != "" {
		first, last, err := parseRange(byteRange)
		if err != nil {
			return nil, err
		}
		if err := opts.SetRange(first, last); err != nil {
			return nil, err
		}
	}
	// GetObject sends nothing until read; a read surfaces its error. (Stat first would send a
	// HEAD and then read the whole object, the range forgotten.)
	return c.c.GetObject(ctx, c.bucket, key, opts)
}

func (c *mc) head(ctx context.Context, key string) (any, error) {
	info, err := c.c.StatObject(ctx, c.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return nil, err
	}
	meta := map[string]string{}
	for name, value := range info.UserMetadata {
		meta[strings.ToLower(name)] = value
	}
	return map[string]any{"length": info.Size, "contentType": info.ContentType, "metadata": meta}, nil
}

func (c *mc) list(ctx context.Context, prefix string) ([]string, error) {
	keys := []string{}
	for o := range c.c.ListObjects(ctx, c.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, MaxKeys: 2}) {
		if o.Err != nil {
			return nil, o.Err
		}
		keys = append(keys, o.Key)
	}
	return keys, nil
}

func (c *mc) remove(ctx context.Context, key string) error {
	return c.c.RemoveObject(ctx, c.bucket, key, minio.RemoveObjectOptions{})
}

func (c *mc) copy(ctx context.Context, from, to string) error {
	_, err := c.c.CopyObject(ctx, minio.CopyDestOptions{Bucket: c.bucket, Object: to},
		minio.CopySrcOptions{Bucket: c.bucket, Object: from})
	return err
}

func (c *mc) presign(ctx context.Context, method, key string) (string, error) {
	var u *url.URL
	var err error
	if method == http.MethodPut {
		u, err = c.c.PresignedPutObject(ctx, c.bucket, key, 5*time.Minute)
	} else {
		u, err = c.c.PresignedGetObject(ctx, c.bucket, key, 5*time.Minute, nil)
	}
	if err != nil {
		return "", err
	}
	return u.String(), nil
}
