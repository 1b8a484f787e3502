package cdn

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/blobstore"
)

// SharedVariants keeps variants in the blob store so that every node reuses
// what one computed. Each object holds the content type, a newline, then the
// bytes; the store records which objects belong to which file, so deleting
// the file removes them.
type SharedVariants struct {
	Store interface {
		satchel.FileReader
		satchel.VariantStore
	}
	Bucket blobstore.Bucket
}

// maxSharedVariant bounds what is read back from the shared store.
const maxSharedVariant = 64 << 20

func sharedKey(key string) string { return "variant-" + strings.ReplaceAll(key, "/", "-") }

// Load implements variantcache.Shared.
func (s *SharedVariants) Load(ctx context.Context, key string) ([]byte, string, bool, error) {
	r, err := s.Bucket.Open(ctx, sharedKey(key))
	if errors.Is(err, blobstore.ErrNotFound) {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", false, err
	}
	defer r.Close()
	br := bufio.NewReader(io.LimitReader(r, maxSharedVariant))
	ctype, err := br.ReadString('\n')
	if err != nil {
		return nil, "", false, fmt.Errorf("cdn: shared variant header: %w", err)
	}
	body, err := io.ReadAll(br)
	if err != nil {
		return nil, "", false, fmt.Errorf("cdn: shared variant: %w", err)
	}
	if int64(len(ctype)+len(body)) >= maxSharedVariant {
		return nil, "", false, nil // cut off (Save keeps none this large): compute it
	}
	return body, strings.TrimSpace(ctype), true, nil
}

// Save implements variantcache.Shared.
func (s *SharedVariants) Save(ctx context.Context, key string, body []byte, ctype string) error {
	if int64(len(ctype)+1+len(body)) >= maxSharedVariant {
		return nil // too large to read back: each node computes its own
	}
	uuid, _, _ := strings.Cut(key, "/")
	if err := s.Store.RecordVariant(ctx, uuid, sharedKey(key)); err != nil {
		return err
	}
	w, err := s.Bucket.NewWriter(ctx, sharedKey(key))
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, io.MultiReader(strings.NewReader(ctype+"\n"), bytes.NewReader(body))); err != nil {
		w.Abort()
		return err
	}
	if err := w.Commit(); err != nil {
		return err
	}
	// The file may have been deleted meanwhile, on any node, and its purge
	// may have run before this object existed: then take it back. (The key
	// was recorded before writing, so a purge that ran later found it.)
	if !s.Live(ctx, uuid) {
		if err := s.Bucket.Delete(ctx, sharedKey(key)); err != nil {
			return err
		}
		return s.Purge(ctx, uuid)
	}
	return nil
}

// Live reports whether a file still exists, for variantcache.Cache.Live
// (a lookup error counts as live: the variant is kept).
func (s *SharedVariants) Live(ctx context.Context, uuid string) bool {
	f, err := s.Store.File(ctx, 0, uuid)
	return !(satchel.IsNotFound(err) || err == nil && f.Removed != nil)
}

// Purge removes a file's shared variants.
func (s *SharedVariants) Purge(ctx context.Context, uuid string) error {
	keys, err := s.Store.TakeVariants(ctx, uuid)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.Bucket.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}
