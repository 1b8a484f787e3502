package cdn

import (
	"context"
	"io"

	"github.com/satchel-project/satchel"
)

// blobSource hands a file's bytes to the imaging engine: a local path when
// the blob store keeps one, a reader otherwise.
type blobSource struct {
	h *Handler
	f *satchel.File
}

func (s *blobSource) Path() (string, bool) { return s.h.Bucket.LocalPath(s.f.BlobKey) }

func (s *blobSource) Open() (io.ReadCloser, error) {
	return s.h.Bucket.Open(context.Background(), s.f.BlobKey)
}

func (s *blobSource) Size() int64 { return s.f.Size }

// Dimensions implements imaging.Sized from what ingest recorded.
func (s *blobSource) Dimensions() (int, int, bool) {
	if ci := s.f.ContentInfo; ci != nil && ci.Image != nil {
		return ci.Image.Width, ci.Image.Height, true
	}
	return 0, 0, false
}
