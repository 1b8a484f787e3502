package server_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel/internal/signing"
)

// legacyCall is one request in the oldest REST dialect.
type legacyCall struct {
	method, path, accept, ctype, body string
	// date, pub and secret override the defaults (now, the test keys).
	date, pub, secret string
	// auth replaces the whole Authentication header.
	auth string
}

// legacy sends c to s without following redirects.
func legacy(t *testing.T, s *testServer, c legacyCall) (int, http.Header, string) {
	t.Helper()
	if c.date == "" {
		c.date = time.Now().UTC().Format(http.TimeFormat)
	}
	if c.pub == "" {
		c.pub, c.secret = testPub, testSecret
	}
	req, _ := http.NewRequest(c.method, s.URL+c.path, strings.NewReader(c.body))
	if c.accept != "" {
		req.Header.Set("Accept", c.accept)
	}
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	req.Header.Set("Date", c.date)
	if c.auth == "" {
		c.auth = "UploadCare " + c.pub + ":" + signing.Signature(c.secret, c.method, []byte(c.body), c.ctype, c.date, c.path)
	}
	req.Header.Set("Authentication", c.auth)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// uploadUnstored posts one file to /base/ with UPLOADCARE_STORE=0.
func uploadUnstored(t *testing.T, base, name string) string {
	t.Helper()
	code, _, body := postMultipart(t, base+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}, {"UPLOADCARE_STORE", "0"}}, []part{{"file", name, []byte("legacy dialect " + name)}})
	var out map[string]string
	if code != 200 || json.Unmarshal([]byte(body), &out) != nil {
		t.Fatalf("upload: %d %s", code, body)
	}
	return out["file"]
}

// restFile reads a file through REST v0.7.
func restFile(t *testing.T, s *testServer, id string) map[string]any {
	t.Helper()
	code, _, body := rawREST(t, "GET", s.URL+"/files/"+id+"/", v7, "", "")
	var f map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &f) != nil {
		t.Fatalf("REST file: %d %s", code, body)
	}
	return f
}

var legacyFields = []string{"file_id", "last_keep_claim", "made_public", "mime_type", "on_s3", "original_file_url",
	"original_filename", "removed", "size", "upload_date", "url"}

func checkLegacyFile(t *testing.T, s *testServer, f map[string]any, id string) {
	t.Helper()
	var keys []string
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != strings.Join(legacyFields, ",") {
		t.Errorf("fields %v, want %v", keys, legacyFields)
	}
	if f["file_id"] != id || f["url"] != s.URL+"/files/"+id+"/" || f["original_filename"] != "a.txt" || f["size"] != float64(len("legacy dialect a.txt")) {
		t.Errorf("file %v", f)
	}
	if u, _ := f["original_file_url"].(string); f["removed"] == nil && !strings.HasPrefix(u, s.URL+"/"+id+"/") {
		t.Errorf("original_file_url %v", f["original_file_url"])
	}
	if _, err := time.Parse(time.RFC3339, f["upload_date"].(string)); err != nil {
		t.Errorf("upload_date %v", f["upload_date"])
	}
}

// TestLegacyFilesJSON lists, reads, keeps and deletes a file uploaded through
// the Upload API in the oldest dialect, in JSON, and sees the effects through
// REST v0.7.
func TestLegacyFilesJSON(t *testing.T) {
	s := startServer(t, nil)
	id := uploadUnstored(t, s.URL, "a.txt")
	other := uploadUnstored(t, s.URL, "b.txt")

	code, hdr, body := legacy(t, s, legacyCall{method: "GET", path: "/files/", accept: "application/json"})
	var list struct {
		Next    *string          `json:"next"`
		Results []map[string]any `json:"results"`
	}
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") || json.Unmarshal([]byte(body), &list) != nil {
		t.Fatalf("list: %d %s %s", code, hdr.Get("Content-Type"), body)
	}
	if len(list.Results) != 2 || list.Next != nil {
		t.Fatalf("list: %s", body)
	}
	checkLegacyFile(t, s, list.Results[0], id)

	// Pages: limit=1, then the next link.
	code, _, body = legacy(t, s, legacyCall{method: "GET", path: "/files/?limit=1"})
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Results) != 1 || list.Results[0]["file_id"] != id || list.Next == nil {
		t.Fatalf("page 1: %d %s", code, body)
	}
	code, _, body = legacy(t, s, legacyCall{method: "GET", path: strings.TrimPrefix(*list.Next, s.URL)})
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Results) != 1 || list.Results[0]["file_id"] != other || list.Next != nil {
		t.Fatalf("page 2: %d %s", code, body)
	}

	code, _, body = legacy(t, s, legacyCall{method: "GET", path: "/files/" + id + "/"})
	var f map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &f) != nil {
		t.Fatalf("get: %d %s", code, body)
	}
	checkLegacyFile(t, s, f, id)
	if f["made_public"] != false || f["on_s3"] != false || f["last_keep_claim"] != nil || f["removed"] != nil {
		t.Errorf("fresh file: %s", body)
	}

	// keep=1 stores the file.
	code, _, body = legacy(t, s, legacyCall{method: "POST", path: "/files/" + id + "/", ctype: "application/x-www-form-urlencoded", body: "keep=1"})
	if code != 200 || json.Unmarshal([]byte(body), &f) != nil || f["made_public"] != true || f["on_s3"] != true || f["last_keep_claim"] == nil {
		t.Fatalf("keep: %d %s", code, body)
	}
	if rf := restFile(t, s, id); rf["datetime_stored"] != f["last_keep_claim"] {
		t.Errorf("REST after keep: stored %v, legacy said %v", rf["datetime_stored"], f["last_keep_claim"])
	}
	// A JSON keep claim, and a refused one.
	code, _, body = legacy(t, s, legacyCall{method: "POST", path: "/files/" + other + "/", ctype: "application/json", body: `{"keep": 1}`})
	if code != 200 || !strings.Contains(body, `"made_public":true`) {
		t.Errorf("JSON keep: %d %s", code, body)
	}
	code, _, body = legacy(t, s, legacyCall{method: "POST", path: "/files/" + other + "/", ctype: "application/x-www-form-urlencoded", body: "keep=0"})
	if code != 400 || body != "{\"error\":\"keep must be 1.\"}\n" {
		t.Errorf("keep=0: %d %s", code, body)
	}

	// DELETE removes it.
	code, _, body = legacy(t, s, legacyCall{method: "DELETE", path: "/files/" + id + "/"})
	if code != 200 || json.Unmarshal([]byte(body), &f) != nil || f["removed"] == nil || f["made_public"] != false || f["original_file_url"] != nil {
		t.Fatalf("delete: %d %s", code, body)
	}
	if rf := restFile(t, s, id); rf["datetime_removed"] != f["removed"] {
		t.Errorf("REST after delete: removed %v, legacy said %v", rf["datetime_removed"], f["removed"])
	}
	code, _, body = legacy(t, s, legacyCall{method: "GET", path: "/files/"})
	if code != 200 || strings.Contains(body, id) || !strings.Contains(body, other) {
		t.Errorf("list after delete: %d %s", code, body)
	}
	code, _, body = legacy(t, s, legacyCall{method: "GET", path: "/files/00000000-0000-4000-8000-000000000000/"})
	if code != 404 || body != "{\"error\":\"Not found.\"}\n" {
		t.Errorf("unknown file: %d %s", code, body)
	}
	code, _, body = legacy(t, s, legacyCall{method: "DELETE", path: "/files/00000000-0000-4000-8000-000000000000/"})
	if code != 404 || !strings.Contains(body, `"error"`) {
		t.Errorf("delete unknown file: %d %s", code, body)
	}
}

type legacyXMLFile struct {
	XMLName       xml.Name `xml:"file"`
	FileID        string   `xml:"file_id"`
	LastKeepClaim *string  `xml:"last_keep_claim"`
	MadePublic    bool     `xml:"made_public"`
	OnS3          bool     `xml:"on_s3"`
	Removed       *string  `xml:"removed"`
	Size          int64    `xml:"size"`
	URL           string   `xml:"url"`
}

// TestLegacyFilesXML does the same in XML, chosen by Accept or by Content-Type.
func TestLegacyFilesXML(t *testing.T) {
	s := startServer(t, nil)
	id := uploadUnstored(t, s.URL, "a.txt")

	code, hdr, body := legacy(t, s, legacyCall{method: "GET", path: "/files/", accept: "application/xml"})
	var list struct {
		XMLName xml.Name        `xml:"files"`
		Files   []legacyXMLFile `xml:"file"`
	}
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/xml") || xml.Unmarshal([]byte(body), &list) != nil {
		t.Fatalf("list: %d %s %s", code, hdr.Get("Content-Type"), body)
	}
	if len(list.Files) != 1 || list.Files[0].FileID != id || list.Files[0].URL != s.URL+"/files/"+id+"/" || list.Files[0].MadePublic {
		t.Fatalf("list: %s", body)
	}

	var f legacyXMLFile
	code, _, body = legacy(t, s, legacyCall{method: "GET", path: "/files/" + id + "/", ctype: "text/xml"})
	if code != 200 || xml.Unmarshal([]byte(body), &f) != nil || f.FileID != id || f.Size != int64(len("legacy dialect a.txt")) || f.LastKeepClaim != nil {
		t.Fatalf("get: %d %s", code, body)
	}
	code, _, body = legacy(t, s, legacyCall{method: "POST", path: "/files/" + id + "/", accept: "application/xml", ctype: "application/xml", body: "<file><keep>1</keep></file>"})
	if code != 200 || xml.Unmarshal([]byte(body), &f) != nil || !f.MadePublic || !f.OnS3 || f.LastKeepClaim == nil {
		t.Fatalf("keep: %d %s", code, body)
	}
	if rf := restFile(t, s, id); rf["datetime_stored"] != *f.LastKeepClaim {
		t.Errorf("REST after keep: %v, legacy said %v", rf["datetime_stored"], *f.LastKeepClaim)
	}
	code, _, body = legacy(t, s, legacyCall{method: "DELETE", path: "/files/" + id + "/", accept: "application/xml"})
	if code != 200 || xml.Unmarshal([]byte(body), &f) != nil || f.Removed == nil || f.MadePublic {
		t.Fatalf("delete: %d %s", code, body)
	}
	if rf := restFile(t, s, id); rf["datetime_removed"] != *f.Removed || rf["datetime_stored"] != nil {
		t.Errorf("REST after delete: %v", rf)
	}
	code, hdr, body = legacy(t, s, legacyCall{method: "GET", path: "/files/not-a-uuid/", accept: "application/xml"})
	if code != 404 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/xml") || !strings.HasSuffix(body, "<error>Not found.</error>") {
		t.Errorf("XML not found: %d %s", code, body)
	}
}

// TestLegacyAuthErrors checks that bad credentials are refused in the
// dialect's own format, and that REST still answers Authorization.
func TestLegacyAuthErrors(t *testing.T) {
	s := startServer(t, nil)
	stale := time.Now().Add(-20 * time.Minute).UTC().Format(http.TimeFormat)
	cases := []struct {
		name string
		call legacyCall
		code int
		want string
	}{
		{"bad signature", legacyCall{secret: "wrong", pub: testPub}, 403, `{"error":"Invalid signature."}`},
		{"bad signature xml", legacyCall{secret: "wrong", pub: testPub, accept: "application/xml"}, 403, `<error>Invalid signature.</error>`},
		{"stale date", legacyCall{date: stale}, 401, `{"error":"Date or X-Uploadcare-Date is missing, unreadable or more than 15 minutes off."}`},
		{"stale date xml", legacyCall{date: stale, ctype: "application/xml"}, 401, `<error>Date or X-Uploadcare-Date is missing, unreadable or more than 15 minutes off.</error>`},
		{"unreadable date", legacyCall{date: "yesterday"}, 401, `{"error":"Date or X-Uploadcare-Date`},
		{"unknown key", legacyCall{pub: "nosuchkey", secret: testSecret}, 401, `{"error":"Unknown public key nosuchkey."}`},
		{"wrong scheme casing", legacyCall{auth: "Uploadcare " + testPub + ":abc"}, 401, `{"error":"Authentication header must be`},
		{"no signature", legacyCall{auth: "UploadCare " + testPub}, 401, `{"error":"Authentication header must be`},
	}
	for _, c := range cases {
		c.call.method, c.call.path = "GET", "/files/"
		code, _, body := legacy(t, s, c.call)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want %d %s", c.name, code, body, c.code, c.want)
		}
	}
	// X-Uploadcare-Date is read before Date.
	date := time.Now().UTC().Format(http.TimeFormat)
	req, _ := http.NewRequest("GET", s.URL+"/files/", nil)
	req.Header.Set("X-Uploadcare-Date", date)
	req.Header.Set("Date", stale)
	req.Header.Set("Authentication", "UploadCare "+testPub+":"+signing.Signature(testSecret, "GET", nil, "", date, "/files/"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("X-Uploadcare-Date: %d", resp.StatusCode)
	}
	// REST, on the same paths, still answers Authorization.
	if code, _, body := rawREST(t, "GET", s.URL+"/files/", v7, "", ""); code != 200 || !strings.Contains(body, `"results"`) {
		t.Errorf("REST: %d %s", code, body)
	}
}

// TestLegacyRedirect sends a path without its trailing slash to the slashed one.
func TestLegacyRedirect(t *testing.T) {
	s := startServer(t, nil)
	id := uploadUnstored(t, s.URL, "a.txt")
	for path, want := range map[string]string{"/files": "/files/", "/files?limit=1": "/files/?limit=1", "/files/" + id: "/files/" + id + "/"} {
		code, hdr, _ := legacy(t, s, legacyCall{method: "GET", path: path})
		if code != http.StatusMovedPermanently || hdr.Get("Location") != want {
			t.Errorf("%s: %d %q, want 301 %q", path, code, hdr.Get("Location"), want)
		}
	}
	code, _, body := legacy(t, s, legacyCall{method: "PUT", path: "/files/" + id + "/"})
	if code != 404 || !strings.Contains(body, `"error"`) {
		t.Errorf("PUT: %d %s", code, body)
	}
}
