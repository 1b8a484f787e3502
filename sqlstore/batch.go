package sqlstore

import (
	"context"

	"github.com/satchel-project/satchel"
)

// Group commit: concurrent CreateFiles calls share one transaction (and so one
// WAL fsync). The loop takes whatever arrived while the previous commit ran, so
// a lone upload is committed at once and a burst is committed together.

type createReq struct {
	ctx    context.Context
	files  []*satchel.File
	events []*satchel.Event
	done   chan error
}

const maxBatch = 128

func (db *DB) startBatcher() {
	db.batch = make(chan *createReq, 1024)
	db.batchDone = make(chan struct{})
	go func() {
		defer close(db.batchDone)
		for first := range db.batch {
			reqs := []*createReq{first}
		drain:
			for len(reqs) < maxBatch {
				select {
				case r, ok := <-db.batch:
					if !ok {
						break drain
					}
					reqs = append(reqs, r)
				default:
					break drain
				}
			}
			db.commitBatch(reqs)
		}
	}()
}

func (db *DB) commitBatch(reqs []*createReq) {
	live := reqs[:0]
	for _, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	err := db.tx(context.Background(), func(tx execer) error {
		for _, r := range live {
			if err := insertBatch(r.ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		db.batchCommits.Add(1)
		for _, r := range live {
			r.done <- nil
		}
		return
	}
	if len(live) == 1 {
		live[0].done <- err
		return
	}
	// One request spoiled the batch: commit each on its own so only it fails.
	for _, r := range live {
		r.done <- db.tx(context.Background(), func(tx execer) error { return insertBatch(r.ctx, tx, r) })
	}
}

func insertBatch(ctx context.Context, tx execer, r *createReq) error {
	for _, f := range r.files {
		if err := insertFile(ctx, tx, f); err != nil {
			return err
		}
	}
	return insertEvents(ctx, tx, r.events)
}
