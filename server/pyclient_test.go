package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
)

// TestPlainTextMimeFollowsNameOrDeclaredType: content that can only be
// called plain text is text/plain when its name or declared type says text,
// and application/octet-stream otherwise, on direct and multipart uploads.
// pyuploadcare's integration tests upload "hello" from an extensionless
// temporary file, declared application/octet-stream, and expect that type.
func TestPlainTextMimeFollowsNameOrDeclaredType(t *testing.T) {
	s := startServer(t, nil)
	direct := func(name string, data []byte) string {
		t.Helper()
		// CreateFormFile declares application/octet-stream, as pyuploadcare
		// does for a name without a known extension.
		code, _, body := postMultipart(t, s.URL+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}, {"UPLOADCARE_STORE", "auto"}},
			[]part{{name: "file", filename: name, data: data}})
		if code != 200 {
			t.Fatalf("upload %s: %d %s", name, code, body)
		}
		var r map[string]string
		json.Unmarshal([]byte(body), &r)
		return r["file"]
	}
	multipart := func(name, contentType string, data []byte) string {
		t.Helper()
		code, body := postURLEncoded(t, s.URL+"/multipart/start/", url.Values{"UPLOADCARE_PUB_KEY": {testPub},
			"filename": {name}, "size": {fmt.Sprint(len(data))}, "content_type": {contentType}})
		if code != 200 {
			t.Fatalf("start %s: %d %s", name, code, body)
		}
		var st struct {
			UUID  string   `json:"uuid"`
			Parts []string `json:"parts"`
		}
		json.Unmarshal([]byte(body), &st)
		const partSize = 5 << 20
		for i, u := range st.Parts {
			chunk := data[i*partSize : min((i+1)*partSize, len(data))]
			if code, _, body := do(t, "PUT", u, bytes.NewReader(chunk), "application/octet-stream"); code != 200 {
				t.Fatalf("part %d: %d %s", i, code, body)
			}
		}
		if code, body := postURLEncoded(t, s.URL+"/multipart/complete/", url.Values{"UPLOADCARE_PUB_KEY": {testPub}, "uuid": {st.UUID}}); code != 200 {
			t.Fatalf("complete %s: %d %s", name, code, body)
		}
		return st.UUID
	}
	mime := func(id string) string {
		t.Helper()
		var f struct {
			MimeType string `json:"mime_type"`
		}
		if code := restJSON(t, "GET", s.URL+"/files/"+id+"/", "", &f); code != 200 {
			t.Fatalf("file %s: %d", id, code)
		}
		return f.MimeType
	}
	big := bytes.Repeat([]byte("0"), 11_000_000)
	for _, c := range []struct {
		what, id, want string
	}{
		{"direct, no extension", direct("tmpx57i2oot", []byte("hello")), "application/octet-stream"},
		{"direct, unknown extension", direct("payments.aba", []byte("0123456789\n")), "application/octet-stream"},
		{"direct, .txt", direct("sample1.txt", []byte("test1")), "text/plain"},
		{"direct, .csv", direct("data.csv", []byte("a,b\n1,2\n")), "text/csv"},
		{"multipart, path without extension, declared octet-stream", multipart("/tmp/tmpab12/big_file", "application/octet-stream", big), "application/octet-stream"},
		{"multipart, .txt path", multipart("/var/folders/T/tmp9f7xtc5i/big_file.txt", "text/plain", big), "text/plain"},
		{"multipart, declared text/plain", multipart("big_file", "text/plain", big), "text/plain"},
	} {
		if got := mime(c.id); got != c.want {
			t.Errorf("%s: mime_type %q, want %q", c.what, got, c.want)
		}
	}
}
