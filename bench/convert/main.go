// Command convert measures seconds per conversion job through Satchel's REST
// API (submit, then poll the status until finished) next to running the
// same programs by hand on the same input: a 10-page DOCX to PDF, the same
// DOCX to PNG pages (saved in a group), and a 10 s 720p clip to WebM and to
// MP4 with 5 thumbnails. The difference is the overhead Satchel adds (blob
// store, inspection of results, job queue, status polling).
//
//	go run ./bench/convert -rounds 3
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/satchel-project/satchel/server"
)

const (
	pub    = "benchpub"
	secret = "benchsecret"
)

func main() {
	rounds := flag.Int("rounds", 3, "rounds per job (medians are reported)")
	pages := flag.Int("pages", 10, "pages of the document")
	secs := flag.Int("seconds", 10, "length of the clip")
	flag.Parse()
	dir, err := os.MkdirTemp("", "bench-convert")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	docx := makeDocx(dir, *pages)
	clip := makeClip(dir, *secs)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	srv, err := server.New(context.Background(), server.Config{
		DataDir: filepath.Join(dir, "data"), ListenURL: base, DemoPublicKey: pub, DemoSecretKey: secret,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	go http.Serve(ln, srv.Handler())
	docID := upload(base, docx)
	clipID := upload(base, clip)

	profile := filepath.Join(dir, "profile")
	soffice := func(out, format, in string) {
		run("soffice", "--headless", "--norestore", "--nologo", "-env:UserInstallation=file://"+profile, "--convert-to", format, "--outdir", out, in)
	}
	thumbs := func(out, video string) {
		for i := 0; i < 5; i++ {
			run("ffmpeg", "-v", "error", "-y", "-ss", fmt.Sprint(float64(*secs)*float64(i)/5), "-i", video, "-frames:v", "1", "-q:v", "3", filepath.Join(out, fmt.Sprintf("t%d.jpg", i)))
		}
	}
	jobs := []struct {
		name, kind, path string
		saveInGroup      bool
		byHand           func(out string)
	}{
		{"docx-pdf", "document", docID + "/document/-/format/pdf/", false, func(out string) { soffice(out, "pdf", docx) }},
		{"docx-png-pages", "document", docID + "/document/-/format/png/", true, func(out string) {
			soffice(out, "pdf", docx)
			run("pdftoppm", "-png", "-r", "100", filepath.Join(out, "doc.pdf"), filepath.Join(out, "page"))
		}},
		{"720p-webm-5thumbs", "video", clipID + "/video/-/format/webm/-/thumbs~5/", false, func(out string) {
			v := filepath.Join(out, "out.webm")
			run("ffmpeg", "-v", "error", "-y", "-i", clip, "-c:v", "libvpx-vp9", "-crf", "36", "-b:v", "0", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-c:a", "libopus", "-b:a", "96k", v)
			thumbs(out, v)
		}},
		{"720p-mp4-5thumbs", "video", clipID + "/video/-/format/mp4/-/thumbs~5/", false, func(out string) {
			v := filepath.Join(out, "out.mp4")
			run("ffmpeg", "-v", "error", "-y", "-i", clip, "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", v)
			thumbs(out, v)
		}},
	}
	soffice(filepath.Join(dir, "warm"), "pdf", docx) // a warm profile for the runs by hand
	fmt.Println("| job | Satchel s/job | by hand s/job | overhead | Satchel jobs/min |")
	fmt.Println("|---|---|---|---|---|")
	for _, j := range jobs {
		var sat, hand []float64
		for r := 0; r < *rounds; r++ {
			out, _ := os.MkdirTemp(dir, "hand")
			t := time.Now()
			j.byHand(out)
			hand = append(hand, time.Since(t).Seconds())
			os.RemoveAll(out)
			// A new path every round (conversions of one path are reused):
			// videos get a cut of the whole clip, documents a fresh upload.
			path := j.path
			if j.kind == "video" {
				path += fmt.Sprintf("-/cut/0/%d/", *secs+r+1)
			} else if r > 0 {
				path = strings.Replace(path, docID, upload(base, docx), 1)
			}
			t = time.Now()
			convert(base, j.kind, path, j.saveInGroup, r)
			sat = append(sat, time.Since(t).Seconds())
		}
		s, h := median(sat), median(hand)
		fmt.Printf("| %s | %.2f | %.2f | %+.0f%% | %.1f |\n", j.name, s, h, (s/h-1)*100, 60/s)
	}
}

func run(name string, args ...string) {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		log.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}

func makeDocx(dir string, pages int) string {
	var body strings.Builder
	for i := 1; i <= pages; i++ {
		style := "Standard"
		if i > 1 {
			style = "Break"
		}
		fmt.Fprintf(&body, `<text:p text:style-name="%s">Page %d. %s</text:p>`, style, i, strings.Repeat("Lorem ipsum dolor sit amet. ", 60))
	}
	fodt := filepath.Join(dir, "doc.fodt")
	os.WriteFile(fodt, []byte(`<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.text">
<office:automatic-styles><style:style style:name="Break" style:family="paragraph"><style:paragraph-properties fo:break-before="page"/></style:style></office:automatic-styles>
<office:body><office:text>`+body.String()+`</office:text></office:body></office:document>`), 0o600)
	run("soffice", "--headless", "--norestore", "-env:UserInstallation=file://"+filepath.Join(dir, "gen-profile"), "--convert-to", "docx", "--outdir", dir, fodt)
	return filepath.Join(dir, "doc.docx")
}

func makeClip(dir string, secs int) string {
	p := filepath.Join(dir, "clip.mp4")
	run("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=1280x720:rate=30:duration=%d", secs),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%d", secs),
		"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", p)
	return p
}

func upload(base, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("UPLOADCARE_PUB_KEY", pub)
	mw.WriteField("UPLOADCARE_STORE", "1")
	w, _ := mw.CreateFormFile("file", filepath.Base(path))
	w.Write(data)
	mw.Close()
	resp, err := http.Post(base+"/base/", mw.FormDataContentType(), &buf)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	json.NewDecoder(resp.Body).Decode(&out)
	if out["file"] == "" {
		log.Fatalf("upload %s: %s", path, resp.Status)
	}
	return out["file"]
}

func rest(method, url, body string, out any) {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Uploadcare.Simple "+pub+":"+secret)
	req.Header.Set("Accept", "application/vnd.uploadcare-v0.7+json")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		log.Fatalf("%s %s: %s %s", method, url, resp.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		log.Fatalf("%s %s: %v", method, url, err)
	}
}

// convert submits a conversion and polls its status until it finishes.
func convert(base, kind, path string, saveInGroup bool, round int) {
	body, _ := json.Marshal(map[string]any{"paths": []string{path}, "store": "1", "save_in_group": saveInGroup})
	var res struct {
		Problems map[string]string `json:"problems"`
		Result   []struct {
			Token int64 `json:"token"`
		} `json:"result"`
	}
	rest("POST", base+"/convert/"+kind+"/", string(body), &res)
	if len(res.Result) != 1 {
		log.Fatalf("%s: %v", path, res.Problems)
	}
	for {
		var st struct {
			Status string  `json:"status"`
			Error  *string `json:"error"`
		}
		rest("GET", fmt.Sprintf("%s/convert/%s/status/%d/", base, kind, res.Result[0].Token), "", &st)
		switch st.Status {
		case "finished":
			return
		case "failed", "cancelled":
			log.Fatalf("%s: %s %v", path, st.Status, *st.Error)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func median(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}
