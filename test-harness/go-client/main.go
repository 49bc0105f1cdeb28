// Go S3 clients of s3-resign, driven by test_sdk_go.py:
//
//	go-client [-virtual] [-connect ADDR] [-ca FILE] SDK ENDPOINT BUCKET OP [ARG...]
//
// SDK is v2 (the AWS SDK for Go v2), v1 (the AWS SDK for Go v1) or minio (minio-go v7); the key
// pair comes from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, the region from AWS_REGION
// (us-east-1 without). It prints one JSON object: what the operation returned (or the error
// and its S3 code, exiting 1) and every request the SDK put on the wire, so that the test can
// assert how each SDK signs its bodies. Built offline against Debian's packaged sources
// (GOPATH mode, see the Makefile): no module proxy is needed.
package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Part size of every multipart upload: S3's smallest, so a few MiB make several parts.
const partSize = 5 * 1024 * 1024

// Metadata and content type of `put`, which the test reads back from the origin.
const contentType = "text/x-go"

var metadata = map[string]string{"m": "1"}

// An SDK's operations. Each returns what the test checks, as JSON-ready values.
type client interface {
	put(ctx context.Context, key string, file *os.File, size int64) (any, error)
	multipart(ctx context.Context, key string, file *os.File, size int64) (any, error)
	// get reads `key` (the `Range` header value when not empty).
	get(ctx context.Context, key, byteRange string) (io.ReadCloser, error)
	head(ctx context.Context, key string) (any, error)
	list(ctx context.Context, prefix string) ([]string, error)
	remove(ctx context.Context, key string) error
	copy(ctx context.Context, from, to string) error
	presign(ctx context.Context, method, key string) (string, error)
}

type settings struct {
	endpoint, bucket, key, secret, region string
	virtual                               bool
	http                                  *http.Client
}

// A request as the SDK sent it: the headers that say how the body was signed.
type sent struct {
	Method   string `json:"method"`
	Host     string `json:"host"`
	Query    string `json:"query"`
	Sha256   string `json:"sha256"`
	Expect   string `json:"expect,omitempty"`
	Encoding string `json:"encoding,omitempty"`
	Trailer  string `json:"trailer,omitempty"`
	// SignedHeaders of a header-signed request.
	Signed string `json:"signed,omitempty"`
	Status int    `json:"status"`
	// The answer's x-amz-checksum-crc32c: what the origin says it stored.
	Checksum string `json:"checksum,omitempty"`
	// A refusal of minio-go's bug (restamp.go), not of the filter.
	Restamped bool `json:"restamped,omitempty"`
}

// Records each request the SDK sends.
type recorder struct {
	next           http.RoundTripper
	secret, region string
	mu             sync.Mutex
	sent           []sent
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	s := sent{
		Method: req.Method, Host: req.Host, Query: req.URL.RawQuery,
		Sha256:   req.Header.Get("X-Amz-Content-Sha256"),
		Expect:   req.Header.Get("Expect"),
		Encoding: req.Header.Get("Content-Encoding"),
		Trailer:  req.Header.Get("X-Amz-Trailer"),
		Signed:   signedHeaders(req.Header.Get("Authorization")),
	}
	if s.Host == "" {
		s.Host = req.URL.Host
	}
	resp, err := r.next.RoundTrip(req)
	if resp != nil {
		s.Status = resp.StatusCode
		s.Checksum = resp.Header.Get("X-Amz-Checksum-Crc32c")
		s.Restamped = resp.StatusCode == http.StatusForbidden && restampedAfterSigning(req, r.secret, r.region)
	}
	r.mu.Lock()
	r.sent = append(r.sent, s)
	r.mu.Unlock()
	return resp, err
}

// signedHeaders is the SignedHeaders list of a SigV4 Authorization header.
func signedHeaders(authorization string) string {
	_, rest, ok := strings.Cut(authorization, "SignedHeaders=")
	if !ok {
		return ""
	}
	list, _, _ := strings.Cut(rest, ",")
	return list
}

func main() {
	virtual := flag.Bool("virtual", false, "virtual-hosted addressing (bucket in the host name)")
	connect := flag.String("connect", "", "connect every host name to this address (no resolver knows the bucket hosts)")
	ca := flag.String("ca", "", "trust the CA certificates in this PEM file for https endpoints")
	flag.Parse()
	args := flag.Args()
	if len(args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: go-client [-virtual] [-connect ADDR] [-ca FILE] v2|v1|minio ENDPOINT BUCKET OP [ARG...]")
		os.Exit(2)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if *connect != "" {
		dialer := &net.Dialer{Timeout: 10 * time.Second}
		transport.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, *connect)
		}
	}
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			panic(err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			panic("no certificate in " + *ca)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: roots}
	}
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	rec := &recorder{next: transport, secret: os.Getenv("AWS_SECRET_ACCESS_KEY"), region: region}
	s := settings{
		endpoint: args[1], bucket: args[2], virtual: *virtual, region: region,
		key: os.Getenv("AWS_ACCESS_KEY_ID"), secret: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		http: &http.Client{Transport: rec},
	}
	var c client
	var err error
	switch args[0] {
	case "v2":
		c = newV2(s)
	case "v1":
		c, err = newV1(s)
	case "minio":
		c, err = newMinio(s, args[3] == "multipart-trailer")
	default:
		err = fmt.Errorf("unknown SDK %q", args[0])
	}
	var result any
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		result, err = run(ctx, c, args[3], args[4:])
		cancel()
	}
	out := map[string]any{"requests": rec.sent}
	if err != nil {
		out["error"] = err.Error()
		out["code"] = errorCode(err)
	} else {
		out["result"] = result
	}
	if e := json.NewEncoder(os.Stdout).Encode(out); e != nil {
		panic(e)
	}
	if err != nil {
		os.Exit(1)
	}
}

func run(ctx context.Context, c client, op string, args []string) (any, error) {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch op {
	case "put", "multipart", "multipart-trailer":
		file, err := os.Open(arg(1))
		if err != nil {
			return nil, err
		}
		defer file.Close()
		info, err := file.Stat()
		if err != nil {
			return nil, err
		}
		if op == "put" {
			return c.put(ctx, arg(0), file, info.Size())
		}
		return c.multipart(ctx, arg(0), file, info.Size())
	case "get":
		body, err := c.get(ctx, arg(0), arg(1))
		if err != nil {
			return nil, err
		}
		defer body.Close()
		return digest(body)
	case "head":
		return c.head(ctx, arg(0))
	case "list":
		return c.list(ctx, arg(0))
	case "delete":
		return nil, c.remove(ctx, arg(0))
	case "copy":
		return nil, c.copy(ctx, arg(0), arg(1))
	case "presign-get":
		return c.presign(ctx, http.MethodGet, arg(0))
	case "presign-put":
		return c.presign(ctx, http.MethodPut, arg(0))
	}
	return nil, fmt.Errorf("unknown operation %q", op)
}

// What a GET read: its length, SHA-256 and, when short, the text.
func digest(body io.Reader) (any, error) {
	h := sha256.New()
	var head strings.Builder
	n, err := io.Copy(io.MultiWriter(h, limited{&head, 4096}), body)
	if err != nil {
		return nil, err
	}
	result := map[string]any{"length": n, "sha256": hex.EncodeToString(h.Sum(nil))}
	if n <= 4096 {
		result["body"] = head.String()
	}
	return result, nil
}

// A writer keeping at most `left` bytes, accepting the rest silently.
type limited struct {
	w    io.Writer
	left int
}

func (l limited) Write(p []byte) (int, error) {
	if l.left > 0 {
		keep := p
		if len(keep) > l.left {
			keep = keep[:l.left]
		}
		if _, err := l.w.Write(keep); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// parseRange reads `bytes=FIRST-LAST` (minio-go takes the numbers).
func parseRange(r string) (int64, int64, error) {
	first, last, ok := strings.Cut(strings.TrimPrefix(r, "bytes="), "-")
	if !ok {
		return 0, 0, fmt.Errorf("range %q is not bytes=FIRST-LAST", r)
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil {
		return 0, 0, err
	}
	b, err := strconv.ParseInt(last, 10, 64)
	return a, b, err
}
