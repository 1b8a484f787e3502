package blobstore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// PresignPart returns a URL that uploads part num of the multipart upload
// id with an unsigned body, for tests that send a part request by hand.
func PresignPart(ctx context.Context, b *S3, id string, num int32) (string, error) {
	key, s3ID, err := b.parseUploadID(id)
	if err != nil {
		return "", err
	}
	req, err := s3.NewPresignClient(b.client).PresignUploadPart(ctx, &s3.UploadPartInput{
		Bucket: &b.bucket, Key: &key, UploadId: &s3ID, PartNumber: &num,
	})
	if err != nil {
		return "", fmt.Errorf("presign part: %w", err)
	}
	return req.URL, nil
}
