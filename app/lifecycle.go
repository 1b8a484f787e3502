package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/blobstore"
	"github.com/satchel-project/satchel/jobs"
)

// Sweep runs the expiry steps of the lifecycle jobs at once: temporary
// files past their lifetime, multipart sessions past their expiry, and
// the retention of old history. The removed files' bytes go with their
// removal jobs.
func (a *App) Sweep(ctx context.Context, now time.Time) error {
	if err := a.ExpireFiles(ctx, now); err != nil {
		return err
	}
	if err := a.ExpireSessions(ctx, now); err != nil {
		return err
	}
	return a.Retain(ctx, now)
}

// ExpireFiles removes the files whose time is up at now: unstored files
// uploaded more than TemporaryTTL before now, and files whose expiry time
// (File.Expires) is at or before now. Each removal writes the file's
// file.deleted event (initiated by the system) and queues the removal of
// its bytes with it.
func (a *App) ExpireFiles(ctx context.Context, now time.Time) error {
	if err := a.expire(ctx, now, a.Store.ExpiredTemporaryFiles, now.Add(-a.cfg.TemporaryTTL)); err != nil {
		return fmt.Errorf("app: expiring temporary files: %w", err)
	}
	if err := a.expire(ctx, now, a.Store.ExpiredFiles, now); err != nil {
		return fmt.Errorf("app: expiring files: %w", err)
	}
	return nil
}

// expire removes, in batches, the files list returns for t.
func (a *App) expire(ctx context.Context, now time.Time, list func(context.Context, time.Time, int) ([]*satchel.File, error), t time.Time) error {
	const batch = 500
	for {
		files, err := list(ctx, t, batch)
		if err != nil {
			return err
		}
		for _, f := range files {
			gone := now.UTC()
			f.Removed, f.Stored = &gone, nil
			if err := a.Store.RemoveFile(ctx, f.UUID, gone, []*satchel.Event{FileEvent(f, satchel.EventFileDeleted, satchel.Initiator{Type: "system"}, nil)}); err != nil && !satchel.IsNotFound(err) {
				return fmt.Errorf("file %s: %w", f.UUID, err)
			}
			a.purged(f.UUID)
		}
		if len(files) < batch {
			return nil
		}
	}
}

// ExpireSessions removes multipart upload sessions past their expiry, with
// their parts.
func (a *App) ExpireSessions(ctx context.Context, now time.Time) error {
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
	return nil
}

// Retain forgets webhook events and finished deliveries older than the
// retention period, finished from-URL tasks older than FetchTaskTTL, and
// fairness slots whose job is gone.
func (a *App) Retain(ctx context.Context, now time.Time) error {
	if _, err := a.Store.PruneHistory(ctx, now.Add(-a.cfg.Retention)); err != nil {
		return err
	}
	if a.SettleFetches != nil {
		if err := a.SettleFetches(ctx, now, a.cfg.FetchTaskTTL); err != nil {
			return fmt.Errorf("app: settle fetches: %w", err)
		}
	}
	if err := a.Store.DeleteFetchTasksBefore(ctx, now.Add(-a.cfg.FetchTaskTTL)); err != nil {
		return err
	}
	if a.Jobs.SQL != nil {
		return a.Jobs.PruneSlots(ctx)
	}
	return nil
}

// RemoveBlob deletes a removed file's bytes and its derived images, then
// tells this node's caches. Deleting what is already gone succeeds.
func (a *App) RemoveBlob(ctx context.Context, fileUUID, key string) error {
	if err := a.Bucket.Delete(ctx, key); err != nil {
		return fmt.Errorf("app: delete blob %s: %w", key, err)
	}
	if a.PurgeVariants != nil {
		if err := a.PurgeVariants(ctx, fileUUID); err != nil {
			return fmt.Errorf("app: purge variants of %s: %w", fileUUID, err)
		}
	}
	a.purged(fileUUID)
	return nil
}

type removeBlobWorker struct {
	river.WorkerDefaults[jobs.RemoveBlobArgs]
	a *App
}

func (w *removeBlobWorker) Work(ctx context.Context, job *river.Job[jobs.RemoveBlobArgs]) error {
	return w.a.RemoveBlob(ctx, job.Args.FileUUID, job.Args.Key)
}

func (w *removeBlobWorker) Timeout(*river.Job[jobs.RemoveBlobArgs]) time.Duration {
	return 2 * time.Minute
}

type expireFilesWorker struct {
	river.WorkerDefaults[jobs.ExpireFilesArgs]
	a *App
}

func (w *expireFilesWorker) Work(ctx context.Context, _ *river.Job[jobs.ExpireFilesArgs]) error {
	return w.a.ExpireFiles(ctx, time.Now())
}

func (w *expireFilesWorker) Timeout(*river.Job[jobs.ExpireFilesArgs]) time.Duration {
	return 5 * time.Minute
}

type expireSessionsWorker struct {
	river.WorkerDefaults[jobs.ExpireSessionsArgs]
	a *App
}

func (w *expireSessionsWorker) Work(ctx context.Context, _ *river.Job[jobs.ExpireSessionsArgs]) error {
	return w.a.ExpireSessions(ctx, time.Now())
}

func (w *expireSessionsWorker) Timeout(*river.Job[jobs.ExpireSessionsArgs]) time.Duration {
	return 5 * time.Minute
}

type retentionWorker struct {
	river.WorkerDefaults[jobs.RetentionArgs]
	a *App
}

func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[jobs.RetentionArgs]) error {
	return w.a.Retain(ctx, time.Now())
}

func (w *retentionWorker) Timeout(*river.Job[jobs.RetentionArgs]) time.Duration {
	return 5 * time.Minute
}

// AddWorkers registers the services' job kinds: from-URL fetches, blob
// removal and the lifecycle sweeps.
func (a *App) AddWorkers(w *river.Workers) {
	river.AddWorker(w, &fetchWorker{a: a})
	river.AddWorker(w, &removeBlobWorker{a: a})
	river.AddWorker(w, &expireFilesWorker{a: a})
	river.AddWorker(w, &expireSessionsWorker{a: a})
	river.AddWorker(w, &retentionWorker{a: a})
	river.AddWorker(w, &addonWorker{a: a})
	river.AddWorker(w, &documentWorker{a: a})
	river.AddWorker(w, &videoWorker{a: a})
}

// PeriodicJobs are the lifecycle sweeps, run once per SweepEvery in the
// cluster (retention hourly at most).
func (a *App) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		jobs.Periodic(jobs.ExpireFilesArgs{}, a.cfg.SweepEvery),
		jobs.Periodic(jobs.ExpireSessionsArgs{}, a.cfg.SweepEvery),
		jobs.Periodic(jobs.RetentionArgs{}, max(a.cfg.SweepEvery, time.Hour)),
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
