package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
)

// jaResp is a JSON:API answer.
type jaResp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// data returns the "data" object of a single-resource answer.
func (r jaResp) data(t *testing.T) map[string]any {
	t.Helper()
	d, ok := r.body["data"].(map[string]any)
	if !ok {
		t.Fatalf("no data object in %d %s", r.status, r.raw)
	}
	return d
}

func (r jaResp) attr(t *testing.T, name string) any {
	t.Helper()
	return r.data(t)["attributes"].(map[string]any)[name]
}

func (r jaResp) token(t *testing.T) string {
	t.Helper()
	tok, _ := r.data(t)["authentication"].(map[string]any)["access_token"].(string)
	return tok
}

// firstError returns the first entry of an errors answer.
func (r jaResp) firstError(t *testing.T) map[string]any {
	t.Helper()
	es, ok := r.body["errors"].([]any)
	if !ok || len(es) == 0 {
		t.Fatalf("no errors in %d %s", r.status, r.raw)
	}
	return es[0].(map[string]any)
}

func (r jaResp) pointer(t *testing.T) string {
	t.Helper()
	src, _ := r.firstError(t)["source"].(map[string]any)
	p, _ := src["pointer"].(string)
	return p
}

// jaDo sends a request like the spec's curl examples: auth is the bearer
// credential ("" for none), body a form, multipart form or JSON.
func jaDo(t *testing.T, method, u, auth, ctype string, body io.Reader) jaResp {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := jaResp{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q, body %s", method, u, ct, raw)
	}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		t.Fatalf("%s %s: %v: %s", method, u, err, raw)
	}
	return out
}

func jaJSON(t *testing.T, method, u, auth, body string) jaResp {
	t.Helper()
	return jaDo(t, method, u, auth, "application/json", strings.NewReader(body))
}

func jaForm(t *testing.T, method, u, auth string, form url.Values) jaResp {
	t.Helper()
	return jaDo(t, method, u, auth, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

// jaMultipart posts fields (in order) and, when content is set, file[content].
func jaMultipart(t *testing.T, method, u, auth string, content []byte, filename string, fields ...string) jaResp {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if content != nil {
		fw, _ := mw.CreateFormFile("file[content]", filename)
		fw.Write(content)
	}
	for i := 0; i+1 < len(fields); i += 2 {
		mw.WriteField(fields[i], fields[i+1])
	}
	mw.Close()
	return jaDo(t, method, u, auth, mw.FormDataContentType(), &buf)
}

func jaBase(s *testServer, pub string) string { return s.URL + "/api/v1/projects/" + pub }

var (
	fileIDRe    = regexp.MustCompile(`^f-[0-9A-Za-z]{22}$`)
	fileTokenRe = regexp.MustCompile(`^fat-[0-9A-Za-z]{22}$`)
	groupIDRe   = regexp.MustCompile(`^g-[0-9A-Za-z]{22}$`)
	groupTokRe  = regexp.MustCompile(`^gat-[0-9A-Za-z]{22}$`)
)

func wantStatus(t *testing.T, r jaResp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
}

// TestJSONAPIFiles drives the file endpoints with form and JSON bodies:
// direct upload, list with pagination, view, both metadata updates,
// delete; and the same file through the REST and Upload APIs.
func TestJSONAPIFiles(t *testing.T) {
	s := startServer(t, nil)
	base := jaBase(s, testPub)
	png := pngBytes(t, 40, 30)

	// curl -F file[content]=@x.png -F file[metadata][foo]=bar -F file[expires_at]=… -H "Authorization: Bearer SECRET"
	exp := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	r := jaMultipart(t, "POST", base+"/files.json", testSecret, png, "SCR 1.png",
		"file[metadata][foo]", "bar", "file[expires_at]", exp.Format(time.RFC3339))
	wantStatus(t, r, http.StatusCreated)
	d := r.data(t)
	id, token := d["id"].(string), r.token(t)
	if d["type"] != "files" || !fileIDRe.MatchString(id) || !fileTokenRe.MatchString(token) {
		t.Fatalf("id %q token %q type %v", id, token, d["type"])
	}
	uuid, _ := r.attr(t, "uuid").(string)
	if !satchel.ValidUUID(uuid) || r.attr(t, "status") != "ready" || r.attr(t, "is_image") != true ||
		r.attr(t, "original_protected") != true || r.attr(t, "size") != float64(len(png)) || r.attr(t, "original_name") != "SCR 1.png" {
		t.Fatalf("attributes: %s", r.raw)
	}
	if md := r.attr(t, "metadata").(map[string]any); md["foo"] != "bar" || len(md) != 1 {
		t.Fatalf("metadata %v", md)
	}
	if got := r.attr(t, "expires_at"); got != exp.Format("2006-01-02T15:04:05.000Z") {
		t.Fatalf("expires_at %v, want %v", got, exp)
	}
	if img := r.attr(t, "content").(map[string]any)["image"].(map[string]any); img["width"] != float64(40) {
		t.Fatalf("content %v", img)
	}
	if u, _ := r.attr(t, "original_url").(string); !strings.HasSuffix(u, "/"+uuid+"/SCR1.png") {
		t.Fatalf("original_url %q", u)
	}
	if rel := d["relationships"].(map[string]any)["project"].(map[string]any)["data"].(map[string]any); rel["id"] != testPub {
		t.Fatalf("relationships %v", rel)
	}

	// View by secret and by the file's token.
	r = jaDo(t, "GET", base+"/files/"+id+".json", testSecret, "", nil)
	wantStatus(t, r, http.StatusOK)
	if r.attr(t, "uuid") != uuid || r.token(t) != "" {
		t.Fatalf("view by secret: %s", r.raw)
	}
	r = jaDo(t, "GET", base+"/files/"+id+".json", token, "", nil)
	wantStatus(t, r, http.StatusOK)
	if r.token(t) != token {
		t.Fatalf("view by token shows token %q", r.token(t))
	}

	// The same file through the REST API and the Upload API.
	code, _, body := rawREST(t, "GET", s.URL+"/files/"+uuid+"/", "application/vnd.uploadcare-v0.7+json", "", "")
	if code != http.StatusOK || !strings.Contains(body, `"foo":"bar"`) || !strings.Contains(body, `"original_protected":true`) ||
		!strings.Contains(body, `"datetime_expires":"`) {
		t.Fatalf("REST: %d %s", code, body)
	}
	resp, err := http.Get(s.URL + "/info/?pub_key=" + testPub + "&file_id=" + uuid)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(info), uuid) || !strings.Contains(string(info), `"original_protected":true`) {
		t.Fatalf("Upload API info: %d %s", resp.StatusCode, info)
	}

	// Update: metadata as an object replaces (JSON body)…
	r = jaJSON(t, "PUT", base+"/files/"+id+".json", testSecret, `{"file":{"metadata":{"a":"1","b":"2"},"original_protected":false}}`)
	wantStatus(t, r, http.StatusOK)
	if md := r.attr(t, "metadata").(map[string]any); len(md) != 2 || md["a"] != "1" || r.attr(t, "original_protected") != false {
		t.Fatalf("replace: %s", r.raw)
	}
	// …as a list of {key, value} patches (form body, by token) sets only those keys.
	r = jaDo(t, "PUT", base+"/files/"+id+".json", token, "application/x-www-form-urlencoded", strings.NewReader(
		"file%5Bmetadata%5D%5B%5D%5Bkey%5D=b&file%5Bmetadata%5D%5B%5D%5Bvalue%5D=20&file[metadata][][key]=c&file[metadata][][value]=30"))
	wantStatus(t, r, http.StatusOK)
	if md := r.attr(t, "metadata").(map[string]any); len(md) != 3 || md["a"] != "1" || md["b"] != "20" || md["c"] != "30" {
		t.Fatalf("patch: %s", r.raw)
	}
	// …and the same patch as JSON.
	r = jaJSON(t, "PUT", base+"/files/"+id+".json", token, `{"file":{"metadata":[{"key":"a","value":"x"}],"expires_at":null}}`)
	wantStatus(t, r, http.StatusOK)
	if md := r.attr(t, "metadata").(map[string]any); md["a"] != "x" || md["b"] != "20" || r.attr(t, "expires_at") != nil {
		t.Fatalf("JSON patch: %s", r.raw)
	}
	code, _, body = rawREST(t, "GET", s.URL+"/files/"+uuid+"/metadata/", "application/vnd.uploadcare-v0.7+json", "", "")
	if code != http.StatusOK || !strings.Contains(body, `"a":"x"`) {
		t.Fatalf("REST metadata after update: %d %s", code, body)
	}

	// List: two more files (JSON body without content is refused first).
	for i := 0; i < 2; i++ {
		r = jaMultipart(t, "POST", base+"/files.json", testSecret, []byte(fmt.Sprintf("text %d", i)), fmt.Sprintf("t%d.txt", i))
		wantStatus(t, r, http.StatusCreated)
	}
	r = jaDo(t, "GET", base+"/files.json?page=2&items=2", testSecret, "", nil)
	wantStatus(t, r, http.StatusOK)
	pg := r.body["pagination"].(map[string]any)
	if pg["count"] != float64(3) || pg["page"] != float64(2) || pg["items"] != float64(2) || pg["pages"] != float64(2) {
		t.Fatalf("pagination %v", pg)
	}
	if list := r.body["data"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != id {
		t.Fatalf("page 2: %s", r.raw)
	}
	r = jaDo(t, "GET", base+"/files.json", testSecret, "", nil)
	if pg := r.body["pagination"].(map[string]any); pg["items"] != float64(20) || len(r.body["data"].([]any)) != 3 {
		t.Fatalf("default page: %s", r.raw)
	}

	// Delete by token: removed_at set, then id and token are gone.
	r = jaDo(t, "DELETE", base+"/files/"+id+".json", token, "", nil)
	wantStatus(t, r, http.StatusOK)
	if r.attr(t, "removed_at") == nil {
		t.Fatalf("delete: %s", r.raw)
	}
	wantStatus(t, jaDo(t, "GET", base+"/files/"+id+".json", token, "", nil), http.StatusNotFound)
	wantStatus(t, jaDo(t, "GET", base+"/files/"+id+".json", testSecret, "", nil), http.StatusNotFound)
	code, _, body = rawREST(t, "GET", s.URL+"/files/"+uuid+"/", "application/vnd.uploadcare-v0.7+json", "", "")
	if code != http.StatusOK || !strings.Contains(body, `"datetime_removed":"`) {
		t.Fatalf("REST after delete: %d %s", code, body)
	}
}

// TestJSONAPIFromURL creates a file from a URL (JSON and form): pending
// with no uuid, then ready once fetched.
func TestJSONAPIFromURL(t *testing.T) {
	png := pngBytes(t, 8, 8)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing.png" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(png)
	}))
	defer src.Close()
	s := startServer(t, nil)
	base := jaBase(s, testPub)
	for _, r := range []jaResp{
		jaJSON(t, "POST", base+"/files.json", testSecret, `{"file":{"source_url":"`+src.URL+`/a.png","metadata":{"foo":"bar"},"original_protected":"false"}}`),
		jaForm(t, "POST", base+"/files.json", testSecret, url.Values{"file[source_url]": {src.URL + "/b.png"}}),
	} {
		wantStatus(t, r, http.StatusCreated)
		if r.attr(t, "status") != "pending" || r.attr(t, "uuid") != nil || r.attr(t, "size") != nil || r.attr(t, "original_url") != nil {
			t.Fatalf("pending: %s", r.raw)
		}
		id := r.data(t)["id"].(string)
		deadline := time.Now().Add(20 * time.Second)
		for {
			g := jaDo(t, "GET", base+"/files/"+id+".json", r.token(t), "", nil)
			wantStatus(t, g, http.StatusOK)
			if g.attr(t, "status") == "ready" {
				if !satchel.ValidUUID(g.attr(t, "uuid").(string)) || g.attr(t, "size") != float64(len(png)) {
					t.Fatalf("ready: %s", g.raw)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still %v: %s", g.attr(t, "status"), g.raw)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// A source that fails leaves the file failed, without a uuid.
	r := jaJSON(t, "POST", base+"/files.json", testSecret, `{"file":{"source_url":"`+src.URL+`/missing.png"}}`)
	wantStatus(t, r, http.StatusCreated)
	id := r.data(t)["id"].(string)
	deadline := time.Now().Add(20 * time.Second)
	for {
		g := jaDo(t, "GET", base+"/files.json", testSecret, "", nil)
		var status any
		for _, f := range g.body["data"].([]any) {
			if f.(map[string]any)["id"] == id {
				status = f.(map[string]any)["attributes"].(map[string]any)["status"]
			}
		}
		if status == "failed" {
			break
		}
		if status != "pending" || time.Now().After(deadline) {
			t.Fatalf("failed fetch: %v: %s", status, g.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A file not there yet takes no update.
	r = jaJSON(t, "PUT", base+"/files/"+id+".json", testSecret, `{"file":{"metadata":{"a":"b"}}}`)
	wantStatus(t, r, http.StatusConflict)
}

// TestJSONAPIErrors checks the documented errors and their JSON:API shape.
func TestJSONAPIErrors(t *testing.T) {
	s := startServer(t, nil)
	base := jaBase(s, testPub)
	newProject(t, s, "0000000000000000small", "smallsecret", func(p *satchel.Project) { p.MaxFileSize = 1000 })
	for _, tc := range []struct {
		name    string
		r       jaResp
		status  int
		code    string
		pointer string
	}{
		{"no content", jaMultipart(t, "POST", base+"/files.json", testSecret, nil, "", "file[metadata][foo]", "bar"), 422, "content_required", "/file/content"},
		{"empty JSON", jaJSON(t, "POST", base+"/files.json", testSecret, `{"file":{}}`), 422, "content_required", "/file/content"},
		{"file over the project's limit", jaMultipart(t, "POST", jaBase(s, "0000000000000000small")+"/files.json", "smallsecret", make([]byte, 2000), "big.bin"), 413, "file_too_large", ""},
		{"malformed JSON", jaJSON(t, "POST", base+"/files.json", testSecret, `{"file"{"source_url":"x"}}`), 400, "body_malformed", ""},
		{"bad expires_at", jaMultipart(t, "POST", base+"/files.json", testSecret, []byte("x"), "x.txt", "file[expires_at]", "next tuesday"), 422, "expires_at_invalid", "/file/expires_at"},
		{"bad metadata key", jaJSON(t, "POST", base+"/files.json", testSecret, `{"file":{"source_url":"http://127.0.0.1:1/x","metadata":{"b@d":"v"}}}`), 422, "invalid", "/file/metadata/b@d"},
		{"bad source_url", jaJSON(t, "POST", base+"/files.json", testSecret, `{"file":{"source_url":"ftp://x"}}`), 422, "source_url_invalid", "/file/source_url"},
		{"unknown project", jaJSON(t, "GET", s.URL+"/api/v1/projects/0000000000000000dead/files.json", testSecret, ``), 404, "project_not_found", ""},
		{"wrong secret", jaDo(t, "GET", base+"/files.json", "nope", "", nil), 401, "unauthorized", ""},
		{"no credentials", jaDo(t, "GET", base+"/files.json", "", "", nil), 401, "secret_required", ""},
		{"anonymous create off", jaJSON(t, "POST", base+"/files.json", "", `{"file":{"source_url":"http://example.com/x"}}`), 401, "secret_required", ""},
		{"unknown id", jaDo(t, "GET", base+"/files/f-0000000000000000000000.json", testSecret, "", nil), 404, "not_found", ""},
		{"bad chunk_size 0", jaJSON(t, "POST", base+"/files.json", testSecret, `{"file":{"is_chunked_upload":"true","size":100,"chunk_size":0,"filename":"a.bin"}}`), 422, "chunk_size_invalid", "/file/chunk_size"},
		{"chunk_size > size", jaJSON(t, "POST", base+"/files.json", testSecret, `{"file":{"is_chunked_upload":true,"size":100,"chunk_size":101,"filename":"a.bin"}}`), 422, "chunk_size_invalid", "/file/chunk_size"},
		{"too many chunks", jaForm(t, "POST", base+"/files.json", testSecret, url.Values{"file[is_chunked_upload]": {"true"}, "file[size]": {"10001"}, "file[chunk_size]": {"1"}}), 422, "chunk_size_invalid", "/file/chunk_size"},
		{"unknown route", jaDo(t, "GET", s.URL+"/api/v1/nothing", "", "", nil), 404, "not_found", ""},
	} {
		if tc.r.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, tc.r.status, tc.status, tc.r.raw)
			continue
		}
		e := tc.r.firstError(t)
		if e["code"] != tc.code || e["status"] != fmt.Sprint(tc.status) || e["title"] == "" || e["detail"] == "" {
			t.Errorf("%s: error %v, want code %s", tc.name, e, tc.code)
		}
		if p := tc.r.pointer(t); p != tc.pointer {
			t.Errorf("%s: pointer %q, want %q", tc.name, p, tc.pointer)
		}
	}
}
