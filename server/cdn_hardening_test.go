package server_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/cdn"
	"github.com/satchel-project/satchel/internal/testenv"
	sucare "github.com/satchel-project/satchel/ucare"
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

// escapeToken returns u with its token query value percent-encoded as a
// generic URL library would (url.Values, URLSearchParams).
func escapeToken(t *testing.T, u string) string {
	t.Helper()
	base, tok, ok := strings.Cut(u, "?token=")
	if !ok {
		t.Fatalf("no token in %q", u)
	}
	return base + "?" + url.Values{"token": {tok}}.Encode()
}

func TestCDNSecureDeliveryTokenForms(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	// pyuploadcare's test secret and vectors (exp 2015971200 is in 2033).
	const secret = "73636b61519adede42191efe1e73f02a67c7b692e3765f90c250c230be095211"
	ids := uploadN(t, s.URL, 2, "1")
	gid := makeGroup(t, s, ids)
	other := makeGroup(t, s, []string{ids[1], ids[0]})
	p, _ := s.Store.ProjectByPublicKey(ctx, testPub)
	const vectorGroup = "3b278cee-47bd-4276-8d7d-9cde5902b18c~1"
	if err := s.Store.CreateGroup(ctx, &satchel.Group{ID: vectorGroup, ProjectID: p.ID, Created: time.Now().UTC(),
		Members: []satchel.GroupMember{{FileUUID: ids[0]}}}); err != nil {
		t.Fatal(err)
	}
	p.SecureDeliverySecret = secret
	if err := s.Store.UpdateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond) // CDN project cache

	status := func(u string) int {
		t.Helper()
		resp, _ := get(t, u, nil)
		return resp.StatusCode
	}
	// URLs exactly as pyuploadcare builds them for its group test vectors.
	for _, u := range []string{
		"/" + vectorGroup + "/nth/0/?token=exp=2015971200~acl=/3b278cee-47bd-4276-8d7d-9cde5902b18c%7e1/nth/0/~hmac=9df9a86460fab102dd0ecb4a36980a1f932b6ce5cf4bdc0307906451fcf8978e",
		"/" + vectorGroup + "/nth/0/?token=exp=2015971200~hmac=3d18d965fbf5d93e434c11ca209e2a7068b50b00962ebf7a19eae357a098bdd2",
	} {
		if c := status(s.URL + u); c != 200 {
			t.Errorf("pyuploadcare vector %s: %d", u, c)
		}
		if c := status(escapeToken(t, s.URL+u)); c != 200 {
			t.Errorf("pyuploadcare vector, token escaped, %s: %d", u, c)
		}
		// Python's requests and httpx send the ACL's %7e as "~".
		if c := status(s.URL + strings.ReplaceAll(u, "%7e", "~")); c != 200 {
			t.Errorf("pyuploadcare vector, %%7e decoded, %s: %d", u, c)
		}
	}

	acl := &sucare.AkamaiACLURLBuilder{CDNBase: s.URL, Secret: secret}
	wild := &sucare.AkamaiACLURLBuilder{CDNBase: s.URL, Secret: secret, Wildcard: true}
	urlTok := &sucare.AkamaiURLTokenBuilder{CDNBase: s.URL, Secret: secret}
	handles := []string{
		ids[0], ids[0] + "/-/resize/4x/", gid, gid + "/nth/0/", gid + "/nth/1/-/resize/4x/",
		gid + "/archive/zip/", gid + "/archive/tar/",
	}
	for _, b := range []struct {
		name string
		b    sucare.SecureURLBuilder
	}{{"acl", acl}, {"url", urlTok}} {
		for _, h := range handles {
			u, err := b.b.SecureURL(h)
			if err != nil {
				t.Fatal(err)
			}
			if c := status(u); c != 200 {
				t.Errorf("%s token as built, %s: %d", b.name, u, c)
			}
			if c := status(escapeToken(t, u)); c != 200 {
				t.Errorf("%s token escaped, %s: %d", b.name, u, c)
			}
			if strings.Contains(h, "~") {
				if c := status(strings.Replace(u, "~", "%7E", 1)); c != 200 {
					t.Errorf("%s token, path with %%7E, %s: %d", b.name, u, c)
				}
			}
		}
	}
	// A wildcard ACL on the group covers its members and archives.
	u, _ := wild.SecureURL(gid)
	_, tok, _ := strings.Cut(u, "?token=")
	for _, sub := range []string{"/nth/0/", "/nth/1/-/resize/4x/", "/archive/zip/"} {
		if c := status(s.URL + "/" + gid + sub + "?token=" + tok); c != 200 {
			t.Errorf("wildcard group token on %s: %d", sub, c)
		}
		if c := status(s.URL + "/" + gid + sub + "?token=" + url.QueryEscape(tok)); c != 200 {
			t.Errorf("wildcard group token escaped on %s: %d", sub, c)
		}
		if c := status(s.URL + "/" + other + sub + "?token=" + tok); c != 403 {
			t.Errorf("wildcard token of another group on %s: %d", sub, c)
		}
	}
	// Tokens stay bound to their paths, and tampering is still refused.
	u, _ = acl.SecureURL(gid + "/nth/0/")
	_, tok, _ = strings.Cut(u, "?token=")
	if c := status(s.URL + "/" + gid + "/nth/1/?token=" + tok); c != 403 {
		t.Errorf("member 0 token on member 1: %d", c)
	}
	if c := status(s.URL + "/" + gid + "/nth/1/?token=" + url.QueryEscape(tok)); c != 403 {
		t.Errorf("member 0 token, escaped, on member 1: %d", c)
	}
	bad := strings.Replace(tok, "hmac=", "hmac=0", 1)
	if c := status(s.URL + "/" + gid + "/nth/0/?token=" + url.QueryEscape(bad)); c != 403 {
		t.Errorf("tampered escaped token: %d", c)
	}
	if c := status(s.URL + "/" + gid + "/nth/0/"); c != 403 {
		t.Errorf("no token: %d", c)
	}
}

// countingStore is the server's store with a count of file lookups; when
// gate is set, each lookup waits for it to close.
type countingStore struct {
	satchel.Store
	files atomic.Int64
	gate  chan struct{}
}

func (c *countingStore) File(ctx context.Context, projectID int64, id string) (*satchel.File, error) {
	c.files.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	return c.Store.File(ctx, projectID, id)
}

// cdnOver serves a CDN handler over the test server's stores.
func cdnOver(t *testing.T, s *testServer, store satchel.Store, size int, ttl time.Duration) (*cdn.Handler, string) {
	t.Helper()
	h := &cdn.Handler{Store: store, Bucket: s.Bucket, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), MetaCacheSize: size, MetaCacheTTL: ttl}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return h, ts.URL
}

func TestCDNMetaCacheBounded(t *testing.T) {
	s := startServer(t, nil)
	cs := &countingStore{Store: s.Store}
	const capacity = 20
	h, base := cdnOver(t, s, cs, capacity, time.Minute)

	// Unknown UUIDs are not kept at all, and each is asked of the store.
	for i := 0; i < 500; i++ {
		if resp, _ := get(t, base+"/"+uuid.NewString()+"/", nil); resp.StatusCode != 404 {
			t.Fatalf("random uuid: %d", resp.StatusCode)
		}
	}
	if n, _ := h.MetaCacheLen(); n != 0 {
		t.Fatalf("%d misses cached", n)
	}
	miss := uuid.NewString()
	before := cs.files.Load()
	get(t, base+"/"+miss+"/", nil)
	get(t, base+"/"+miss+"/", nil)
	if d := cs.files.Load() - before; d != 2 {
		t.Fatalf("two requests for a missing file made %d store lookups, want 2", d)
	}

	// Live files beyond the capacity: the cache stays within it.
	for i := 0; i < 3*capacity; i++ {
		id := storeFile(t, s, fmt.Sprintf("f%d.txt", i), []byte("x"))
		if resp, _ := get(t, base+"/"+id+"/", nil); resp.StatusCode != 200 {
			t.Fatalf("file %d: %d", i, resp.StatusCode)
		}
		if n, _ := h.MetaCacheLen(); n > capacity {
			t.Fatalf("cache holds %d files, capacity %d", n, capacity)
		}
	}
	if n, _ := h.MetaCacheLen(); n != capacity {
		t.Fatalf("cache holds %d files, want %d", n, capacity)
	}
	// The most recent file is a hit.
	id := storeFile(t, s, "last.txt", []byte("x"))
	get(t, base+"/"+id+"/", nil)
	before = cs.files.Load()
	if resp, _ := get(t, base+"/"+id+"/", nil); resp.StatusCode != 200 || cs.files.Load() != before {
		t.Fatalf("cached file: %d, %d store lookups", resp.StatusCode, cs.files.Load()-before)
	}
}

func TestCDNMetaCacheLoadsOnce(t *testing.T) {
	s := startServer(t, nil)
	id := storeFile(t, s, "one.txt", []byte("hello"))
	cs := &countingStore{Store: s.Store, gate: make(chan struct{})}
	_, base := cdnOver(t, s, cs, 100, time.Minute)

	const n = 24
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(base + "/" + id + "/")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	// Hold the first lookup until every request has had the chance to look
	// the file up too (or all did, which is the failure this test is about).
	deadline := time.Now().Add(5 * time.Second)
	for cs.files.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	for wait := time.Now().Add(300 * time.Millisecond); cs.files.Load() < n && time.Now().Before(wait); {
		time.Sleep(5 * time.Millisecond)
	}
	close(cs.gate)
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Errorf("request %d: %d", i, c)
		}
	}
	if got := cs.files.Load(); got != 1 {
		t.Fatalf("%d concurrent requests made %d store lookups, want 1", n, got)
	}
}

func TestCDNServesMultipartRightAfterComplete(t *testing.T) {
	s := startServer(t, nil)
	const size = 11000000
	code, body := postURLEncoded(t, s.URL+"/multipart/start/", url.Values{"UPLOADCARE_PUB_KEY": {testPub}, "filename": {"big.bin"}, "size": {fmt.Sprint(size)}, "content_type": {"application/octet-stream"}})
	if code != 200 {
		t.Fatalf("start: %d %s", code, body)
	}
	var st struct {
		UUID  string   `json:"uuid"`
		Parts []string `json:"parts"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789"), size/10)
	const partSize = 5242880
	for i, u := range st.Parts {
		chunk := data[i*partSize : min((i+1)*partSize, size)]
		if code, _, body := do(t, "PUT", u, bytes.NewReader(chunk), "application/octet-stream"); code != 200 {
			t.Fatalf("part %d: %d %s", i, code, body)
		}
	}
	// Asked for before completion: not there yet.
	if resp, _ := get(t, s.URL+"/"+st.UUID+"/", nil); resp.StatusCode != 404 {
		t.Fatalf("before complete: %d", resp.StatusCode)
	}
	if code, body := postURLEncoded(t, s.URL+"/multipart/complete/", url.Values{"UPLOADCARE_PUB_KEY": {testPub}, "uuid": {st.UUID}}); code != 200 {
		t.Fatalf("complete: %d %s", code, body)
	}
	// At once after completion: served.
	resp, b := get(t, s.URL+"/"+st.UUID+"/", nil)
	if resp.StatusCode != 200 || !bytes.Equal(b, data) {
		t.Fatalf("right after complete: %d, %d bytes", resp.StatusCode, len(b))
	}
}
