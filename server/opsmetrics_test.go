package server_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStorageLatencyMetrics: a workload of a direct upload, a multipart
// upload, CDN deliveries and a delete moves the database and blob store
// latency histograms for the operations it used, with labels from small
// fixed sets; an upload being received shows in satchel_uploads_in_progress.
func TestStorageLatencyMetrics(t *testing.T) {
	s := startServer(t, nil)
	direct := uploadDirect(t, s.URL, []byte("latency metrics"), "a.txt")
	multi := uploadMultipart(t, s.URL, bytes.Repeat([]byte("m"), 10<<20+1))
	cdnGet(t, s.URL+"/"+direct+"/")
	cdnGet(t, s.URL+"/"+multi+"/")
	if code, _, body := rawREST(t, "DELETE", s.URL+"/files/"+direct+"/storage/", v7, "", ""); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	// The removal job's delete is timed as it returns.
	var ss []series
	within(t, "the removal job's blob delete", func() bool {
		ss = scrape(t, s.URL+"/metrics", "")
		return value(ss, "satchel_blob_operation_seconds_count", map[string]string{"op": "delete", "outcome": "ok"}) > 0
	})
	for _, c := range []struct{ name, op string }{
		{"satchel_db_operation_seconds_count", "project_by_public_key"},
		{"satchel_db_operation_seconds_count", "create_files"},
		{"satchel_db_operation_seconds_count", "create_upload_session"},
		{"satchel_db_operation_seconds_count", "complete_upload_session"},
		{"satchel_db_operation_seconds_count", "file"},
		{"satchel_db_operation_seconds_count", "update_file"},
		{"satchel_blob_operation_seconds_count", "commit"},
		{"satchel_blob_operation_seconds_count", "start_multipart"},
		{"satchel_blob_operation_seconds_count", "write_part"},
		{"satchel_blob_operation_seconds_count", "complete_multipart"},
		{"satchel_blob_operation_seconds_count", "open"},
		{"satchel_blob_operation_seconds_count", "delete"},
	} {
		if n := value(ss, c.name, map[string]string{"op": c.op, "outcome": "ok"}); n <= 0 {
			t.Errorf("%s{op=%q,outcome=\"ok\"} = %v, want > 0", c.name, c.op, n)
		}
	}
	ops := map[string]bool{}
	for _, x := range ss {
		if !strings.HasPrefix(x.name, "satchel_db_operation_seconds") && !strings.HasPrefix(x.name, "satchel_blob_operation_seconds") {
			continue
		}
		for k := range x.labels {
			if k != "op" && k != "outcome" && k != "le" {
				t.Errorf("%s has label %q", x.name, k)
			}
		}
		switch x.labels["outcome"] {
		case "ok", "not_found", "error":
		default:
			t.Errorf("%s outcome %q", x.name, x.labels["outcome"])
		}
		ops[x.labels["op"]] = true
	}
	if len(ops) > 30 {
		t.Errorf("%d op label values: %v", len(ops), ops)
	}
	if n := value(ss, "satchel_uploads_in_progress", nil); n != 0 {
		t.Errorf("uploads in progress after the workload: %v", n)
	}

	// An upload whose file is still arriving counts as in progress.
	body, ct := multipartBody(t, [][2]string{{"UPLOADCARE_PUB_KEY", testPub}}, []part{{"file", "slow.bin", bytes.Repeat([]byte("s"), 1000)}})
	all, _ := io.ReadAll(body)
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		req, _ := http.NewRequest("POST", s.URL+"/base/", pr)
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	pw.Write(all[:len(all)-100]) // into the file: it counts once its bytes arrive
	deadline := time.Now().Add(8 * time.Second)
	for value(scrape(t, s.URL+"/metrics", ""), "satchel_uploads_in_progress", nil) != 1 {
		if time.Now().After(deadline) {
			pw.CloseWithError(io.ErrUnexpectedEOF)
			t.Fatal("satchel_uploads_in_progress did not show the upload being received")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pw.Write(all[len(all)-100:])
	pw.Close()
	if code := <-done; code != 200 {
		t.Fatalf("slow upload: %d", code)
	}
	within(t, "the finished upload to leave the gauge", func() bool {
		return value(scrape(t, s.URL+"/metrics", ""), "satchel_uploads_in_progress", nil) == 0
	})
}
