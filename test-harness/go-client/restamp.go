package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// minio-go 7.0.46 signs an upload with unsigned trailers, then sets X-Amz-Date again from the
// clock (signV4, then StreamingUnsignedV4): a part signed in one second and sent in the next
// carries a date its signature does not cover, and any SigV4 server refuses it
// (SignatureDoesNotMatch). restampedAfterSigning tells such a refusal from the filter's: the
// request's signature is not that of its X-Amz-Date but that of a second or two before.
func restampedAfterSigning(req *http.Request, secret, region string) bool {
	sent, err := time.Parse("20060102T150405Z", req.Header.Get("X-Amz-Date"))
	if err != nil {
		return false
	}
	_, signature, ok := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	if !ok {
		return false
	}
	signedAt := func(t time.Time) bool {
		date, day := t.Format("20060102T150405Z"), t.Format("20060102")
		hashed := sha256.Sum256([]byte(minioCanonicalRequest(req, date)))
		scope := day + "/" + region + "/s3/aws4_request"
		text := "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + hex.EncodeToString(hashed[:])
		key := []byte("AWS4" + secret)
		for _, part := range []string{day, region, "s3", "aws4_request"} {
			key = hmacSHA256(key, part)
		}
		return hex.EncodeToString(hmacSHA256(key, text)) == signature
	}
	return !signedAt(sent) && (signedAt(sent.Add(-time.Second)) || signedAt(sent.Add(-2*time.Second)))
}

// minioCanonicalRequest is the canonical request as minio-go's signer builds it, had it
// signed at `date`.
func minioCanonicalRequest(req *http.Request, date string) string {
	_, rest, _ := strings.Cut(req.Header.Get("Authorization"), "SignedHeaders=")
	names, _, _ := strings.Cut(rest, ",")
	var headers strings.Builder
	for _, name := range strings.Split(names, ";") {
		value := strings.Join(req.Header.Values(name), ",")
		switch name {
		case "host":
			value = req.Host
			if value == "" {
				value = req.URL.Host
			}
		case "x-amz-date":
			value = date
		}
		headers.WriteString(name + ":" + strings.Join(strings.Fields(value), " ") + "\n")
	}
	return strings.Join([]string{
		req.Method,
		s3utils.EncodePath(req.URL.Path),
		strings.ReplaceAll(req.URL.Query().Encode(), "+", "%20"),
		headers.String(),
		names,
		req.Header.Get("X-Amz-Content-Sha256"),
	}, "\n")
}

func hmacSHA256(key []byte, data string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(data))
	return mac.Sum(nil)
}
