package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
)

// BenchmarkRESTListFiles answers GET /files/?limit=100 from a cursor in a
// project of 5000 files, in process (no network), on SQLite or, with
// SATCHEL_TEST_DATABASE_URL set, PostgreSQL. Besides the time it reports
// cpu-ns/op, the process's CPU time per request.
//
//	go test -run '^$' -bench RESTListFiles -benchmem -count 6 ./server/
func BenchmarkRESTListFiles(b *testing.B) {
	s := startServer(b, nil)
	ctx := context.Background()
	p, err := s.Store.ProjectByPublicKey(ctx, testPub)
	if err != nil {
		b.Fatal(err)
	}
	const n = 5000
	start := time.Now().Add(-time.Hour).UTC() // unstored files expire after a day
	files := make([]*satchel.File, n)
	for i := range files {
		files[i] = listedFile(p.ID, i, start)
	}
	for i := 0; i < n; i += 500 {
		if err := s.Store.CreateFiles(ctx, files[i:i+500], nil); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct{ name, accept, query string }{
		{"v0.7", "application/vnd.uploadcare-v0.7+json", ""},
		{"v0.7-appdata", "application/vnd.uploadcare-v0.7+json", "&include=appdata"},
		{"v0.6", "application/vnd.uploadcare-v0.6+json", ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := s.Handler()
			stop := cpuPerOp(b)
			for i := 0; b.Loop(); i++ {
				from := files[i*101%(n-200)].Uploaded.Format("2006-01-02T15:04:05.000000Z")
				req := httptest.NewRequest("GET", "/files/?limit=100&from="+from+c.query, nil)
				req.RemoteAddr = "127.0.0.1:1234"
				req.Header.Set("Accept", c.accept)
				req.Header.Set("Authorization", "Uploadcare.Simple "+testPub+":"+testSecret)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
				if i == 0 {
					var page struct{ Results []json.RawMessage }
					if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || len(page.Results) != 100 {
						b.Fatalf("%d results, %v: %.300s", len(page.Results), err, w.Body)
					}
				}
			}
			stop()
		})
	}
}

// listedFile is the i-th file of a listing benchmark: a photo with its
// content info and, on some, metadata, tags and an add-on result.
func listedFile(projectID int64, i int, start time.Time) *satchel.File {
	id := uuid.NewString()
	up := start.Add(time.Duration(i) * time.Millisecond)
	o, dt := 1+i%8, "2025-06-01T10:00:00"
	f := &satchel.File{UUID: id, ProjectID: projectID, Size: int64(1000 + i), MimeType: "image/jpeg", OriginalFilename: "IMG_1.jpg", Filename: "IMG_1.jpg",
		BlobKey: id, Checksum: "sha256:00", IsImage: true, IsReady: true, Uploaded: up, Source: "local",
		ContentInfo: &satchel.ContentInfo{Mime: satchel.MimeInfo{Mime: "image/jpeg", Type: "image", Subtype: "jpeg"},
			Image: &satchel.ImageInfo{Width: 640 + i%400, Height: 480, Format: "JPEG", ColorMode: "RGB", Orientation: &o, DatetimeOriginal: &dt, DPI: []float64{72, 72}}}}
	if i%2 == 0 {
		f.Stored = &up
	}
	if i%3 == 0 {
		f.Metadata = map[string]string{"subsystem": "uploader", "user_id": fmt.Sprint(i)}
		f.Tags = []string{"gallery"}
	}
	if i%5 == 0 {
		f.Appdata = map[string]satchel.AddonResult{"uc_clamav_virus_scan": {Data: json.RawMessage(`{"infected":false}`), Version: "1", Created: up, Updated: up}}
	}
	return f
}

func cpuPerOp(b *testing.B) (stop func()) {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() { b.ReportMetric(float64(cpu()-start)/float64(b.N), "cpu-ns/op") }
}
