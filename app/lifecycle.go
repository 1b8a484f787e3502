package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/blobstore"
)

func (a *App) sweeper() {
	defer a.wg.Done()
	t := time.NewTicker(a.cfg.SweepEvery)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), a.cfg.SweepEvery)
		if err := a.Sweep(ctx, time.Now()); err != nil {
			a.Log.Error("lifecycle sweep", "err", err)
		}
		cancel()
		select {
		case <-a.stop:
			return
		case <-t.C:
		}
	}
}

// Sweep removes temporary files past their lifetime, files past their
// expiry time, multipart sessions past their expiry (with their parts) and
// old finished from-URL tasks.
func (a *App) Sweep(ctx context.Context, now time.Time) error {
	if err := a.ExpireFiles(ctx, now); err != nil {
		return err
	}
	for {
		files, err := a.Store.ExpiredTemporaryFiles(ctx, now.Add(-a.cfg.TemporaryTTL), 500)
		if err != nil {
			return err
		}
		for _, f := range files {
			if err := a.Store.RemoveFile(ctx, f.UUID, now.UTC(), []*satchel.Event{fileEvent(f, satchel.EventFileDeleted)}); err != nil && !satchel.IsNotFound(err) {
				return fmt.Errorf("app: expire file %s: %w", f.UUID, err)
			}
			if err := a.Bucket.Delete(ctx, f.BlobKey); err != nil {
				return fmt.Errorf("app: delete expired blob: %w", err)
			}
			a.purged(f.UUID)
		}
		if len(files) < 500 {
			break
		}
	}
	sessions, err := a.Store.ExpiredUploadSessions(ctx, now, 1000)
	if err != nil {
		return err
	}
	for _, s := range sessions {
		if err := a.Bucket.AbortMultipart(ctx, s.Upload); err != nil {
			return fmt.Errorf("app: abort expired upload: %w", err)
		}
		// A completion interrupted after publishing leaves the bytes under
		// the session's key; no file record owns them while the session lives.
		if err := a.Bucket.Delete(ctx, s.UUID); err != nil {
			return fmt.Errorf("app: delete expired upload: %w", err)
		}
		if err := a.Store.DeleteUploadSession(ctx, s.UUID); err != nil {
			return fmt.Errorf("app: delete expired session: %w", err)
		}
	}
	if err := a.Store.DeleteFetchTasksBefore(ctx, now.Add(-a.cfg.FetchTaskTTL)); err != nil {
		return err
	}
	return nil
}

// ExpireFiles removes the files whose expiry time (File.Expires) is at or
// before now, with their file.deleted events, and their bytes.
func (a *App) ExpireFiles(ctx context.Context, now time.Time) error {
	for {
		files, err := a.Store.ExpiredFiles(ctx, now, 500)
		if err != nil {
			return fmt.Errorf("app: expiring files: %w", err)
		}
		for _, f := range files {
			gone := now.UTC()
			f.Removed, f.Stored = &gone, nil
			if err := a.Store.RemoveFile(ctx, f.UUID, gone, []*satchel.Event{FileEvent(f, satchel.EventFileDeleted, satchel.Initiator{Type: "system"}, nil)}); err != nil && !satchel.IsNotFound(err) {
				return fmt.Errorf("app: expire file %s: %w", f.UUID, err)
			}
			if err := a.Bucket.Delete(ctx, f.BlobKey); err != nil {
				return fmt.Errorf("app: delete expired blob: %w", err)
			}
			a.purged(f.UUID)
		}
		if len(files) < 500 {
			return nil
		}
	}
}

// Recover removes what an unclean stop may have left: multipart uploads with
// no session, and blobs written since `since` that no file record references
// (their upload was never acknowledged).
//
// Only a bucket exclusive to this node is swept: in a shared bucket (S3) an
// object or multipart upload without a record may belong to another node's
// upload in flight. There, incomplete multipart uploads are left to the
// bucket's lifecycle rule, and the expiry sweep removes abandoned sessions.
func (a *App) Recover(ctx context.Context, since time.Time) error {
	if !blobstore.IsExclusive(a.Bucket) {
		return nil
	}
	var orphans []string
	err := a.Bucket.ListMultipart(ctx, func(id string) error {
		_, err := a.Store.UploadSessionByUpload(ctx, id)
		if satchel.IsNotFound(err) {
			orphans = append(orphans, id)
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("app: recover multipart: %w", err)
	}
	for _, id := range orphans {
		if err := a.Bucket.AbortMultipart(ctx, id); err != nil {
			return err
		}
	}
	if since.IsZero() {
		return nil
	}
	var blobs []string
	err = a.Bucket.List(ctx, since, func(key string) error {
		ok, err := a.Store.HasBlob(ctx, key)
		if err != nil || ok {
			return err
		}
		// A multipart upload whose completion was interrupted after its
		// bytes were published: its session is still open and the client
		// will complete it again, so the blob is not an orphan.
		if _, err := a.Store.UploadSession(ctx, key); err == nil {
			return nil
		} else if !satchel.IsNotFound(err) {
			return err
		}
		blobs = append(blobs, key)
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("app: recover blobs: %w", err)
	}
	for _, k := range blobs {
		if err := a.Bucket.Delete(ctx, k); err != nil {
			return err
		}
	}
	a.Log.Info("recovered after unclean stop", "orphan_uploads", len(orphans), "orphan_blobs", len(blobs))
	return nil
}
