package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/server"
)

type part struct {
	name, filename string
	data           []byte
}

// multipartBody builds a multipart/form-data body from fields and files.
func multipartBody(t testing.TB, fields [][2]string, files []part) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	for _, f := range files {
		w, err := mw.CreateFormFile(f.name, f.filename)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func do(t testing.TB, method, u string, body io.Reader, ctype string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func postMultipart(t testing.TB, u string, fields [][2]string, files []part) (int, http.Header, string) {
	body, ct := multipartBody(t, fields, files)
	return do(t, "POST", u, body, ct)
}

func postURLEncoded(t testing.TB, u string, v url.Values) (int, string) {
	code, _, body := do(t, "POST", u, strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
	return code, body
}

func file(n int) []part { return []part{{"file", "f.bin", bytes.Repeat([]byte("x"), n)}} }

func TestDirectUploadErrors(t *testing.T) {
	s := startServer(t, func(c *server.Config) { c.MaxDirectUpload = 4096 })
	future := time.Now().Add(time.Hour).Unix()
	past := time.Now().Add(-time.Hour).Unix()
	sig := func(exp int64) string { return app.UploadSignature(testSecret, exp) }
	pub := [2]string{"UPLOADCARE_PUB_KEY", testPub}
	cases := []struct {
		name   string
		fields [][2]string
		files  []part
		status int
		body   string
	}{
		{"no key", nil, file(10), 403, "UPLOADCARE_PUB_KEY is required."},
		{"bad key", [][2]string{{"UPLOADCARE_PUB_KEY", "nope"}}, file(10), 403, "UPLOADCARE_PUB_KEY is invalid."},
		{"bad signature", [][2]string{pub, {"signature", "abc"}, {"expire", fmt.Sprint(future)}}, file(10), 403, "Invalid signature."},
		{"expired signature", [][2]string{pub, {"signature", sig(past)}, {"expire", fmt.Sprint(past)}}, file(10), 403, "Expired signature."},
		{"expire not a number", [][2]string{pub, {"signature", "abc"}, {"expire", "soon"}}, file(10), 400, "`expire` must be a UNIX timestamp."},
		{"signature without expire", [][2]string{pub, {"signature", "abc"}}, file(10), 400, "`expire` is required."},
		{"no file", [][2]string{pub}, nil, 400, "Request does not contain files."},
		{"too large", [][2]string{pub}, file(5000), 413, "The size of the request is too large."},
		{"bad metadata key", [][2]string{pub, {"metadata[bad key]", "v"}}, file(10), 400, "contains forbidden characters"},
		{"empty metadata value", [][2]string{pub, {"metadata[k]", ""}}, file(10), 400, "can not be empty"},
		{"long metadata value", [][2]string{pub, {"metadata[k]", strings.Repeat("v", 513)}}, file(10), 400, "can not be more than 512 symbols in length."},
		{"bad store", [][2]string{pub, {"UPLOADCARE_STORE", "maybe"}}, file(10), 400, "UPLOADCARE_STORE"},
		{"bad tag", [][2]string{pub, {"tags", "ok,not ok"}}, file(10), 400, "forbidden characters"},
		{"valid signature", [][2]string{pub, {"signature", sig(future)}, {"expire", fmt.Sprint(future)}}, file(10), 200, `"file":`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, hdr, body := postMultipart(t, s.URL+"/base/", c.fields, c.files)
			if code != c.status || !strings.Contains(body, c.body) {
				t.Fatalf("got %d %q, want %d %q", code, body, c.status, c.body)
			}
			if hdr.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatal("missing CORS header on answer")
			}
		})
	}
	// Nothing of the refused uploads is left in the temporary area.
	code, _, body := do(t, "POST", s.URL+"/base/", strings.NewReader("--xyz\r\ngarbage"), "multipart/form-data; boundary=xyz")
	if code != 400 || body != "HTTP POST request parsing failed." {
		t.Fatalf("malformed body: %d %q", code, body)
	}
	code, _, body = do(t, "POST", s.URL+"/base/", strings.NewReader("x"), "multipart/form-data")
	if code != 400 || body != "HTTP POST request parsing failed." {
		t.Fatalf("no boundary: %d %q", code, body)
	}
	// Null characters in fields.
	code, _, body = postMultipart(t, s.URL+"/base/", [][2]string{pub, {"source", "a\x00b"}}, file(10))
	if code != 400 || body != "Null characters are not allowed." {
		t.Fatalf("null chars: %d %q", code, body)
	}
}

func TestJSONErrors(t *testing.T) {
	s := startServer(t, nil)
	code, hdr, body := postMultipart(t, s.URL+"/base/?jsonerrors=1", [][2]string{{"UPLOADCARE_PUB_KEY", "nope"}}, file(1))
	var e struct {
		Error struct {
			Content    string `json:"content"`
			StatusCode int    `json:"status_code"`
			ErrorCode  string `json:"error_code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("jsonerrors: %d %q %v", code, body, err)
	}
	if e.Error.StatusCode != 403 || e.Error.ErrorCode != "ProjectPublicKeyInvalidError" || e.Error.Content != "UPLOADCARE_PUB_KEY is invalid." {
		t.Fatalf("jsonerrors body: %+v", e)
	}
}

func TestProjectLimits(t *testing.T) {
	s := startServer(t, nil)
	p, _ := s.Store.ProjectByPublicKey(context.Background(), testPub)
	p.MaxFileSize = 100
	p.AllowedTypes = []string{"image/*"}
	if err := s.Store.UpdateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	time.Sleep(6 * time.Second) // project cache
	pub := [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}
	if code, _, body := postMultipart(t, s.URL+"/base/", pub, []part{{"file", "a.png", pngBytes(t, 100, 100)}}); code != 400 || body != "File is too large." {
		t.Fatalf("project size cap: %d %q", code, body)
	}
	if code, _, body := postMultipart(t, s.URL+"/base/", pub, []part{{"file", "a.txt", []byte("plain text")}}); code != 400 || body != "Uploading of these file types is not allowed." {
		t.Fatalf("type filter: %d %q", code, body)
	}
	if code, _, body := postMultipart(t, s.URL+"/base/", pub, []part{{"file", "a.png", pngBytes(t, 2, 2)}}); code != 200 {
		t.Fatalf("allowed small image: %d %q", code, body)
	}
}

func TestMultipartErrors(t *testing.T) {
	s := startServer(t, nil)
	start := func(v url.Values) (int, string) {
		if v.Get("UPLOADCARE_PUB_KEY") == "" {
			v.Set("UPLOADCARE_PUB_KEY", testPub)
		}
		return postURLEncoded(t, s.URL+"/multipart/start/", v)
	}
	for _, c := range []struct {
		v      url.Values
		status int
		body   string
	}{
		{url.Values{"size": {"20000000"}, "content_type": {"x/y"}}, 400, "filename is required."},
		{url.Values{"filename": {"a"}, "size": {"big"}, "content_type": {"x/y"}}, 400, "size should be integer."},
		{url.Values{"filename": {"a"}, "size": {"1000"}, "content_type": {"x/y"}}, 400, "File size can not be less than 10485760 bytes. Please use direct upload instead of multipart."},
		{url.Values{"filename": {"a"}, "size": {"20000000"}, "content_type": {"x/y"}, "part_size": {"1000"}}, 400, "Part size can not be less than"},
		{url.Values{"filename": {"a"}, "size": {"20000000"}, "content_type": {"x/y"}, "part_size": {"x"}}, 400, "part_size should be integer."},
		{url.Values{"filename": {"a"}, "size": {"20000000"}, "content_type": {"x/y"}, "UPLOADCARE_PUB_KEY": {"nope"}}, 403, "UPLOADCARE_PUB_KEY is invalid."},
	} {
		if code, body := start(c.v); code != c.status || !strings.Contains(body, c.body) {
			t.Errorf("start %v: %d %q, want %d %q", c.v, code, body, c.status, c.body)
		}
	}

	// A real session: 12 MB in 5 MiB parts → 3 parts.
	size := 12 * 1000 * 1000
	code, body := start(url.Values{"filename": {"/tmp/x/big.bin"}, "size": {strconv.Itoa(size)}, "content_type": {"application/octet-stream"}})
	if code != 200 {
		t.Fatalf("start: %d %s", code, body)
	}
	var st struct {
		UUID  string   `json:"uuid"`
		Parts []string `json:"parts"`
	}
	json.Unmarshal([]byte(body), &st)
	if len(st.Parts) != 3 || !strings.Contains(st.Parts[1], "partNumber=2") || !strings.HasPrefix(st.Parts[0], "http") {
		t.Fatalf("parts = %v", st.Parts)
	}
	data := randomBytes(t, size)
	put := func(u string, b []byte) (int, string) {
		code, _, body := do(t, "PUT", u, bytes.NewReader(b), "application/octet-stream")
		return code, body
	}
	complete := func(id string) (int, string) {
		return postURLEncoded(t, s.URL+"/multipart/complete/", url.Values{"UPLOADCARE_PUB_KEY": {testPub}, "uuid": {id}})
	}
	// Wrong part length.
	if code, body := put(st.Parts[0], data[:100]); code != 400 || !strings.Contains(body, "must be 5242880 bytes") {
		t.Fatalf("short part: %d %q", code, body)
	}
	// Tampered signature, and a part number beyond the session.
	bad := strings.Replace(st.Parts[0], "partNumber=1", "partNumber=2", 1)
	if code, _ := put(bad, data[5242880:2*5242880]); code != 403 {
		t.Fatalf("tampered part URL: %d", code)
	}
	// Parts out of order and one twice (idempotent).
	for _, i := range []int{2, 0, 0} {
		off := i * 5242880
		end := min(off+5242880, size)
		if code, body := put(st.Parts[i], data[off:end]); code != 200 {
			t.Fatalf("part %d: %d %q", i+1, code, body)
		}
	}
	if code, body := complete(st.UUID); code != 400 || body != "File size mismatch. Not all parts uploaded?" {
		t.Fatalf("complete with a missing part: %d %q", code, body)
	}
	if code, body := put(st.Parts[1], data[5242880:2*5242880]); code != 200 {
		t.Fatalf("part 2: %d %q", code, body)
	}
	if code, body := complete(st.UUID); code != 200 || !strings.Contains(body, `"original_filename":"big.bin"`) {
		t.Fatalf("complete: %d %q", code, body)
	}
	if got := download(t, s.URL, st.UUID); !bytes.Equal(got, data) {
		t.Fatal("multipart bytes differ")
	}
	if code, body := complete(st.UUID); code != 400 || body != "File is already uploaded." {
		t.Fatalf("second complete: %d %q", code, body)
	}
	if code, body := complete("not-a-uuid"); code != 400 || body != "uuid is invalid." {
		t.Fatalf("bad uuid: %d %q", code, body)
	}
	if code, body := complete(""); code != 400 || body != "uuid is required." {
		t.Fatalf("no uuid: %d %q", code, body)
	}
	if code, body := complete("00000000-0000-4000-8000-000000000000"); code != 404 || body != "File is not found." {
		t.Fatalf("unknown uuid: %d %q", code, body)
	}
}

func TestInfoAndGroupErrors(t *testing.T) {
	s := startServer(t, nil)
	for _, c := range []struct {
		path   string
		status int
		body   string
	}{
		{"/info/?pub_key=" + testPub + "&file_id=bad", 400, "file_id is invalid."},
		{"/info/?pub_key=" + testPub, 400, "file_id is required."},
		{"/info/?pub_key=" + testPub + "&file_id=00000000-0000-4000-8000-000000000000", 404, "File is not found."},
		{"/info/?file_id=00000000-0000-4000-8000-000000000000", 403, "pub_key is required."},
		{"/group/info/?pub_key=" + testPub + "&group_id=bad", 404, "group_id is invalid."},
		{"/group/info/?pub_key=" + testPub, 400, "group_id is required."},
		{"/from_url/status/", 400, "token is required."},
		{"/from_url/status/?token=nope", 200, `"status":"unknown"`},
	} {
		code, _, body := do(t, "GET", s.URL+c.path, nil, "")
		if code != c.status || !strings.Contains(body, c.body) {
			t.Errorf("GET %s: %d %q, want %d %q", c.path, code, body, c.status, c.body)
		}
	}
	// pyuploadcare posts to /group//, with CDN URLs as members.
	code, _, body := postMultipart(t, s.URL+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}, file(10))
	if code != 200 {
		t.Fatal(body)
	}
	var up map[string]string
	json.Unmarshal([]byte(body), &up)
	code, body = postURLEncoded(t, s.URL+"/group//", url.Values{"pub_key": {testPub}, "files[0]": {"https://ucarecdn.com/" + up["file"] + "/"}})
	if code != 200 || !strings.Contains(body, `"files_count":1`) {
		t.Fatalf("POST /group//: %d %q", code, body)
	}
	code, body = postURLEncoded(t, s.URL+"/group/", url.Values{"pub_key": {testPub}, "files[]": {"not a url"}})
	if code != 400 || body != "This is not valid file url: not a url." {
		t.Fatalf("bad member: %d %q", code, body)
	}
	code, body = postURLEncoded(t, s.URL+"/group/", url.Values{"pub_key": {testPub}})
	if code != 400 || body != "No files[N] parameters found." {
		t.Fatalf("no members: %d %q", code, body)
	}
	// CORS preflight.
	code, hdr, _ := do(t, "OPTIONS", s.URL+"/base/", nil, "")
	if code != 200 || hdr.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(hdr.Get("Access-Control-Allow-Headers"), "X-UC-User-Agent") {
		t.Fatalf("preflight: %d %v", code, hdr)
	}
}

func TestFromURLErrors(t *testing.T) {
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("data")) }))
	defer src.Close()
	strict := startServer(t, func(c *server.Config) { c.FetchAllowPrivate = false })
	for _, c := range []struct {
		url, body string
	}{
		{src.URL + "/x", "Only public IPs are allowed."},
		{"http://[::ffff:127.0.0.1]/x", "Only public IPs are allowed."},
		{"http://169.254.169.254/latest/meta-data/", "Only public IPs are allowed."},
		{"ftp://example.com/x", "Invalid URL scheme."},
		{"example.com/x", "No URL scheme supplied."},
		{"", "source_url is required."},
	} {
		code, body := postURLEncoded(t, strict.URL+"/from_url/", url.Values{"pub_key": {testPub}, "source_url": {c.url}})
		if code != 400 || body != c.body {
			t.Errorf("from_url %q: %d %q, want 400 %q", c.url, code, body, c.body)
		}
	}

	// A public-looking first hop that redirects to a denied address: the
	// redirect is re-checked. 127.0.0.2 plays the private network here.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("127.0.0.2 unavailable: %v", err)
	}
	hit := false
	private := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit = true })}}
	private.Start()
	defer private.Close()
	redirect := httptest.NewServer(http.RedirectHandler(private.URL+"/secret", http.StatusFound))
	defer redirect.Close()
	s := startServer(t, func(c *server.Config) { c.FetchDeny = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")} })
	code, body := postURLEncoded(t, s.URL+"/from_url/", url.Values{"pub_key": {testPub}, "source_url": {redirect.URL + "/go"}})
	if code != 200 {
		t.Fatalf("from_url: %d %q", code, body)
	}
	var tok struct{ Token string }
	json.Unmarshal([]byte(body), &tok)
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, _, st := do(t, "GET", s.URL+"/from_url/status/?token="+tok.Token, nil, "")
		if strings.Contains(st, `"status":"error"`) {
			if !strings.Contains(st, "URLHostPrivateIPForbiddenError") {
				t.Fatalf("status: %s", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no error status: %s", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if hit {
		t.Fatal("the denied server was reached")
	}
}

func TestThrottling(t *testing.T) {
	s := startServer(t, func(c *server.Config) { c.RateLimit = 1; c.RateBurst = 1 })
	var last int
	var hdr http.Header
	var body string
	for i := 0; i < 3; i++ {
		last, hdr, body = do(t, "GET", s.URL+"/info/?pub_key="+testPub+"&file_id=00000000-0000-4000-8000-000000000000", nil, "")
	}
	if last != 429 || body != "Request was throttled." || hdr.Get("Retry-After") == "" {
		t.Fatalf("throttle: %d %q %v", last, body, hdr)
	}
	code, _, body := do(t, "GET", s.URL+"/info/?jsonerrors=1&pub_key="+testPub+"&file_id=00000000-0000-4000-8000-000000000000", nil, "")
	if code != 200 || !strings.Contains(body, "RequestThrottledError") {
		t.Fatalf("throttle jsonerrors: %d %q", code, body)
	}
}
