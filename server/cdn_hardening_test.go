package server_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/internal/testenv"
)

// storeFile records a file with exactly the given original name in the demo
// project, through the server's own blob store and metadata store: names an
// upload request could not carry (separators, NUL) are reachable this way.
func storeFile(t *testing.T, s *testServer, name string, data []byte) string {
	t.Helper()
	ctx := context.Background()
	p, err := s.Store.ProjectByPublicKey(ctx, testPub)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	w, err := s.Bucket.NewWriter(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	now := time.Now().UTC()
	f := &satchel.File{
		UUID: id, ProjectID: p.ID, Size: int64(len(data)), MimeType: "application/octet-stream",
		OriginalFilename: name, Filename: satchel.SanitizeFilename(name), BlobKey: id,
		Checksum: "sha256:" + hex.EncodeToString(sum[:]), IsReady: true, Uploaded: now, Stored: &now, Source: "local",
	}
	if err := s.Store.CreateFiles(ctx, []*satchel.File{f}, nil); err != nil {
		t.Fatal(err)
	}
	return id
}

// makeGroup groups files through the Upload API and returns the group ID.
func makeGroup(t *testing.T, s *testServer, ids []string) string {
	t.Helper()
	v := url.Values{"pub_key": {testPub}}
	for i, id := range ids {
		v.Set(fmt.Sprintf("files[%d]", i), id)
	}
	code, body := postURLEncoded(t, s.URL+"/group/", v)
	if code != 200 {
		t.Fatalf("group: %d %s", code, body)
	}
	return strings.Split(strings.Split(body, `"id":"`)[1], `"`)[0]
}

// checkEntryName fails unless name is one safe path element.
func checkEntryName(t *testing.T, name string) {
	t.Helper()
	switch {
	case name == "" || name == "." || name == "..":
		t.Errorf("unsafe entry name %q", name)
	case strings.ContainsAny(name, "/\\"):
		t.Errorf("entry name %q has a separator", name)
	case strings.HasPrefix(name, "."):
		t.Errorf("entry name %q starts with a dot", name)
	case !utf8.ValidString(name):
		t.Errorf("entry name %q is not UTF-8", name)
	case len(name) > 255:
		t.Errorf("entry name of %d bytes", len(name))
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			t.Errorf("entry name %q has control character %U", name, r)
		}
	}
}

func TestCDNArchiveEntryNames(t *testing.T) {
	s := startServer(t, nil)
	long := strings.Repeat("é", 200) + ".txt" // 404 bytes
	names := []string{
		"..", ".", "../x", "../../etc/passwd", "a/b.txt", `c:\windows\d.txt`, "/", "", "...", ". (2).", ".hidden",
		"nul\x00name.txt", "bell\x07\x1b[31mred.txt", "line\nbreak.txt", "rtl\u202etxt.exe",
		"dup.txt", "dup.txt", "DUP.txt", "dup (1).txt", "x", long, long,
	}
	if testenv.HasPostgres() {
		// PostgreSQL text cannot hold NUL; uploads strip it before it gets there.
		names[11] = "nul name.txt"
	}
	var ids []string
	contents := map[string]bool{}
	for i, n := range names {
		data := []byte(fmt.Sprintf("member %d", i))
		contents[string(data)] = true
		ids = append(ids, storeFile(t, s, n, data))
	}
	gid := makeGroup(t, s, ids)

	check := func(format string, got []string, bodies []string) {
		t.Helper()
		if len(got) != len(names) {
			t.Fatalf("%s: %d entries, want %d: %q", format, len(got), len(names), got)
		}
		seen := map[string]bool{}
		for i, n := range got {
			checkEntryName(t, n)
			if seen[strings.ToLower(n)] {
				t.Errorf("%s: duplicate entry %q", format, n)
			}
			seen[strings.ToLower(n)] = true
			if !contents[bodies[i]] {
				t.Errorf("%s: entry %q holds %q", format, n, bodies[i])
			}
		}
	}

	resp, tb := get(t, s.URL+"/"+gid+"/archive/tar/", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("tar: %d %s", resp.StatusCode, tb)
	}
	var tarNames, tarBodies []string
	tr := tar.NewReader(bytes.NewReader(tb))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		tarNames, tarBodies = append(tarNames, h.Name), append(tarBodies, string(b))
	}
	check("tar", tarNames, tarBodies)

	resp, zb := get(t, s.URL+"/"+gid+"/archive/zip/", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("zip: %d %s", resp.StatusCode, zb)
	}
	zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
	if err != nil {
		t.Fatal(err)
	}
	var zipNames, zipBodies []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		zipNames, zipBodies = append(zipNames, f.Name), append(zipBodies, string(b))
	}
	check("zip", zipNames, zipBodies)
	for i := range tarNames {
		if tarNames[i] != zipNames[i] {
			t.Errorf("entry %d: tar %q, zip %q", i, tarNames[i], zipNames[i])
		}
	}

	// Extract with the system tools, when present, into a directory inside
	// a sandbox: every entry must land in that directory and nowhere else.
	extract := func(tool string, archive []byte, args func(archive, dir string) []string) {
		bin, err := exec.LookPath(tool)
		if err != nil {
			t.Logf("%s not installed: extraction not checked", tool)
			return
		}
		sandbox := t.TempDir()
		dir := filepath.Join(sandbox, "out")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		arch := filepath.Join(sandbox, "archive")
		if err := os.WriteFile(arch, archive, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, args(arch, dir)...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", tool, err, out)
		}
		var inside int
		filepath.WalkDir(sandbox, func(p string, d os.DirEntry, err error) error {
			if err != nil || p == sandbox || p == arch || p == dir {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			if strings.HasPrefix(rel, "..") || d.IsDir() {
				t.Errorf("%s: %q outside the target directory or a directory", tool, p)
				return nil
			}
			inside++
			return nil
		})
		if inside != len(names) {
			t.Errorf("%s extracted %d files, want %d", tool, inside, len(names))
		}
	}
	extract("tar", tb, func(a, d string) []string { return []string{"-xf", a, "-C", d} })
	extract("unzip", zb, func(a, d string) []string { return []string{"-q", a, "-d", d} })
}
