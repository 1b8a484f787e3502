package webhook

import (
	"context"
	"time"

	"github.com/satchel-project/satchel"
)

// Notify returns s whose event-writing methods (CreateFiles, UpdateFile,
// RemoveFile, CompleteUploadSession) call poke, typically Worker.Poke, after
// committing events, so deliveries start at once instead of at the next poll.
func Notify(s satchel.Store, poke func()) satchel.Store { return notifying{s, poke} }

type notifying struct {
	satchel.Store
	poke func()
}

func (n notifying) after(err error, events int) error {
	if err == nil && events > 0 {
		n.poke()
	}
	return err
}

func (n notifying) CreateFiles(ctx context.Context, files []*satchel.File, events []*satchel.Event) error {
	return n.after(n.Store.CreateFiles(ctx, files, events), len(events))
}

func (n notifying) RemoveFile(ctx context.Context, uuid string, t time.Time, events []*satchel.Event) error {
	return n.after(n.Store.RemoveFile(ctx, uuid, t, events), len(events))
}

func (n notifying) CompleteUploadSession(ctx context.Context, uuid string, f *satchel.File, events []*satchel.Event) error {
	return n.after(n.Store.CompleteUploadSession(ctx, uuid, f, events), len(events))
}

func (n notifying) UpdateFile(ctx context.Context, projectID int64, uuid string, mutate func(f *satchel.File) ([]*satchel.Event, error)) (*satchel.File, error) {
	written := 0
	f, err := n.Store.UpdateFile(ctx, projectID, uuid, func(f *satchel.File) ([]*satchel.Event, error) {
		events, err := mutate(f)
		written = len(events) // the last run counts, should the store retry
		return events, err
	})
	return f, n.after(err, written)
}

func (n notifying) UpdateFiles(ctx context.Context, projectID int64, uuids []string, mutate func(f *satchel.File) ([]*satchel.Event, error)) ([]*satchel.File, []error, error) {
	written := 0
	files, errs, err := n.Store.UpdateFiles(ctx, projectID, uuids, func(f *satchel.File) ([]*satchel.Event, error) {
		evs, err := mutate(f)
		written += len(evs)
		return evs, err
	})
	return files, errs, n.after(err, written)
}
