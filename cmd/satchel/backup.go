package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/satchel-project/satchel/blobstore"
	_ "modernc.org/sqlite" // the embedded database
)

// The embedded shape keeps its metadata in dataDir/satchel.db and file bytes
// under dataDir/files. A backup directory has the same layout, so it is
// itself a data dir.
const (
	dbFile   = "satchel.db"
	filesDir = "files"
)

// errExternal refuses backups of a node whose data is not in its data dir.
var errExternal = errors.New("backup and restore copy the embedded shape (SQLite and files in the data dir); " +
	"back up PostgreSQL with pg_dump and S3 with bucket versioning or replication")

// backupCmd and restoreCmd are the settings of `satchel backup` and
// `satchel restore`: the embedded shape only (PostgreSQL is backed up with
// pg_dump, S3 by the bucket's own versioning or replication).
type backupCmd struct {
	storeConfig `embed:""`
	StorageURL  string `name:"storage-url" env:"SATCHEL_STORAGE_URL" help:"must be empty: S3 is backed up by the bucket"`
	Dir         string `arg:"" name:"backup-dir" help:"where the copy goes (a new or empty directory)"`
}

type restoreCmd backupCmd

func (c *backupCmd) local() error {
	if c.DatabaseURL != "" || c.StorageURL != "" {
		return errExternal
	}
	return nil
}

func cmdBackup(ctx context.Context, c *backupCmd, out io.Writer) error {
	if err := c.local(); err != nil {
		return err
	}
	st, err := backup(ctx, c.DataDir, c.Dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Backed up %d files (%d bytes) to %s.\n", st.files, st.bytes, c.Dir)
	if st.gone > 0 {
		fmt.Fprintf(out, "%d files were deleted while the backup ran; the backup records them as removed.\n", st.gone)
	}
	return nil
}

func cmdRestore(ctx context.Context, c *restoreCmd, out io.Writer) error {
	if err := (*backupCmd)(c).local(); err != nil {
		return err
	}
	if err := restore(ctx, c.Dir, c.DataDir); err != nil {
		return err
	}
	fmt.Fprintf(out, "Restored %s into %s.\n", c.Dir, c.DataDir)
	return nil
}

type backupStats struct {
	files, gone int
	bytes       int64
}

// backup copies a node's data dir to dir while the node may be running:
// first a consistent snapshot of the database (VACUUM INTO, one read
// transaction), then the bytes of every live file the snapshot knows. Blobs
// never change once written, so the copy is consistent with the snapshot; a
// file deleted after the snapshot and before its bytes were copied is marked
// removed in the backup.
func backup(ctx context.Context, dataDir, dir string) (*backupStats, error) {
	src := filepath.Join(dataDir, dbFile)
	if _, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("no database to back up: %w", err)
	}
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	live, err := sql.Open("sqlite", "file:"+src+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	defer live.Close()
	snapshot := filepath.Join(dir, dbFile)
	if _, err := live.ExecContext(ctx, "VACUUM INTO ?", snapshot); err != nil {
		return nil, fmt.Errorf("snapshot database: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+snapshot+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("open snapshot: %w", err)
	}
	defer db.Close()
	// Multipart uploads in progress have no bytes in the backup.
	if _, err := db.ExecContext(ctx, "DELETE FROM upload_parts; DELETE FROM upload_sessions"); err != nil {
		return nil, fmt.Errorf("snapshot: drop open uploads: %w", err)
	}
	keys, err := liveBlobKeys(ctx, db)
	if err != nil {
		return nil, err
	}
	out, err := blobstore.OpenDisk(filepath.Join(dir, filesDir))
	if err != nil {
		return nil, err
	}
	st := &backupStats{}
	for _, key := range keys {
		n, err := copyBlob(ctx, out, filepath.Join(dataDir, filesDir), key)
		if errors.Is(err, fs.ErrNotExist) {
			st.gone++
			if _, err := db.ExecContext(ctx, "UPDATE files SET removed = ? WHERE blob_key = ? AND removed IS NULL", time.Now().UnixMicro(), key); err != nil {
				return nil, fmt.Errorf("snapshot: mark removed: %w", err)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		st.files++
		st.bytes += n
	}
	// The bucket's scratch directories are not part of a backup.
	for _, sub := range []string{"tmp", "multipart"} {
		if err := os.RemoveAll(filepath.Join(dir, filesDir, sub)); err != nil {
			return nil, err
		}
	}
	if err := db.Close(); err != nil {
		return nil, fmt.Errorf("close snapshot: %w", err)
	}
	return st, syncFile(snapshot)
}

func liveBlobKeys(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT DISTINCT blob_key FROM files WHERE removed IS NULL ORDER BY blob_key")
	if err != nil {
		return nil, fmt.Errorf("snapshot: list files: %w", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("snapshot: list files: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// copyBlob copies the blob key from the data dir's files (srcRoot, in
// either blob layout) into the backup bucket out, durably.
func copyBlob(ctx context.Context, out blobstore.Bucket, srcRoot, key string) (int64, error) {
	in, err := blobstore.OpenDiskBlob(srcRoot, key)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	w, err := out.NewWriter(ctx, key)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(w, in)
	if err != nil {
		w.Abort()
		return 0, fmt.Errorf("backup: copy blob %s: %w", key, err)
	}
	if err := w.Commit(); err != nil {
		return 0, fmt.Errorf("backup: copy blob %s: %w", key, err)
	}
	return n, nil
}

// restore copies a backup into dataDir, which must be empty or absent. The
// database is checked before anything is copied.
func restore(ctx context.Context, dir, dataDir string) error {
	snapshot := filepath.Join(dir, dbFile)
	db, err := sql.Open("sqlite", "file:"+snapshot+"?mode=ro")
	if err != nil {
		return fmt.Errorf("open backup: %w", err)
	}
	var check string
	err = db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check)
	db.Close()
	if err != nil {
		return fmt.Errorf("%s is not a Satchel backup: %w", dir, err)
	}
	if check != "ok" {
		return fmt.Errorf("backup database is damaged: %s", check)
	}
	if err := emptyDir(dataDir); err != nil {
		return err
	}
	if err := copyFile(snapshot, filepath.Join(dataDir, dbFile)); err != nil {
		return err
	}
	return filepath.WalkDir(filepath.Join(dir, filesDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dataDir, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o750)
		}
		return copyFile(p, target)
	})
}

// emptyDir creates dir, or accepts it when it exists and is empty.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, 0o750)
	case err != nil:
		return err
	case len(entries) > 0:
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return fmt.Errorf("%s is not empty (%s)", dir, strings.Join(names, ", "))
	}
	return nil
}

// copyFile copies src to a new file dst and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
