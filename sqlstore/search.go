package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/satchel-project/satchel"
)

// SearchFiles implements satchel.Store. The search runs in one read
// transaction bounded by satchel.SearchTimeout (on PostgreSQL also as the
// transaction's statement_timeout, so the server stops the work too). It
// selects the page's UUIDs first, so only they go through the sort, then
// reads those files.
//
// Its WHERE clause starts with the project and "removed IS NULL", as the
// partial indexes of live files (files_list_live_*) do: a search ordered by
// upload time (the default without full-text conditions) or size walks one
// of them in order and stops at the page's end when matches are dense;
// ranges on upload time or size read an index range; its count stops at
// satchel.SearchTotalCap matches. Full-text conditions are substring
// matches (LIKE '%term%'), which no B-tree serves: ordered by score or
// filename, a search reads every live file of the project once, and counts
// the matches in the same scan.
func (db *DB) SearchFiles(ctx context.Context, q satchel.FileSearch) ([]*satchel.File, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, satchel.SearchTimeout)
	defer cancel()
	var files []*satchel.File
	var total int64
	// An order no index serves (by score or filename) evaluates every
	// match before the page: the page's query counts them in the same scan.
	counted := !indexOrder(&q)
	err := db.searchTx(ctx, func(tx *sql.Tx) error {
		ids, err := searchPage(ctx, tx, db.pg, &q, counted, &total)
		if err != nil {
			return err
		}
		if files, err = filesByUUID(ctx, tx, db.pg, ids); err != nil {
			return err
		}
		if counted && (len(ids) > 0 || q.Offset == 0) {
			return nil // counted with the page; or nothing matches at all
		}
		count := &sqlBuilder{pg: db.pg}
		cq := `SELECT COUNT(*) FROM (SELECT 1 FROM files WHERE ` + searchWhere(count, &q) +
			` LIMIT ` + count.arg(satchel.SearchTotalCap) + `) AS matches`
		return tx.QueryRowContext(ctx, cq, count.args...).Scan(&total)
	})
	if err != nil {
		if searchTimedOut(ctx, err) {
			e := satchel.Errorf(satchel.KindUnavailable, satchel.ReasonSearchTimeout,
				"The search took longer than %s; narrow its conditions.", satchel.SearchTimeout)
			return nil, 0, e
		}
		return nil, 0, fmt.Errorf("sqlstore: search files: %w", err)
	}
	return files, min(total, satchel.SearchTotalCap), nil
}

// searchPage selects the UUIDs of q's page, in order: only the UUID goes
// through the sort, not the whole row. With counted, the same scan counts
// the matches into total (a window count, which an order no index serves
// costs nothing more: every match is evaluated for the sort anyway).
func searchPage(ctx context.Context, tx *sql.Tx, pg bool, q *satchel.FileSearch, counted bool, total *int64) ([]string, error) {
	b := &sqlBuilder{pg: pg}
	cols := `uuid`
	if counted {
		cols += `, COUNT(*) OVER ()`
	}
	query := `SELECT ` + cols + ` FROM files WHERE ` + searchWhere(b, q) +
		` ORDER BY ` + searchOrder(b, q) + ` LIMIT ` + b.arg(max(q.Limit, 1))
	if q.Offset > 0 {
		query += ` OFFSET ` + b.arg(q.Offset)
	}
	rows, err := tx.QueryContext(ctx, query, b.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		dest := []any{&id}
		if counted {
			dest = append(dest, total)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// filesByUUID reads the files of ids, in the order of ids.
func filesByUUID(ctx context.Context, tx *sql.Tx, pg bool, ids []string) ([]*satchel.File, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	b := &sqlBuilder{pg: pg}
	rows, err := tx.QueryContext(ctx, `SELECT `+fileCols+` FROM files WHERE uuid IN `+b.list(ids), b.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := make(map[string]*satchel.File, len(ids))
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, err
		}
		byID[f.UUID] = f
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	files := make([]*satchel.File, 0, len(ids))
	for _, id := range ids {
		if f := byID[id]; f != nil {
			files = append(files, f)
		}
	}
	return files, nil
}

// indexOrder reports whether q's order is one the live files' indexes
// serve (upload time or size, after no score), so that its page can stop
// early.
func indexOrder(q *satchel.FileSearch) bool {
	if len(q.Sort) == 0 {
		return !q.FullText()
	}
	switch q.Sort[0].Key {
	case satchel.SortDatetimeUploaded, satchel.SortSize:
		return true
	case satchel.SortScore:
		return !q.FullText() && len(q.Sort) > 1 && q.Sort[1].Key != satchel.SortOriginalFilename
	}
	return false
}

// searchTx runs fn in a read-only transaction of the reader pool, its
// statements run as text (a search's SQL varies with its conditions, so it
// is neither prepared nor cached).
func (db *DB) searchTx(ctx context.Context, fn func(*sql.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.pg {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.rdb.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if db.pg {
		ms := satchel.SearchTimeout.Milliseconds()
		if _, err := tx.ExecContext(ctx, `SET LOCAL statement_timeout = `+strconv.FormatInt(ms, 10)); err != nil {
			return err
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// searchTimedOut tells a search stopped by its time bound.
func searchTimedOut(ctx context.Context, err error) bool {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "57014" // query_canceled: statement_timeout
}

// sqlBuilder collects a statement's arguments and writes their
// placeholders in the dialect's form.
type sqlBuilder struct {
	pg   bool
	args []any
}

func (b *sqlBuilder) arg(v any) string {
	b.args = append(b.args, v)
	if b.pg {
		return "$" + strconv.Itoa(len(b.args))
	}
	return "?"
}

func (b *sqlBuilder) list(vs []string) string {
	ph := make([]string, len(vs))
	for i, v := range vs {
		ph[i] = b.arg(v)
	}
	return "(" + strings.Join(ph, ", ") + ")"
}

// metaRows and tagRows are a file's metadata (key, value) and tags (value)
// as rows.
func (b *sqlBuilder) metaRows() string {
	if b.pg {
		return "jsonb_each_text(files.metadata::jsonb) AS m(key, value)"
	}
	return "json_each(files.metadata) AS m"
}

func (b *sqlBuilder) tagRows() string {
	if b.pg {
		return "jsonb_array_elements_text(files.tags::jsonb) AS t(value)"
	}
	return "json_each(files.tags) AS t"
}

// like is a case-insensitive match of expr against a term's patterns.
func (b *sqlBuilder) like(expr, term string, fuzzy bool) string {
	var ors []string
	for _, p := range satchel.SearchPatterns(term, fuzzy) {
		ors = append(ors, "LOWER("+expr+") LIKE "+b.arg(p)+` ESCAPE '\'`)
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// metaLike is a term found in a metadata value. The column's JSON text is
// tried first, a cheap test that skips the rows whose text cannot hold the
// term (most have no metadata at all); it is exact only for terms that JSON
// writes as they are, matched as they are (with fuzzy, the character a
// wildcard stands for could be one JSON escapes), so others go straight to
// the values.
func (b *sqlBuilder) metaLike(term string, fuzzy bool) string {
	values := "EXISTS (SELECT 1 FROM " + b.metaRows() + " WHERE " + b.like("m.value", term, fuzzy) + ")"
	if fuzzy || strings.ContainsAny(term, "\"\\<>&\u2028\u2029") || strings.ContainsFunc(term, func(r rune) bool { return r < 0x20 }) {
		return values
	}
	return "(" + b.like("files.metadata", term, fuzzy) + " AND " + values + ")"
}

// termMatch is a query term found in any full-text field or equal to the UUID.
func (b *sqlBuilder) termMatch(term string, fuzzy bool) string {
	return "(uuid = " + b.arg(strings.ToLower(term)) + " OR " + b.like("original_filename", term, fuzzy) +
		" OR " + b.like("mime_type", term, fuzzy) + " OR " + b.metaLike(term, fuzzy) + ")"
}

// searchWhere is the WHERE clause of q's matches.
func searchWhere(b *sqlBuilder, q *satchel.FileSearch) string {
	where := []string{"project_id = " + b.arg(q.ProjectID), "removed IS NULL"}
	for _, t := range q.Query {
		where = append(where, b.termMatch(t, q.Fuzzy))
	}
	if q.PhraseFilename != "" {
		where = append(where, b.like("original_filename", q.PhraseFilename, q.Fuzzy))
	}
	if q.PhraseMimeType != "" {
		where = append(where, b.like("mime_type", q.PhraseMimeType, q.Fuzzy))
	}
	if q.PhraseMetadata != "" {
		where = append(where, b.metaLike(q.PhraseMetadata, q.Fuzzy))
	}
	if q.ExactUUID != nil {
		where = append(where, "uuid IN "+b.list(q.ExactUUID))
	}
	if q.ExactMimeType != nil {
		where = append(where, "mime_type IN "+b.list(q.ExactMimeType))
	}
	if q.ExactFilename != nil {
		where = append(where, "original_filename IN "+b.list(q.ExactFilename))
	}
	for _, k := range slices.Sorted(maps.Keys(q.ExactMetadata)) {
		where = append(where, "EXISTS (SELECT 1 FROM "+b.metaRows()+" WHERE m.key = "+b.arg(k)+
			" AND m.value IN "+b.list(q.ExactMetadata[k])+")")
	}
	where = rangeWhere(b, where, "uploaded", mapRange(q.Uploaded, micros))
	where = rangeWhere(b, where, "size", q.Size)
	if q.IsImage != nil {
		where = append(where, "is_image = "+b.arg(*q.IsImage))
	}
	if len(q.TagsAny) > 0 {
		where = append(where, "EXISTS (SELECT 1 FROM "+b.tagRows()+" WHERE t.value IN "+b.list(q.TagsAny)+")")
	}
	for _, t := range q.TagsAll {
		where = append(where, "EXISTS (SELECT 1 FROM "+b.tagRows()+" WHERE t.value = "+b.arg(t)+")")
	}
	if len(q.TagsNone) > 0 {
		where = append(where, "NOT EXISTS (SELECT 1 FROM "+b.tagRows()+" WHERE t.value IN "+b.list(q.TagsNone)+")")
	}
	return strings.Join(where, " AND ")
}

func mapRange[T, U any](r satchel.Range[T], f func(T) U) satchel.Range[U] {
	conv := func(p *T) *U {
		if p == nil {
			return nil
		}
		v := f(*p)
		return &v
	}
	return satchel.Range[U]{Gt: conv(r.Gt), Gte: conv(r.Gte), Lt: conv(r.Lt), Lte: conv(r.Lte)}
}

func rangeWhere[T any](b *sqlBuilder, where []string, col string, r satchel.Range[T]) []string {
	for _, c := range []struct {
		op string
		v  *T
	}{{">", r.Gt}, {">=", r.Gte}, {"<", r.Lt}, {"<=", r.Lte}} {
		if c.v != nil {
			where = append(where, col+" "+c.op+" "+b.arg(*c.v))
		}
	}
	return where
}

// searchScore is a file's relevance to q's full-text conditions: per query
// term 100 for its UUID, 4 for the filename, 2 for a metadata value and 1
// for the MIME type; per phrase the same weights for its field.
func searchScore(b *sqlBuilder, q *satchel.FileSearch) string {
	var parts []string
	when := func(cond string, w int) {
		parts = append(parts, "CASE WHEN "+cond+" THEN "+strconv.Itoa(w)+" ELSE 0 END")
	}
	for _, t := range q.Query {
		when("uuid = "+b.arg(strings.ToLower(t)), 100)
		when(b.like("original_filename", t, q.Fuzzy), 4)
		when(b.metaLike(t, q.Fuzzy), 2)
		when(b.like("mime_type", t, q.Fuzzy), 1)
	}
	if q.PhraseFilename != "" {
		when(b.like("original_filename", q.PhraseFilename, q.Fuzzy), 4)
	}
	if q.PhraseMetadata != "" {
		when(b.metaLike(q.PhraseMetadata, q.Fuzzy), 2)
	}
	if q.PhraseMimeType != "" {
		when(b.like("mime_type", q.PhraseMimeType, q.Fuzzy), 1)
	}
	if len(parts) == 0 {
		return "0"
	}
	return "(" + strings.Join(parts, " + ") + ")"
}

// searchOrder is the ORDER BY of q: its keys, or by default the score (with
// full-text conditions) then newest first; the UUID last, in the last
// key's direction, so every file has one place and pages are stable.
func searchOrder(b *sqlBuilder, q *satchel.FileSearch) string {
	keys := q.Sort
	if len(keys) == 0 {
		if q.FullText() {
			keys = append(keys, satchel.SearchSort{Key: satchel.SortScore, Desc: true})
		}
		keys = append(keys, satchel.SearchSort{Key: satchel.SortDatetimeUploaded, Desc: true})
	}
	var out []string
	dir := "ASC"
	for _, k := range keys {
		dir = "ASC"
		if k.Desc {
			dir = "DESC"
		}
		var expr string
		switch k.Key {
		case satchel.SortScore:
			if !q.FullText() {
				continue // every file scores 0
			}
			expr = searchScore(b, q)
		case satchel.SortSize:
			expr = "size"
		case satchel.SortOriginalFilename:
			expr = "original_filename"
		default:
			expr = "uploaded"
		}
		out = append(out, expr+" "+dir)
	}
	return strings.Join(append(out, "uuid "+dir), ", ")
}
