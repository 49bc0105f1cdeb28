package main

import (
	"errors"

	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/smithy-go"
	"github.com/minio/minio-go/v7"
)

// errorCode is the S3 error code an SDK error carries, or "" when it carries none.
func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	var v1 awserr.Error
	if errors.As(err, &v1) {
		return v1.Code()
	}
	return minio.ToErrorResponse(err).Code
}
