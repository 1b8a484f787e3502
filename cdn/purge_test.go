package cdn_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/blobstore"
	"github.com/satchel-project/satchel/cdn"
	"github.com/satchel-project/satchel/imaging"
	"github.com/satchel-project/satchel/internal/testenv"
	"github.com/satchel-project/satchel/server"
	"github.com/satchel-project/satchel/variantcache"
)

// gateBucket is a shared bucket (it claims no node for itself) whose reads
// of one blob, once armed, wait for the test: a transform of that file then
// stays in flight as long as the test wants.
type gateBucket struct {
	blobstore.Bucket
	key string

	mu      sync.Mutex
	armed   bool
	started chan struct{}
	release chan struct{}
}

func (b *gateBucket) Open(ctx context.Context, key string) (blobstore.Reader, error) {
	r, err := b.Bucket.Open(ctx, key)
	b.mu.Lock()
	armed := b.armed && key == b.key
	if armed {
		b.armed = false
	}
	b.mu.Unlock()
	if armed {
		close(b.started)
		<-b.release
	}
	return r, err
}

// NewWriter of a shared variant waits, when armed for it, like Open.
func (b *gateBucket) NewWriter(ctx context.Context, key string) (blobstore.Writer, error) {
	b.mu.Lock()
	armed := b.armed && strings.HasPrefix(key, "variant-") && b.key == "variant"
	if armed {
		b.armed = false
	}
	b.mu.Unlock()
	if armed {
		close(b.started)
		<-b.release
	}
	return b.Bucket.NewWriter(ctx, key)
}

// LocalPath hides local files so that the engine reads through Open.
func (b *gateBucket) LocalPath(string) (string, bool) { return "", false }

func variantBlobs(t *testing.T, b blobstore.Bucket, id string) []string {
	t.Helper()
	var keys []string
	err := b.List(context.Background(), time.Time{}, func(k string) error {
		if strings.HasPrefix(k, "variant-"+id) {
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestDeleteDuringTransformLeavesNoVariant deletes a file while a variant
// of it is being computed: once the transform has finished, no variant of
// the file is left on the node's disk or in the shared bucket.
func TestDeleteDuringTransformLeavesNoVariant(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var dbURL, s3URL string
	if testenv.HasPostgres() {
		dbURL = testenv.PostgresDSN(t)
	}
	if testenv.HasS3() {
		s3URL = testenv.S3BucketURL(t)
	}
	store, err := server.OpenStore(ctx, dir, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	raw, err := server.OpenBucket(ctx, dir, s3URL)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	img := image.NewNRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	img.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	var pngBytes bytes.Buffer
	png.Encode(&pngBytes, img)
	w, err := raw.NewWriter(ctx, "blob-1")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(pngBytes.Bytes())
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	p := &satchel.Project{Name: "p", PublicKey: "pk-" + uuid.NewString()[:8], SecretKey: "sk"}
	if err := store.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	f := &satchel.File{UUID: uuid.NewString(), ProjectID: p.ID, Size: int64(pngBytes.Len()), MimeType: "image/png",
		OriginalFilename: "a.png", Filename: "a.png", BlobKey: "blob-1", IsImage: true, IsReady: true,
		Uploaded: time.Now().UTC()}
	if err := store.CreateFiles(ctx, []*satchel.File{f}, nil); err != nil {
		t.Fatal(err)
	}

	bucket := &gateBucket{Bucket: raw, key: "blob-1", started: make(chan struct{}), release: make(chan struct{})}
	engine, err := imaging.New(imaging.Options{})
	if err != nil {
		t.Fatal(err)
	}
	variantDir := filepath.Join(dir, "variants")
	variants, err := variantcache.Open(variantDir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &cdn.Handler{Store: store, Bucket: bucket, Log: log, Engine: engine, Variants: variants,
		Shared: &cdn.SharedVariants{Store: store, Bucket: bucket}}
	variants.Shared = h.Shared
	a, err := app.New(ctx, store, bucket, nil, nil, log, app.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a.Purge = h.Purge
	srv := httptest.NewServer(h)
	defer srv.Close()

	// A variant made before: the delete removes it everywhere.
	resp, err := http.Get(srv.URL + "/" + f.UUID + "/-/resize/20x/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("first variant: %d", resp.StatusCode)
	}
	for deadline := time.Now().Add(10 * time.Second); len(variantBlobs(t, raw, f.UUID)) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("first variant never reached the shared bucket")
		}
	}

	// A second variant is in flight (its source read waits) when the file
	// is deleted.
	bucket.mu.Lock()
	bucket.armed = true
	bucket.mu.Unlock()
	status := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/" + f.UUID + "/-/resize/30x/")
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	<-bucket.started
	if _, err := a.DeleteFile(ctx, p, f.UUID); err != nil {
		t.Fatal(err)
	}
	close(bucket.release)
	if got := <-status; got != http.StatusNotFound {
		t.Errorf("variant finished after the delete answered %d, want 404", got)
	}

	// Another file: its variant is answered, and its save to the shared
	// bucket is under way when the file is deleted.
	g := *f
	g.UUID, g.BlobKey, g.Removed = uuid.NewString(), "blob-2", nil
	w, err = raw.NewWriter(ctx, g.BlobKey)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(pngBytes.Bytes())
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateFiles(ctx, []*satchel.File{&g}, nil); err != nil {
		t.Fatal(err)
	}
	bucket.mu.Lock()
	bucket.key, bucket.armed = "variant", true
	bucket.started, bucket.release = make(chan struct{}), make(chan struct{})
	bucket.mu.Unlock()
	resp, err = http.Get(srv.URL + "/" + g.UUID + "/-/resize/40x/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("variant: %d", resp.StatusCode)
	}
	<-bucket.started
	if _, err := a.DeleteFile(ctx, p, g.UUID); err != nil {
		t.Fatal(err)
	}
	close(bucket.release)

	// A third file: another node (its own disk, same store and bucket) is
	// computing a variant when the file is deleted through the first.
	k := *f
	k.UUID, k.BlobKey, k.Removed = uuid.NewString(), "blob-3", nil
	w, err = raw.NewWriter(ctx, k.BlobKey)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(pngBytes.Bytes())
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateFiles(ctx, []*satchel.File{&k}, nil); err != nil {
		t.Fatal(err)
	}
	bucketB := &gateBucket{Bucket: raw, key: k.BlobKey, armed: true, started: make(chan struct{}), release: make(chan struct{})}
	variantDirB := filepath.Join(dir, "variants-b")
	variantsB, err := variantcache.Open(variantDirB, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	sharedB := &cdn.SharedVariants{Store: store, Bucket: bucketB}
	variantsB.Shared, variantsB.Live = sharedB, sharedB.Live
	hB := &cdn.Handler{Store: store, Bucket: bucketB, Log: log, Engine: engine, Variants: variantsB, Shared: sharedB}
	srvB := httptest.NewServer(hB)
	defer srvB.Close()
	go func() {
		resp, err := http.Get(srvB.URL + "/" + k.UUID + "/-/resize/30x/")
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	<-bucketB.started
	if _, err := a.DeleteFile(ctx, p, k.UUID); err != nil {
		t.Fatal(err)
	}
	close(bucketB.release)
	if got := <-status; got != http.StatusNotFound {
		t.Errorf("variant finished on another node after the delete answered %d, want 404", got)
	}
	variantsB.Close()
	if _, err := os.Stat(filepath.Join(variantDirB, k.UUID)); !os.IsNotExist(err) {
		t.Errorf("variants of the file deleted through another node remain on disk")
	}
	if keys := variantBlobs(t, raw, k.UUID); len(keys) != 0 {
		t.Errorf("variants of the file deleted through another node remain in the bucket: %v", keys)
	}

	variants.Close() // waits for saves to the shared bucket
	engine.Wait()
	if keys := variantBlobs(t, raw, g.UUID); len(keys) != 0 {
		t.Errorf("variants of the file deleted while saving remain in the bucket: %v", keys)
	}
	if _, err := os.Stat(filepath.Join(variantDir, g.UUID)); !os.IsNotExist(err) {
		t.Errorf("variants of the file deleted while saving remain on disk")
	}

	if _, err := os.Stat(filepath.Join(variantDir, f.UUID)); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(filepath.Join(variantDir, f.UUID))
		t.Errorf("variants of the deleted file remain on disk: %v", entries)
	}
	if keys := variantBlobs(t, raw, f.UUID); len(keys) != 0 {
		t.Errorf("variants of the deleted file remain in the bucket: %v", keys)
	}
}
