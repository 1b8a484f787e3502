package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/jobs"
)

// maxResponse bounds the receiver's response body kept with a delivery.
const maxResponse = 1024

// legacyWebhookEvents is the SQL condition limiting pre-0.7 subscriptions
// (0.5, 0.6) to file.uploaded, the only event those versions know.
const legacyWebhookEvents = `(event = 'file.uploaded' OR version NOT IN ('0.5', '0.6'))`

// insertDeliveries queues one delivery of e per matching active
// subscription: its log row and its job. It runs in the transaction that
// writes the event (transactional outbox).
func insertDeliveries(ctx context.Context, tx execer, e eventRow) error {
	hooks, err := queryAll(ctx, tx, "match subscriptions", func(r rowScanner) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	}, `SELECT id FROM webhooks WHERE project_id = ? AND event = ? AND is_active AND `+legacyWebhookEvents+` ORDER BY id`, e.ProjectID, e.Type)
	if err != nil {
		return err
	}
	t := micros(e.Created)
	args := make([]river.JobArgs, 0, len(hooks))
	for _, h := range hooks {
		id := e.ID + ":" + strconv.FormatInt(h, 10)
		if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (id, event_id, webhook_id, project_id, attempts, next_attempt, lease_until, status, last_status, last_response, last_error, updated)
			VALUES (?, ?, ?, ?, 0, ?, 0, 'pending', 0, '', '', ?)`, id, e.ID, h, e.ProjectID, t, t); err != nil {
			return fmt.Errorf("sqlstore: queue delivery: %w", err)
		}
		args = append(args, jobs.DeliveryArgs{DeliveryID: id, ProjectID: e.ProjectID})
	}
	return tx.insertJobs(ctx, args...)
}

// Webhooks.

const webhookCols = `id, project_id, event, target_url, is_active, signing_secret, version, created, updated`

func scanWebhook(row rowScanner) (*satchel.Webhook, error) {
	var w satchel.Webhook
	var created, updated int64
	if err := row.Scan(&w.ID, &w.ProjectID, &w.Event, &w.TargetURL, &w.IsActive, &w.SigningSecret, &w.Version, &created, &updated); err != nil {
		return nil, notFound(err)
	}
	w.Created, w.Updated = fromMicros(created), fromMicros(updated)
	return &w, nil
}

func nowMicros() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// CreateWebhook implements satchel.WebhookStore. It assigns w.ID and, when
// zero, w.Created and w.Updated. A subscription of the project to the same
// event and target URL yields satchel.ErrConflict.
func (db *DB) CreateWebhook(ctx context.Context, w *satchel.Webhook) error {
	if w.Created.IsZero() {
		w.Created = nowMicros()
	}
	if w.Updated.IsZero() {
		w.Updated = w.Created
	}
	err := db.w.QueryRowContext(ctx, `INSERT INTO webhooks (project_id, event, target_url, is_active, signing_secret, version, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		w.ProjectID, w.Event, w.TargetURL, w.IsActive, w.SigningSecret, w.Version, micros(w.Created), micros(w.Updated)).Scan(&w.ID)
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlstore: webhook %s %s: %w", w.Event, w.TargetURL, satchel.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create webhook: %w", err)
	}
	return nil
}

// UpdateWebhook implements satchel.WebhookStore: it saves event, target URL,
// is_active, secret and version of the project's subscription w.ID, and sets
// w.Updated to now. Missing: satchel.ErrNotFound; a clash with another
// subscription: satchel.ErrConflict.
func (db *DB) UpdateWebhook(ctx context.Context, w *satchel.Webhook) error {
	w.Updated = nowMicros()
	res, err := db.w.ExecContext(ctx, `UPDATE webhooks SET event=?, target_url=?, is_active=?, signing_secret=?, version=?, updated=? WHERE id=? AND project_id=?`,
		w.Event, w.TargetURL, w.IsActive, w.SigningSecret, w.Version, micros(w.Updated), w.ID, w.ProjectID)
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlstore: webhook %s %s: %w", w.Event, w.TargetURL, satchel.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: update webhook: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return satchel.ErrNotFound
	}
	return nil
}

// Webhook implements satchel.WebhookStore (projectID 0: of any project).
func (db *DB) Webhook(ctx context.Context, projectID, id int64) (*satchel.Webhook, error) {
	w, err := scanWebhook(db.r.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE id=?`, id))
	if err != nil {
		return nil, err
	}
	if projectID != 0 && w.ProjectID != projectID {
		return nil, satchel.ErrNotFound
	}
	return w, nil
}

// Webhooks implements satchel.WebhookStore, in creation order.
func (db *DB) Webhooks(ctx context.Context, projectID int64) ([]*satchel.Webhook, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE project_id=? ORDER BY id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list webhooks: %w", err)
	}
	defer rows.Close()
	out := []*satchel.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// DeleteWebhook implements satchel.WebhookStore. The subscription's pending
// deliveries go with it; finished ones stay as history.
func (db *DB) DeleteWebhook(ctx context.Context, projectID, id int64) error {
	return db.tx(ctx, func(tx execer) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE id=? AND project_id=?`, id, projectID)
		if err != nil {
			return fmt.Errorf("sqlstore: delete webhook: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return satchel.ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE webhook_id=? AND status='pending'`, id); err != nil {
			return fmt.Errorf("sqlstore: delete webhook deliveries: %w", err)
		}
		return nil
	})
}

// DeleteWebhooksByTarget implements satchel.WebhookStore (pending deliveries
// are dropped as by DeleteWebhook).
func (db *DB) DeleteWebhooksByTarget(ctx context.Context, projectID int64, url string) (int, error) {
	var n int64
	err := db.tx(ctx, func(tx execer) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE status='pending' AND webhook_id IN
			(SELECT id FROM webhooks WHERE project_id=? AND target_url=?)`, projectID, url); err != nil {
			return fmt.Errorf("sqlstore: delete webhook deliveries: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE project_id=? AND target_url=?`, projectID, url)
		if err != nil {
			return fmt.Errorf("sqlstore: delete webhooks: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// Deliveries.

const deliveryCols = `id, event_id, webhook_id, project_id, attempts, next_attempt, status, last_status, last_response, last_error, updated`

func scanDelivery(row rowScanner) (*satchel.Delivery, error) {
	var d satchel.Delivery
	var next, updated int64
	if err := row.Scan(&d.ID, &d.EventID, &d.WebhookID, &d.ProjectID, &d.Attempts, &next, &d.Status, &d.LastStatus, &d.LastResponse, &d.LastError, &updated); err != nil {
		return nil, notFound(err)
	}
	d.NextAttempt, d.Updated = fromMicros(next), fromMicros(updated)
	return &d, nil
}

// Delivery implements satchel.WebhookStore.
func (db *DB) Delivery(ctx context.Context, id string) (*satchel.Delivery, error) {
	return scanDelivery(db.r.QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM deliveries WHERE id=?`, id))
}

// FinishDelivery implements satchel.WebhookStore: it saves the outcome of
// attempt d.Attempts (status, next attempt, last answer). The record of a
// later attempt is never overwritten: that yields satchel.ErrNotFound, as
// does a delivery deleted with its subscription. LastResponse is cut to
// 1 KiB.
func (db *DB) FinishDelivery(ctx context.Context, d *satchel.Delivery) error {
	if d.Updated.IsZero() {
		d.Updated = nowMicros()
	}
	d.LastResponse = cleanText(d.LastResponse, maxResponse)
	d.LastError = cleanText(d.LastError, 4*maxResponse)
	res, err := db.w.ExecContext(ctx, `UPDATE deliveries SET attempts=?, next_attempt=?, status=?, last_status=?, last_response=?, last_error=?, updated=?
		WHERE id=? AND attempts<=?`,
		d.Attempts, micros(d.NextAttempt), d.Status, d.LastStatus, d.LastResponse, d.LastError, micros(d.Updated), d.ID, d.Attempts)
	if err != nil {
		return fmt.Errorf("sqlstore: finish delivery: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return satchel.ErrNotFound
	}
	return nil
}

// Redeliver implements satchel.WebhookStore: a finished (delivered or
// failed) delivery is made pending again, due now, and gets a job of its
// own, in one transaction.
func (db *DB) Redeliver(ctx context.Context, id string) error {
	return db.tx(ctx, func(tx execer) error {
		var projectID int64
		var attempts int
		if err := tx.QueryRowContext(ctx, `SELECT project_id, attempts FROM deliveries WHERE id=? AND status<>'pending'`, id).Scan(&projectID, &attempts); err != nil {
			return notFound(err)
		}
		now := micros(nowMicros())
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET status='pending', next_attempt=?, updated=? WHERE id=?`, now, now, id); err != nil {
			return fmt.Errorf("sqlstore: redeliver: %w", err)
		}
		return tx.insertJobs(ctx, jobs.DeliveryArgs{DeliveryID: id, ProjectID: projectID, Base: attempts})
	})
}

// pruneBatch is about how many rows one retention transaction goes
// through, so that a large backlog does not hold SQLite's one writer for
// long (a variable for the tests).
var pruneBatch = 1000

// PruneHistory implements satchel.WebhookStore, a batch per transaction.
func (db *DB) PruneHistory(ctx context.Context, before time.Time) (int64, error) {
	n, err := db.pruneRange(ctx, "deliveries", "updated", `status <> 'pending'`, micros(before))
	if err != nil {
		return n, err
	}
	m, err := db.pruneRange(ctx, "events", "created", `NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)`, micros(before))
	return n + m, err
}

// pruneRange deletes the rows of table whose time col (indexed, in
// micros) is before before and that cond allows, walking the time range in
// slices of about pruneBatch rows, one transaction each. Rows cond keeps
// are passed once, not again in every batch.
func (db *DB) pruneRange(ctx context.Context, table, col, cond string, before int64) (int64, error) {
	var total int64
	for lo := int64(math.MinInt64); lo < before; {
		hi := before
		err := db.w.QueryRowContext(ctx, `SELECT `+col+` FROM `+table+` WHERE `+col+` >= ? AND `+col+` < ? ORDER BY `+col+` LIMIT 1 OFFSET ?`, lo, before, pruneBatch).Scan(&hi)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return total, fmt.Errorf("sqlstore: prune %s: %w", table, err)
		}
		if hi == lo { // more than a batch at one instant: that instant alone
			hi = lo + 1
		}
		res, err := db.w.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+col+` >= ? AND `+col+` < ? AND `+cond, lo, hi)
		if err != nil {
			return total, fmt.Errorf("sqlstore: prune %s: %w", table, err)
		}
		n, _ := res.RowsAffected()
		total += n
		lo = hi
	}
	return total, nil
}

// cleanText makes s storable as TEXT on every database (valid UTF-8, no NUL)
// and at most max bytes long, cut on a character boundary.
func cleanText(s string, max int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// Deliveries implements satchel.WebhookStore: the project's deliveries,
// most recently updated first.
func (db *DB) Deliveries(ctx context.Context, projectID int64, limit int) ([]*satchel.Delivery, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+deliveryCols+` FROM deliveries WHERE project_id=? ORDER BY updated DESC, id DESC LIMIT ?`, projectID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list deliveries: %w", err)
	}
	defer rows.Close()
	out := []*satchel.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Event implements satchel.WebhookStore.
func (db *DB) Event(ctx context.Context, id string) (*satchel.Event, error) {
	var e satchel.Event
	var payload string
	var created int64
	err := db.r.QueryRowContext(ctx, `SELECT id, project_id, type, payload, created FROM events WHERE id=?`, id).
		Scan(&e.ID, &e.ProjectID, &e.Type, &payload, &created)
	if err != nil {
		if err := notFound(err); satchel.IsNotFound(err) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlstore: event: %w", err)
	}
	e.Payload, e.Created = []byte(payload), fromMicros(created)
	return &e, nil
}

var _ satchel.WebhookStore = (*DB)(nil)
