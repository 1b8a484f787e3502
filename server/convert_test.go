package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/server"
)

// needTool skips a test when a converter program is missing, except in CI
// (CI=true), where it fails: CI installs them (scripts/deps.sh).
func needTool(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed (scripts/deps.sh installs it)", n)
			}
			t.Skipf("%s is not installed (scripts/deps.sh installs it)", n)
		}
	}
}

// makeClip makes a w×h clip of secs seconds with sound (ffmpeg's test sources).
func makeClip(t testing.TB, w, h int, secs float64) []byte {
	t.Helper()
	needTool(t, "ffmpeg", "ffprobe")
	p := filepath.Join(t.TempDir(), "clip.mp4")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=%dx%d:rate=15:duration=%g", w, h, secs),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%g", secs),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", p).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	b, _ := os.ReadFile(p)
	return b
}

// fodt is a flat ODT document of n pages, one paragraph each.
func fodt(n int) []byte {
	var body strings.Builder
	for i := 1; i <= n; i++ {
		style := "Standard"
		if i > 1 {
			style = "Break"
		}
		fmt.Fprintf(&body, `<text:p text:style-name="%s">Page %d of the test document.</text:p>`, style, i)
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.text">
<office:automatic-styles>
<style:style style:name="Break" style:family="paragraph"><style:paragraph-properties fo:break-before="page"/></style:style>
</office:automatic-styles>
<office:body><office:text>` + body.String() + `</office:text></office:body>
</office:document>
`)
}

// uploadFile sends a file through the Upload API and returns its UUID.
func uploadFile(t testing.TB, s *testServer, name string, data []byte) string {
	t.Helper()
	code, _, body := postMultipart(t, s.URL+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}, {"UPLOADCARE_STORE", "1"}}, []part{{"file", name, data}})
	if code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	var r map[string]string
	json.Unmarshal([]byte(body), &r)
	return r["file"]
}

func restJSON(t testing.TB, method, u, body string, out any) int {
	t.Helper()
	code, _, b := rawREST(t.(*testing.T), method, u, v7, "application/json", body)
	if out != nil && code < 300 {
		if err := json.Unmarshal([]byte(b), out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, u, err, b)
		}
	}
	return code
}

type convStatus struct {
	Status   string  `json:"status"`
	Error    *string `json:"error"`
	Progress int     `json:"progress"`
	Result   struct {
		UUID   string `json:"uuid"`
		Thumbs string `json:"thumbnails_group_uuid"`
	} `json:"result"`
}

// waitConversion polls a conversion until it ends.
func waitConversion(t *testing.T, s *testServer, kind string, token int64) convStatus {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var st convStatus
		if code := restJSON(t, "GET", fmt.Sprintf("%s/convert/%s/status/%d/", s.URL, kind, token), "", &st); code != 200 {
			t.Fatalf("status: %d", code)
		}
		if st.Status == "finished" || st.Status == "failed" || st.Status == "cancelled" {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("conversion %d still %s", token, st.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type probed struct {
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// ffprobe describes media bytes.
func ffprobe(t testing.TB, data []byte) (video, audio string, w, h int, dur float64) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "probe")
	os.WriteFile(p, data, 0o600)
	out, err := exec.Command("ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", p).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var pr probed
	json.Unmarshal(out, &pr)
	for _, s := range pr.Streams {
		switch s.CodecType {
		case "video":
			video, w, h = s.CodecName, s.Width, s.Height
		case "audio":
			audio = s.CodecName
		}
	}
	dur, _ = strconv.ParseFloat(pr.Format.Duration, 64)
	return
}

// pdfPages counts a PDF's pages with pdfinfo.
func pdfPages(t testing.TB, data []byte) int {
	t.Helper()
	p := filepath.Join(t.TempDir(), "doc.pdf")
	os.WriteFile(p, data, 0o600)
	out, err := exec.Command("pdfinfo", p).Output()
	if err != nil {
		t.Fatalf("pdfinfo: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "Pages:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Fatalf("pdfinfo: no page count: %s", out)
	return 0
}

type convSubmit struct {
	Problems map[string]string `json:"problems"`
	Result   []struct {
		OriginalSource string `json:"original_source"`
		Token          int64  `json:"token"`
		UUID           string `json:"uuid"`
		Thumbs         string `json:"thumbnails_group_uuid"`
	} `json:"result"`
}

func submit(t *testing.T, s *testServer, kind string, body any) convSubmit {
	t.Helper()
	b, _ := json.Marshal(body)
	var out convSubmit
	if code := restJSON(t, "POST", s.URL+"/convert/"+kind+"/", string(b), &out); code != 200 {
		t.Fatalf("submit: %d", code)
	}
	return out
}

// TestConvertVideo converts a clip to WebM with a size, a quality, a cut
// and thumbnails, checks the answers' shapes and the result by content, and
// that the same path reuses the job.
func TestConvertVideo(t *testing.T) {
	s := startServer(t, nil)
	clip := makeClip(t, 320, 240, 3)
	id := uploadFile(t, s, "clip.mp4", clip)
	path := id + "/video/-/size/160x/preserve_ratio/-/quality/better/-/format/webm/-/cut/0:0:1/0:0:1.5/-/thumbs~3/"
	cdnPath := "https://ucarecdn.com/" + path
	bad := "8ddbbb48-0927-4df7-afac-c6031668b01b"
	res := submit(t, s, "video", map[string]any{"paths": []string{cdnPath, bad, id + "/video/-/format/avi/"}, "store": "1"})
	if len(res.Result) != 1 || res.Result[0].OriginalSource != cdnPath {
		t.Fatalf("result: %+v", res)
	}
	if res.Problems[bad] != `Bad path "`+bad+`". Use UUID or CDN URL` || res.Problems[id+"/video/-/format/avi/"] == "" {
		t.Fatalf("problems: %+v", res.Problems)
	}
	job := res.Result[0]
	if !strings.HasSuffix(job.Thumbs, "~3") {
		t.Fatalf("thumbnails group %q", job.Thumbs)
	}
	st := waitConversion(t, s, "video", job.Token)
	if st.Status != "finished" || st.Result.UUID != job.UUID || st.Result.Thumbs != job.Thumbs || st.Progress != 100 {
		t.Fatalf("status: %+v", st)
	}
	v, a, w, h, dur := ffprobe(t, download(t, s.URL, job.UUID))
	if v != "vp9" || a != "opus" || w != 160 || h != 120 || dur < 1.3 || dur > 1.8 {
		t.Fatalf("result: %s/%s %dx%d %.2fs", v, a, w, h, dur)
	}
	var info struct {
		MimeType    string            `json:"mime_type"`
		Variations  map[string]string `json:"variations"`
		ContentInfo struct {
			Video *struct {
				Video []struct{ Width, Height int } `json:"video"`
			} `json:"video"`
		} `json:"content_info"`
		DatetimeStored *string `json:"datetime_stored"`
	}
	restJSON(t, "GET", s.URL+"/files/"+job.UUID+"/", "", &info)
	if info.MimeType != "video/webm" || info.ContentInfo.Video == nil || info.ContentInfo.Video.Video[0].Width != 160 || info.DatetimeStored == nil {
		t.Fatalf("result file: %+v", info)
	}
	restJSON(t, "GET", s.URL+"/files/"+id+"/", "", &info)
	if info.Variations[path] != job.UUID {
		t.Fatalf("source variations: %v", info.Variations)
	}
	var g struct {
		FilesCount int `json:"files_count"`
		Files      []struct {
			UUID string `json:"uuid"`
		} `json:"files"`
	}
	if code := restJSON(t, "GET", s.URL+"/groups/"+job.Thumbs+"/", "", &g); code != 200 || g.FilesCount != 3 {
		t.Fatalf("thumbnails group: %d %+v", code, g)
	}
	_, _, tw, th, _ := ffprobe(t, download(t, s.URL, g.Files[2].UUID))
	if tw != 160 || th != 120 {
		t.Fatalf("thumbnail %dx%d", tw, th)
	}
	again := submit(t, s, "video", map[string]any{"paths": []string{path}})
	if len(again.Result) != 1 || again.Result[0].Token != job.Token || again.Result[0].UUID != job.UUID || again.Result[0].OriginalSource != path {
		t.Fatalf("same path again: %+v", again)
	}
}

// TestConvertVideoFormats checks the MP4 and Ogg encoders and the
// padding and cropping sizes.
func TestConvertVideoFormats(t *testing.T) {
	s := startServer(t, nil)
	id := uploadFile(t, s, "clip.mp4", makeClip(t, 320, 240, 2))
	// Results announce themselves with file.uploaded.
	var mu sync.Mutex
	announced := map[string]bool{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e struct {
			Data struct {
				UUID string `json:"uuid"`
			} `json:"data"`
		}
		json.NewDecoder(r.Body).Decode(&e)
		mu.Lock()
		announced[e.Data.UUID] = true
		mu.Unlock()
	}))
	defer hook.Close()
	if code, _, body := rawREST(t, "POST", s.URL+"/webhooks/", v7, "application/json", `{"target_url":"`+hook.URL+`","event":"file.uploaded"}`); code != 201 {
		t.Fatalf("webhook: %d %s", code, body)
	}
	cases := []struct {
		ops, video, audio string
		w, h              int
	}{
		{"-/format/mp4/-/size/200x200/add_padding/", "h264", "aac", 200, 200},
		{"-/format/ogg/-/size/120x160/scale_crop/-/quality/lightest/", "theora", "vorbis", 120, 160},
	}
	for _, c := range cases {
		res := submit(t, s, "video", map[string]any{"paths": []string{id + "/video/" + c.ops}})
		if len(res.Result) != 1 {
			t.Fatalf("%s: %+v", c.ops, res)
		}
		st := waitConversion(t, s, "video", res.Result[0].Token)
		if st.Status != "finished" {
			t.Fatalf("%s: %+v", c.ops, st)
		}
		v, a, w, h, _ := ffprobe(t, download(t, s.URL, st.Result.UUID))
		if v != c.video || a != c.audio || w != c.w || h != c.h {
			t.Fatalf("%s: %s/%s %dx%d", c.ops, v, a, w, h)
		}
		within(t, "file.uploaded of "+st.Result.UUID, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return announced[st.Result.UUID]
		})
	}
}

// TestConvertVideoLimits: a clip over the duration cap fails its job with
// a readable error; a failed path is converted anew when asked again.
func TestConvertVideoLimits(t *testing.T) {
	s := startServer(t, func(c *server.Config) { c.VideoMaxDuration = time.Second })
	id := uploadFile(t, s, "clip.mp4", makeClip(t, 160, 120, 2))
	path := id + "/video/"
	res := submit(t, s, "video", map[string]any{"paths": []string{path}})
	st := waitConversion(t, s, "video", res.Result[0].Token)
	if st.Status != "failed" || st.Error == nil || !strings.Contains(*st.Error, "limit") {
		t.Fatalf("status: %+v", st)
	}
	again := submit(t, s, "video", map[string]any{"paths": []string{path}})
	if again.Result[0].Token == res.Result[0].Token {
		t.Fatalf("a failed conversion was reused")
	}
}

// TestConvertRequests: bad bodies, unknown tokens and files, wrong kinds
// and a project with conversion off answer in the API's error format.
func TestConvertRequests(t *testing.T) {
	s := startServer(t, nil)
	id := uploadFile(t, s, "notes.txt", []byte("hello"))
	for _, c := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/convert/document/", `[1]`, 400, `{"detail":"Expected JSON object."}`},
		{"POST", "/convert/document/", `{}`, 400, `{"detail":"“paths” parameter is required."}`},
		{"POST", "/convert/video/", `{"paths":[]}`, 400, `{"detail":"“paths” parameter is required."}`},
		{"POST", "/convert/document/", `{"paths":["x"],"store":"maybe"}`, 400, "store"},
		{"GET", "/convert/document/status/12345/", "", 404, `{"detail":"Not found."}`},
		{"GET", "/convert/video/status/abc/", "", 404, `{"detail":"Not found."}`},
		{"GET", "/convert/document/8ddbbb48-0927-4df7-afac-c6031668b01b/", "", 404, `{"detail":"Not found."}`},
		{"POST", "/convert/video/", `{"paths":["` + id + `/video/"]}`, 200, `"problems":{"` + id + `/video/":"File \"` + id + `\" is not a video."}`},
		{"POST", "/convert/document/", `{"paths":["` + id + `/document/-/format/xlsx/"]}`, 200, "does not convert to xlsx"},
		{"POST", "/convert/document/", `{"paths":["` + id + `/video/"]}`, 200, "Bad path"},
	} {
		code, _, body := rawREST(t, c.method, s.URL+c.path, v7, "application/json", c.body)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s %s %s: %d %s", c.method, c.path, c.body, code, body)
		}
	}
	// A project with conversion off.
	p := &satchel.Project{Name: "off", PublicKey: "offpublickey", SecretKey: "offsecretkey", NoConversion: true}
	if err := s.Store.CreateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	code, body := restAs(t, p, "POST", s.URL+"/convert/document/", `{"paths":["`+id+`/document/"]}`)
	if code != 400 || body != `{"detail":"Document conversion feature is not available for this project."}`+"\n" {
		t.Fatalf("disabled: %d %s", code, body)
	}
	code, body = restAs(t, p, "POST", s.URL+"/convert/video/", `{"paths":["`+id+`/video/"]}`)
	if code != 400 || !strings.Contains(body, "Video conversion feature is not available") {
		t.Fatalf("disabled: %d %s", code, body)
	}
}

// TestConvertDocument converts a three-page document to PDF, one page to
// PNG, and every page to JPEG in a group, checking pages and dimensions.
func TestConvertDocument(t *testing.T) {
	needTool(t, "soffice", "pdfinfo", "pdftoppm")
	s := startServer(t, nil)
	id := uploadFile(t, s, "report.fodt", fodt(3))
	var info struct {
		Format struct {
			Name              string `json:"name"`
			ConversionFormats []struct {
				Name string `json:"name"`
			} `json:"conversion_formats"`
			ConvertedGroups map[string]string `json:"converted_groups"`
		} `json:"format"`
		ConvertedGroups map[string]string `json:"converted_groups"`
	}
	if code := restJSON(t, "GET", s.URL+"/convert/document/"+id+"/", "", &info); code != 200 || info.Format.Name != "fodt" || len(info.Format.ConversionFormats) == 0 {
		t.Fatalf("document info: %d %+v", code, info)
	}
	pdf, page2, all := id+"/document/-/format/pdf/", id+"/document/-/format/png/-/page/2/", id+"/document/-/format/jpg/"
	res := submit(t, s, "document", map[string]any{"paths": []string{pdf, page2}, "store": true})
	if len(res.Result) != 2 || res.Result[0].OriginalSource != pdf || res.Result[1].OriginalSource != page2 || len(res.Problems) != 0 {
		t.Fatalf("submit: %+v", res)
	}
	st := waitConversion(t, s, "document", res.Result[0].Token)
	if st.Status != "finished" {
		t.Fatalf("pdf: %+v", st)
	}
	if n := pdfPages(t, download(t, s.URL, st.Result.UUID)); n != 3 {
		t.Fatalf("pdf pages: %d", n)
	}
	st = waitConversion(t, s, "document", res.Result[1].Token)
	if st.Status != "finished" {
		t.Fatalf("png: %+v", st)
	}
	w, h, typ := imageSize(t, download(t, s.URL, st.Result.UUID))
	if typ != "png" || w < 780 || w > 870 || h < 1060 || h > 1180 {
		t.Fatalf("page image: %s %dx%d", typ, w, h)
	}
	// DOCX out, and back in: the DOCX converts to a PDF of as many pages.
	res = submit(t, s, "document", map[string]any{"paths": []string{id + "/document/-/format/docx/"}})
	st = waitConversion(t, s, "document", res.Result[0].Token)
	if st.Status != "finished" {
		t.Fatalf("docx: %+v", st)
	}
	docx := uploadFile(t, s, "report.docx", download(t, s.URL, st.Result.UUID))
	res = submit(t, s, "document", map[string]any{"paths": []string{docx + "/document/-/format/pdf/"}})
	st = waitConversion(t, s, "document", res.Result[0].Token)
	if st.Status != "finished" || pdfPages(t, download(t, s.URL, st.Result.UUID)) != 3 {
		t.Fatalf("docx to pdf: %+v", st)
	}
	res = submit(t, s, "document", map[string]any{"paths": []string{all}, "save_in_group": "1"})
	st = waitConversion(t, s, "document", res.Result[0].Token)
	if st.Status != "finished" {
		t.Fatalf("jpg: %+v", st)
	}
	restJSON(t, "GET", s.URL+"/convert/document/"+id+"/", "", &info)
	gid := info.Format.ConvertedGroups["jpg"]
	if !strings.HasSuffix(gid, "~3") || info.ConvertedGroups["jpg"] != gid {
		t.Fatalf("converted groups: %+v", info)
	}
	var g struct {
		Files []struct {
			UUID     string `json:"uuid"`
			MimeType string `json:"mime_type"`
		} `json:"files"`
	}
	restJSON(t, "GET", s.URL+"/groups/"+gid+"/", "", &g)
	if len(g.Files) != 3 || g.Files[0].UUID != st.Result.UUID || g.Files[2].MimeType != "image/jpeg" {
		t.Fatalf("pages group: %+v", g)
	}
}

// TestConvertDocumentPageLimit: a document over the page cap fails.
func TestConvertDocumentPageLimit(t *testing.T) {
	needTool(t, "soffice", "pdfinfo", "pdftoppm")
	s := startServer(t, func(c *server.Config) { c.DocumentMaxPages = 2 })
	id := uploadFile(t, s, "long.fodt", fodt(3))
	res := submit(t, s, "document", map[string]any{"paths": []string{id + "/document/-/format/pdf/"}})
	st := waitConversion(t, s, "document", res.Result[0].Token)
	if st.Status != "failed" || st.Error == nil || !strings.Contains(*st.Error, "3 pages") {
		t.Fatalf("status: %+v", st)
	}
}
