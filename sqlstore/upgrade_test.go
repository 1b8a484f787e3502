package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/testenv"
	"github.com/satchel-project/satchel/sqlstore"
)

// upgradeCase is a database of one dialect: how to reach it raw and
// through the store.
type upgradeCase struct {
	pg     bool
	driver string
	dsn    string
	open   func() (*sqlstore.DB, error)
}

func sqliteCase(t *testing.T, name string) upgradeCase {
	path := filepath.Join(t.TempDir(), name)
	return upgradeCase{driver: "sqlite", dsn: "file:" + path,
		open: func() (*sqlstore.DB, error) { return sqlstore.OpenSQLite(context.Background(), path) }}
}

func postgresCase(t *testing.T) upgradeCase {
	dsn := testenv.PostgresDSN(t)
	return upgradeCase{pg: true, driver: "pgx", dsn: dsn,
		open: func() (*sqlstore.DB, error) { return sqlstore.OpenPostgres(context.Background(), dsn) }}
}

func TestUpgradeFromMainSQLite(t *testing.T) {
	testUpgradeFromMain(t, "testdata/main-2026-12-02-sqlite.sql", func() upgradeCase { return sqliteCase(t, fmt.Sprint(time.Now().UnixNano(), ".db")) })
}

func TestUpgradeFromMainPostgres(t *testing.T) {
	testenv.PostgresDSN(t) // skip early when unset
	testUpgradeFromMain(t, "testdata/main-2026-12-02-postgres.sql", func() upgradeCase { return postgresCase(t) })
}

// testUpgradeFromMain creates a database as the main branch of 2026-12-02
// did (its frozen schema and schema_version), fills it, opens it with the
// current code and checks that the data is intact, the store works and the
// schema is the one a new database gets.
func testUpgradeFromMain(t *testing.T, frozen string, newCase func() upgradeCase) {
	ctx := context.Background()
	ddl, err := os.ReadFile(frozen)
	if err != nil {
		t.Fatal(err)
	}
	old := newCase()
	raw, err := sql.Open(old.driver, old.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(ctx, string(ddl)); err != nil {
		t.Fatalf("frozen schema: %v", err)
	}
	// Rows as today's code writes them (the identity columns assign ids).
	q := func(s string) string {
		if !old.pg {
			return s
		}
		n := 0
		return regexp.MustCompile(`\?`).ReplaceAllStringFunc(s, func(string) string { n++; return fmt.Sprint("$", n) })
	}
	exec := func(s string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q(s), args...); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	const created = 1764672000000000 // 2025-12-02, in µs
	for _, key := range []string{"pub-one", "pub-two"} {
		exec(`INSERT INTO projects (name, public_key, secret_key, autostore, signed_uploads, max_file_size, allowed_types, created, storages, secure_secret)
			VALUES (?, ?, 'sec', TRUE, FALSE, 1000, '["image/*"]', ?, '{"s3":"s3://b"}', 'abcd')`, "name "+key, key, created)
	}
	var pid int64
	if err := raw.QueryRowContext(ctx, q(`SELECT id FROM projects WHERE public_key=?`), "pub-one").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	const fileUUID = "3e8cf5e3-6b6f-4b1e-8a84-0c2d1c6f0a01"
	exec(`INSERT INTO files (uuid, project_id, size, mime_type, original_filename, filename, blob_key, checksum, is_image, is_ready, uploaded, stored, removed, source, source_url, content_info, metadata, tags)
		VALUES (?, ?, 42, 'image/png', 'a b.png', 'ab.png', ?, 'sha256:00', TRUE, TRUE, ?, ?, NULL, 'local', '', '{"mime":{"mime":"image/png","type":"image","subtype":"png"}}', '{"k":"v"}', '["t"]')`,
		fileUUID, pid, fileUUID, created, created)
	exec(`INSERT INTO project_counters (project_id, stored, unstored, removed) VALUES (?, 1, 0, 0)`, pid)
	exec(`INSERT INTO groups (id, project_id, created, stored, removed, members) VALUES (?, ?, ?, NULL, NULL, ?)`,
		"g-1~1", pid, created, `[{"FileUUID":"`+fileUUID+`","DefaultEffects":"-/resize/10x/"}]`)
	exec(`INSERT INTO webhooks (project_id, event, target_url, is_active, signing_secret, version, created, updated)
		VALUES (?, 'file.uploaded', 'https://example.com/hook', TRUE, 'shh', '0.7', ?, ?)`, pid, created, created)
	var hid int64
	if err := raw.QueryRowContext(ctx, `SELECT id FROM webhooks`).Scan(&hid); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO events (id, project_id, type, payload, created) VALUES ('ev-1', ?, 'file.uploaded', '{"file":null}', ?)`, pid, created)
	exec(`INSERT INTO deliveries (id, event_id, webhook_id, project_id, attempts, next_attempt, lease_until, status, last_status, last_response, last_error, updated)
		VALUES (?, 'ev-1', ?, ?, 1, ?, 0, 'delivered', 200, 'ok', '', ?)`, fmt.Sprint("ev-1:", hid), hid, pid, created, created)
	exec(`INSERT INTO settings (name, value) VALUES ('cdn_secret', 'keep-me')`)
	exec(`INSERT INTO upload_parts (session_uuid, n, size, checksum, writer, writing) VALUES ('s-1', 1, 5, 'c', 'w', FALSE)`)
	raw.Close()

	db, err := old.open()
	if err != nil {
		t.Fatalf("open a database of main: %v", err)
	}
	p, err := db.ProjectByPublicKey(ctx, "pub-one")
	if err != nil || p.ID != pid || p.SecretKey != "sec" || !p.Autostore || p.MaxFileSize != 1000 || p.Storages["s3"] != "s3://b" ||
		p.SecureDeliverySecret != "abcd" || !slices.Equal(p.AllowedTypes, []string{"image/*"}) {
		t.Fatalf("project: %+v %v", p, err)
	}
	f, err := db.File(ctx, pid, fileUUID)
	if err != nil || f.Size != 42 || f.Stored == nil || f.Metadata["k"] != "v" || f.ContentInfo.Mime.Subtype != "png" {
		t.Fatalf("file: %+v %v", f, err)
	}
	if c, err := db.FileCounts(ctx, pid); err != nil || c.Stored != 1 {
		t.Fatalf("counters: %+v %v", c, err)
	}
	if g, err := db.Group(ctx, pid, "g-1~1"); err != nil || len(g.Members) != 1 || g.Members[0].DefaultEffects != "-/resize/10x/" {
		t.Fatalf("group: %+v %v", g, err)
	}
	if d, err := db.Delivery(ctx, fmt.Sprint("ev-1:", hid)); err != nil || d.Status != satchel.DeliveryDelivered || d.LastResponse != "ok" {
		t.Fatalf("delivery: %+v %v", d, err)
	}
	if v, err := db.Setting(ctx, "cdn_secret"); err != nil || v != "keep-me" {
		t.Fatalf("setting: %q %v", v, err)
	}
	if _, err := db.Setting(ctx, "schema_version"); !satchel.IsNotFound(err) {
		t.Fatalf("old schema version left behind: %v", err)
	}

	// The new code works on it: identities continue, conflicts are told by
	// the driver's codes, the outbox and the multipart columns work.
	np := &satchel.Project{Name: "new", PublicKey: "pub-three", SecretKey: "x"}
	if err := db.CreateProject(ctx, np); err != nil || np.ID <= pid {
		t.Fatalf("new project: id %d (old %d) %v", np.ID, pid, err)
	}
	if err := db.CreateProject(ctx, &satchel.Project{Name: "dup", PublicKey: "pub-two", SecretKey: "x"}); !errors.Is(err, satchel.ErrConflict) {
		t.Fatalf("duplicate project key: %v", err)
	}
	if err := db.CreateWebhook(ctx, &satchel.Webhook{ProjectID: pid, Event: satchel.EventFileUploaded, TargetURL: "https://example.com/hook", Version: "0.7"}); !errors.Is(err, satchel.ErrConflict) {
		t.Fatalf("duplicate webhook: %v", err)
	}
	nf := &satchel.File{UUID: "9d1f3b1e-0000-4000-8000-000000000002", ProjectID: pid, Size: 1, MimeType: "text/plain", Filename: "x", BlobKey: "k",
		Uploaded: time.Now().UTC()}
	ev := &satchel.Event{ID: "ev-2", ProjectID: pid, Type: satchel.EventFileUploaded, Payload: []byte(`{"file":null}`)}
	if err := db.CreateFiles(ctx, []*satchel.File{nf}, []*satchel.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Delivery(ctx, fmt.Sprint("ev-2:", hid)); err != nil {
		t.Fatalf("outbox after upgrade: %v", err)
	}
	if err := db.CreateFiles(ctx, []*satchel.File{nf}, nil); !errors.Is(err, satchel.ErrConflict) {
		t.Fatalf("duplicate file: %v", err)
	}
	if _, _, err := db.ClaimPart(ctx, "s-1", 1, "w2"); !satchel.IsNotFound(err) {
		t.Fatalf("claim part of a missing session: %v", err)
	}
	adopted := describe(t, old)
	db.Close()

	// Opening it again changes nothing.
	db, err = old.open()
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	db.Close()

	// The schema is the one a new database gets.
	fresh := newCase()
	db, err = fresh.open()
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if got := describe(t, fresh); !slices.Equal(got, adopted) {
		t.Fatalf("an upgraded database differs from a new one:\nupgraded:\n%s\nnew:\n%s", strings.Join(adopted, "\n"), strings.Join(got, "\n"))
	}
	if !slices.ContainsFunc(adopted, func(s string) bool { return strings.Contains(s, "goose_db_version") }) {
		t.Fatal("no migration record")
	}
}

// describe lists the columns and indexes of a database's tables (River's
// left out) in a comparable form.
func describe(t *testing.T, c upgradeCase) []string {
	t.Helper()
	db, err := sql.Open(c.driver, c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	add := func(query string) {
		rows, err := db.Query(query)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, v := range vals {
				b.WriteString(v.String + " | ")
			}
			out = append(out, b.String())
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if c.pg {
		add(`SELECT table_name, column_name, ordinal_position, data_type, is_nullable, column_default, is_identity
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name NOT LIKE 'river%'`)
		add(`SELECT tablename, indexname, regexp_replace(indexdef, ' ON [a-z0-9_]+\.', ' ON ') FROM pg_indexes
			WHERE schemaname = current_schema() AND tablename NOT LIKE 'river%'`)
	} else {
		add(`SELECT m.name, p.cid, p.name, p.type, p."notnull", p.dflt_value, p.pk FROM sqlite_master m, pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'river%'`)
		add(`SELECT m.name, l.name, l."unique", l.partial, i.seqno, i.name FROM sqlite_master m, pragma_index_list(m.name) l, pragma_index_info(l.name) i
			WHERE m.type = 'table' AND m.name NOT LIKE 'river%'`)
		add(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name NOT LIKE 'river%'`)
	}
	slices.Sort(out)
	return out
}
