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
		return insertBatch(context.Background(), tx, live)
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
		r.done <- db.tx(context.Background(), func(tx execer) error { return insertBatch(r.ctx, tx, []*createReq{r}) })
	}
}

// insertBatch writes the files and events of reqs: every file row, then
// the project counters once per project (one statement for the batch, not
// one per file), then the events.
func insertBatch(ctx context.Context, tx execer, reqs []*createReq) error {
	type counts struct{ stored, unstored, removed int64 }
	var (
		byProject = map[int64]*counts{}
		order     []int64
		events    []*satchel.Event
	)
	for _, r := range reqs {
		for _, f := range r.files {
			if err := insertFileRow(r.ctx, tx, f); err != nil {
				return err
			}
			c := byProject[f.ProjectID]
			if c == nil {
				c = &counts{}
				byProject[f.ProjectID] = c
				order = append(order, f.ProjectID)
			}
			s, u, rm := fileState(f)
			c.stored, c.unstored, c.removed = c.stored+s, c.unstored+u, c.removed+rm
		}
		events = append(events, r.events...)
	}
	for _, id := range order {
		c := byProject[id]
		if err := addCounts(ctx, tx, id, c.stored, c.unstored, c.removed); err != nil {
			return err
		}
	}
	return insertEvents(ctx, tx, events)
}
