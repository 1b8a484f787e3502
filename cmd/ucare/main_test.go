package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/satchel-project/satchel/server"
	"github.com/satchel-project/satchel/ucare"
)

const (
	testPub    = "clipublickey"
	testSecret = "clisecretkey"
)

// node is a real Satchel on an httptest listener. CDN requests carrying
// operations are recorded and answered with the original (the CLI's part is
// asking for the right URL; rendering is the CDN's).
type node struct {
	URL string
	mu  sync.Mutex
	ops []string
}

func startSatchel(t *testing.T) *node {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	s, err := server.New(context.Background(), server.Config{
		ListenURL: ts.URL, DataDir: t.TempDir(), FetchAllowPrivate: true,
		DemoPublicKey: testPub, DemoSecretKey: testSecret,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{URL: ts.URL}
	h := s.Handler()
	ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			if id, ops, ok := strings.Cut(r.URL.Path, "/-/"); ok && len(id) == 37 {
				n.mu.Lock()
				n.ops = append(n.ops, r.URL.Path)
				n.mu.Unlock()
				_ = ops
				r = r.Clone(r.Context())
				r.URL.Path, r.URL.RawPath = id+"/", ""
			}
		}
		h.ServeHTTP(w, r)
	})
	t.Cleanup(func() { ts.Close(); s.Close() })
	return n
}

// result is one run of the CLI.
type result struct {
	code           int
	stdout, stderr string
}

// ucareRun runs the CLI in-process with the node's bases and keys as flags
// unless noFlags.
type runner struct {
	t    *testing.T
	n    *node
	home string
	wd   string
	envs map[string]string
	tty  bool
	in   io.Reader
}

func newRunner(t *testing.T, n *node) *runner {
	return &runner{t: t, n: n, home: t.TempDir(), wd: t.TempDir(), envs: map[string]string{}}
}

func (r *runner) raw(args ...string) result {
	var out, errb bytes.Buffer
	in := r.in
	if in == nil {
		in = strings.NewReader("")
	}
	e := &env{stdin: in, stdout: &out, stderr: &errb, getenv: func(k string) string { return r.envs[k] }, home: r.home, wd: r.wd, tty: r.tty}
	code := run(context.Background(), args, e)
	return result{code, out.String(), errb.String()}
}

// ucare runs with the node's settings as global flags.
func (r *runner) ucare(args ...string) result {
	all := []string{"--pub_key", testPub, "--secret", testSecret, "--api_base", r.n.URL, "--upload_base", r.n.URL, "--cdn_base", r.n.URL}
	return r.raw(append(all, args...)...)
}

func (r *runner) ok(args ...string) string {
	r.t.Helper()
	res := r.ucare(args...)
	if res.code != 0 {
		r.t.Fatalf("ucare %v: exit %d\nstdout: %s\nstderr: %s", args, res.code, res.stdout, res.stderr)
	}
	return res.stdout
}

func (r *runner) okJSON(v any, args ...string) {
	r.t.Helper()
	out := r.ok(append([]string{"--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		r.t.Fatalf("ucare %v: not JSON: %v\n%s", args, err, out)
	}
}

type fileJSON struct {
	UUID             string  `json:"uuid"`
	Size             int64   `json:"size"`
	OriginalFilename string  `json:"original_filename"`
	DatetimeStored   *string `json:"datetime_stored"`
	DatetimeRemoved  *string `json:"datetime_removed"`
	IsImage          bool    `json:"is_image"`
}

type uploadJSON struct {
	Token  string    `json:"token"`
	UUID   string    `json:"uuid"`
	CDNURL string    `json:"cdn_url"`
	File   *fileJSON `json:"file"`
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 6))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestUploadGetStoreDelete(t *testing.T) {
	t.Parallel()
	n := startSatchel(t)
	r := newRunner(t, n)
	dir := t.TempDir()
	p := writeFile(t, dir, "report.txt", []byte("quarterly numbers\n"))

	// Plain output: the UUID on the first line.
	out := r.ok("upload", "--nostore", p)
	id := strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
	if !uuidRe.MatchString(id) {
		t.Fatalf("upload printed %q", out)
	}
	out = r.ok("get", id)
	if !strings.Contains(out, "report.txt") || !strings.Contains(out, "temporary") {
		t.Fatalf("get: %s", out)
	}
	var f fileJSON
	r.okJSON(&f, "get", id)
	if f.UUID != id || f.Size != 18 || f.DatetimeStored != nil {
		t.Fatalf("get --json: %+v", f)
	}
	if out := r.ok("store", id); strings.TrimSpace(out) != "stored "+id {
		t.Fatalf("store: %q", out)
	}
	r.okJSON(&f, "get", n.URL+"/"+id+"/") // a CDN URL works as well
	if f.DatetimeStored == nil {
		t.Fatal("not stored")
	}
	var del struct {
		Files    []fileJSON        `json:"files"`
		Problems map[string]string `json:"problems"`
	}
	r.okJSON(&del, "delete", "--nowait", id)
	if len(del.Files) != 1 || del.Files[0].DatetimeRemoved == nil {
		t.Fatalf("delete --json: %+v", del)
	}
	if out := r.ok("get", id); !strings.Contains(out, "removed") {
		t.Fatalf("get after delete: %s", out)
	}

	// Flags after the positional argument, JSON, --store, --info, --cdnurl.
	var up uploadJSON
	r.okJSON(&up, "upload", p, "--cdnurl", "--info")
	if up.File == nil || up.File.DatetimeStored == nil || up.CDNURL != n.URL+"/"+up.UUID+"/" {
		t.Fatalf("upload --cdnurl --info: %+v", up)
	}
	out = r.ok("upload", "--store", "--cdnurl", p)
	if !strings.Contains(out, "File stored successfully.") || !strings.Contains(out, "CDN url: "+n.URL+"/") {
		t.Fatalf("upload --store --cdnurl: %s", out)
	}
	// Standard input.
	r.in = strings.NewReader("from stdin")
	r.okJSON(&up, "upload", "-", "--info")
	r.in = nil
	if up.File == nil || up.File.Size != 10 || up.File.OriginalFilename != "stdin" {
		t.Fatalf("stdin upload: %+v", up.File)
	}
	// A large file goes multipart.
	big := make([]byte, 11<<20)
	for i := range big {
		big[i] = byte(i % 251)
	}
	bp := writeFile(t, dir, "big.bin", big)
	r.okJSON(&up, "upload", bp, "--info")
	if up.File.Size != int64(len(big)) {
		t.Fatalf("big upload: %+v", up.File)
	}
}

func TestListFilesAndGroups(t *testing.T) {
	t.Parallel()
	n := newNodeWithFiles(t)
	r := newRunner(t, n.node)
	var files []fileJSON
	r.okJSON(&files, "list_files", "--request_limit", "2")
	if len(files) != 4 {
		t.Fatalf("list_files: %d files", len(files))
	}
	var names []string
	for _, f := range files {
		names = append(names, f.OriginalFilename)
	}
	if !slices.Equal(names, []string{"a.txt", "b.txt", "c.txt", "d.txt"}) {
		t.Fatalf("names %v", names)
	}
	r.okJSON(&files, "list_files", "--limit", "3", "--request_limit", "1", "--ordering", "-datetime_uploaded")
	if len(files) != 3 || files[0].OriginalFilename != "d.txt" {
		t.Fatalf("--limit 3 descending: %+v", files)
	}
	r.okJSON(&files, "list_files", "--stored", "True")
	if len(files) != 2 {
		t.Fatalf("--stored True: %d", len(files))
	}
	r.okJSON(&files, "list_files", "--stored", "False", "--limit", "None")
	if len(files) != 2 {
		t.Fatalf("--stored False: %d", len(files))
	}
	out := r.ok("list_files")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 5 || !strings.HasPrefix(lines[0], "UUID") {
		t.Fatalf("plain list_files:\n%s", out)
	}
	// create_group, then list_groups.
	var g struct {
		ID         string `json:"id"`
		FilesCount int    `json:"files_count"`
	}
	r.okJSON(&g, "create_group", n.ids[0], n.ids[1]+"/-/resize/10x/")
	if g.FilesCount != 2 || !strings.HasSuffix(g.ID, "~2") {
		t.Fatalf("create_group: %+v", g)
	}
	out = r.ok("create_group", n.ids[2])
	if !strings.HasSuffix(strings.SplitN(out, "\n", 2)[0], "~1") || !strings.Contains(out, "cdn_url:") {
		t.Fatalf("plain create_group:\n%s", out)
	}
	var groups []struct {
		ID string `json:"id"`
	}
	r.okJSON(&groups, "list_groups", "--request_limit", "1")
	if len(groups) != 2 || groups[0].ID != g.ID {
		t.Fatalf("list_groups: %+v", groups)
	}
}

type filledNode struct {
	*node
	ids []string
}

// newNodeWithFiles uploads a.txt, b.txt (stored) and c.txt, d.txt (temporary).
func newNodeWithFiles(t *testing.T) *filledNode {
	n := startSatchel(t)
	r := newRunner(t, n)
	dir := t.TempDir()
	fn := &filledNode{node: n}
	for i, name := range []string{"a.txt", "b.txt", "c.txt", "d.txt"} {
		store := "--store"
		if i >= 2 {
			store = "--nostore"
		}
		out := r.ok("upload", store, writeFile(t, dir, name, []byte("content of "+name)))
		fn.ids = append(fn.ids, strings.TrimSpace(strings.SplitN(out, "\n", 2)[0]))
	}
	return fn
}

func TestUploadFromURL(t *testing.T) {
	t.Parallel()
	n := startSatchel(t)
	r := newRunner(t, n)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/gone.txt" {
			http.NotFound(w, req)
			return
		}
		io.WriteString(w, "fetched body")
	}))
	defer src.Close()
	var up uploadJSON
	r.okJSON(&up, "upload_from_url", src.URL+"/page.txt", "--store", "--info")
	if up.File == nil || up.File.OriginalFilename != "page.txt" || up.File.Size != 12 || up.File.DatetimeStored == nil {
		t.Fatalf("upload_from_url --json: %+v", up)
	}
	out := r.ok("upload_from_url", "--cdnurl", src.URL+"/other.txt")
	if !strings.Contains(out, "File stored successfully.") || !strings.Contains(out, "CDN url: "+n.URL+"/") {
		t.Fatalf("upload_from_url --cdnurl: %s", out)
	}
	out = r.ok("upload_from_url", "--nowait", src.URL+"/x.txt")
	if strings.TrimSpace(out) == "" || strings.Contains(out, "\n\n") {
		t.Fatalf("--nowait printed %q", out)
	}
	res := r.ucare("upload_from_url", src.URL+"/gone.txt")
	if res.code != exitError || !strings.Contains(res.stderr, "ERROR:") {
		t.Fatalf("failing fetch: %+v", res)
	}
}

func TestSync(t *testing.T) {
	t.Parallel()
	n := startSatchel(t)
	r := newRunner(t, n)
	src := t.TempDir()
	var ids []string
	names := []string{"notes.txt", "pic.png", "README"}
	contents := [][]byte{[]byte("text file"), pngBytes(t), []byte("no extension")}
	for i, name := range names {
		var up uploadJSON
		r.okJSON(&up, "upload", "--store", writeFile(t, src, name, contents[i]))
		ids = append(ids, up.UUID)
	}
	// Default pattern: <dir>/${uuid}${ext}.
	out := t.TempDir()
	r.ok("sync", out)
	want := []string{ids[0] + ".txt", ids[1] + ".png", ids[2]}
	sort.Strings(want)
	if got := tree(t, out); !slices.Equal(got, want) {
		t.Fatalf("default tree %v, want %v", got, want)
	}
	for i, id := range ids {
		b, _ := os.ReadFile(filepath.Join(out, id+filepath.Ext(names[i])))
		if !bytes.Equal(b, contents[i]) {
			t.Fatalf("%s: content differs", names[i])
		}
	}
	// A pattern with directories and the original name, JSON report.
	out2 := t.TempDir()
	var report []syncResult
	r.okJSON(&report, "sync", filepath.Join(out2, "${uuid}", "${filename}"))
	want = []string{ids[0] + "/notes.txt", ids[1] + "/pic.png", ids[2] + "/README"}
	sort.Strings(want)
	if got := tree(t, out2); !slices.Equal(got, want) {
		t.Fatalf("pattern tree %v, want %v", got, want)
	}
	if len(report) != 3 || report[0].Status != "downloaded" {
		t.Fatalf("report: %+v", report)
	}
	// Existing files are kept without --replace, rewritten with it.
	victim := filepath.Join(out, ids[0]+".txt")
	os.WriteFile(victim, []byte("local edit"), 0o600)
	res := r.ucare("sync", out)
	if res.code != 0 || !strings.Contains(res.stderr, "already exists") {
		t.Fatalf("sync again: %+v", res)
	}
	if b, _ := os.ReadFile(victim); string(b) != "local edit" {
		t.Fatal("overwritten without --replace")
	}
	r.ok("sync", "--replace", out)
	if b, _ := os.ReadFile(victim); string(b) != "text file" {
		t.Fatal("not replaced with --replace")
	}
	// --uuids limits the sync; --effects applies to images only.
	out3 := t.TempDir()
	r.ok("sync", "--uuids", ids[1], ids[0], "--effects", "-/resize/4x/-/format/png/", filepath.Join(out3, "${effects}", "${uuid}${ext}"))
	want = []string{"resize/4x/-/format/png/" + ids[1] + ".png", ids[0] + ".txt"}
	sort.Strings(want)
	if got := tree(t, out3); !slices.Equal(got, want) {
		t.Fatalf("effects tree %v, want %v", got, want)
	}
	n.mu.Lock()
	ops := slices.Clone(n.ops)
	n.mu.Unlock()
	if !slices.Equal(ops, []string{"/" + ids[1] + "/-/resize/4x/-/format/png/"}) {
		t.Fatalf("CDN requests with operations: %v", ops)
	}
	// A limit, and a bad --effects.
	out4 := t.TempDir()
	r.ok("sync", "--limit", "1", out4)
	if got := tree(t, out4); len(got) != 1 {
		t.Fatalf("--limit 1: %v", got)
	}
	if res := r.ucare("sync", "--effects", "resize/nonsense/", out4); res.code != exitUsage {
		t.Fatalf("bad effects: %+v", res)
	}
}

// tree lists the files under dir as slash paths.
func tree(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	sort.Strings(out)
	return out
}

func TestSettingsPrecedence(t *testing.T) {
	t.Parallel()
	n := startSatchel(t)
	r := newRunner(t, n)
	// ~/.uploadcare: wrong secret, right bases.
	os.WriteFile(filepath.Join(r.home, ".uploadcare"), []byte("[ucare]\npub_key = "+testPub+"\nsecret = wrong\napi_base = "+n.URL+"\nupload_base = "+n.URL+"\ncdn_base = "+n.URL+"\n"), 0o600)
	res := r.raw("list_files")
	if res.code != exitAuth {
		t.Fatalf("wrong secret from ~/.uploadcare: %+v", res)
	}
	// ./uploadcare.ini overrides it.
	os.WriteFile(filepath.Join(r.wd, "uploadcare.ini"), []byte("; local settings\n[other]\nsecret = nope\n[ucare]\nsecret: "+testSecret+"\n"), 0o600)
	if res := r.raw("list_files"); res.code != 0 {
		t.Fatalf("uploadcare.ini secret: %+v", res)
	}
	// The environment overrides the files.
	r.envs["UPLOADCARE_SECRET_KEY"] = "wrong-again"
	if res := r.raw("list_files"); res.code != exitAuth {
		t.Fatalf("env secret: %+v", res)
	}
	// Flags override everything.
	if res := r.raw("--secret", testSecret, "list_files"); res.code != 0 {
		t.Fatalf("flag secret: %+v", res)
	}
	if res := r.raw("list_files", "--secret="+testSecret); res.code != 0 {
		t.Fatalf("flag after the command: %+v", res)
	}
	r.envs["UPLOADCARE_API_BASE"] = "http://127.0.0.1:1"
	if res := r.raw("--secret", testSecret, "list_files"); res.code != exitNetwork {
		t.Fatalf("env base to nowhere: %+v", res)
	}
	if res := r.raw("--secret", testSecret, "--api_base", n.URL, "list_files"); res.code != 0 {
		t.Fatalf("flag base: %+v", res)
	}

	s := defaultSettings()
	os.WriteFile(filepath.Join(r.wd, "bad.ini"), []byte("[ucare]\nverify_api_ssl = maybe\n"), 0o600)
	if err := s.loadINI(filepath.Join(r.wd, "bad.ini")); err == nil {
		t.Fatal("a bad boolean was accepted")
	}
	os.WriteFile(filepath.Join(r.wd, "ok.ini"), []byte("[ucare]\nverify_api_ssl = no\nverify_upload_ssl = off\napi_version = 0.6\n"), 0o600)
	if err := s.loadINI(filepath.Join(r.wd, "ok.ini")); err != nil || s.VerifyAPI || s.VerifyUpload || s.APIVersion != "0.6" {
		t.Fatalf("ok.ini: %+v %v", s, err)
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	n := startSatchel(t)
	r := newRunner(t, n)
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"get", "00000000-0000-4000-8000-000000000000"}, exitNotFound},
		{[]string{"store", "00000000-0000-4000-8000-000000000000"}, exitNotFound},
		{[]string{"get"}, exitUsage},
		{[]string{"frobnicate"}, exitUsage},
		{[]string{"list_files", "--stored", "perhaps"}, exitUsage},
		{[]string{"upload", "/no/such/file"}, exitUsage},
		{[]string{"--secret", "wrong", "list_files"}, exitAuth},
		{[]string{"--pub_key", "unknown", "upload", "/dev/null"}, exitAuth},
		{[]string{"--api_base", "http://127.0.0.1:1", "list_files"}, exitNetwork},
		{[]string{"list_files", "--api_version", "0.3"}, exitUsage},
	} {
		if res := r.ucare(c.args...); res.code != c.code {
			t.Errorf("%v: exit %d, want %d\n%s", c.args, res.code, c.code, res.stderr)
		}
	}
	if res := r.raw("list_files"); res.code != exitUsage || !strings.Contains(res.stderr, "no public key") {
		t.Fatalf("no keys: %+v", res)
	}
	if res := r.raw("--pub_key", "k", "list_files"); res.code != exitUsage || !strings.Contains(res.stderr, "secret") {
		t.Fatalf("no secret: %+v", res)
	}
	if res := r.raw("--version"); res.code != 0 || !strings.HasPrefix(res.stdout, "ucare ") {
		t.Fatalf("--version: %+v", res)
	}
	if res := r.raw("help", "sync"); res.code != 0 || !strings.Contains(res.stdout, "--effects") {
		t.Fatalf("help sync: %+v", res)
	}
	if res := r.raw(); res.code != exitUsage {
		t.Fatalf("no command: %+v", res)
	}
}

func TestProgressBar(t *testing.T) {
	t.Parallel()
	n := startSatchel(t)
	r := newRunner(t, n)
	r.tty = true
	p := writeFile(t, t.TempDir(), "data.bin", make([]byte, 300_000))
	res := r.ucare("upload", p)
	if res.code != 0 || !strings.Contains(res.stderr, "100%") || !strings.Contains(res.stderr, "[###") || !strings.HasSuffix(res.stderr, "\n") {
		t.Fatalf("progress bar: %+v", res)
	}
	// Never with --json, never without a terminal.
	if res := r.ucare("--json", "upload", p); strings.Contains(res.stderr, "%") {
		t.Fatalf("bar with --json: %q", res.stderr)
	}
	r.tty = false
	if res := r.ucare("upload", p); res.stderr != "" {
		t.Fatalf("bar without a terminal: %q", res.stderr)
	}
	r.tty = true
	out := t.TempDir()
	if res := r.ucare("sync", out); res.code != 0 || !strings.Contains(res.stderr, "100%") {
		t.Fatalf("sync progress: %+v", res)
	}
}

func TestBuildPath(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ pattern, name, effects, want string }{
		{"out", "a.txt", "", "out/U.txt"},
		{"out/${uuid}/${filename}", "../../etc/passwd", "", "out/U/.._.._etc_passwd"},
		{"${filename}", "..", "", "_"},
		{"x/${effects}/${uuid}${ext}", "p.png", "resize/2x/", "x/resize/2x/U.png"},
		{"x/${unknown}", "p.png", "", "x/${unknown}"},
	} {
		got, err := buildPathFor(c.pattern, c.name, c.effects)
		if err != nil || filepath.ToSlash(got) != c.want {
			t.Errorf("%q with %q: %q %v, want %q", c.pattern, c.name, got, err, c.want)
		}
	}
	if _, err := buildPathFor("${effects}", "x", "a/../b"); err == nil {
		t.Error("effects climbing out accepted")
	}
}

func buildPathFor(pattern, name, effects string) (string, error) {
	return buildPath(pattern, &ucare.File{UUID: "U", OriginalFilename: name}, effects)
}
