package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/uploadcare/uploadcare-go/conversion"
	"github.com/uploadcare/uploadcare-go/ucare"
)

// waitGoClient polls a conversion with the official Go client's status call.
func waitGoClient(t *testing.T, status func(context.Context, int64) (conversion.StatusResult, error), token int64) conversion.StatusResult {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st, err := status(context.Background(), token)
		if err != nil {
			t.Fatalf("status: %v", err)
		}
		if st.Status == "finished" || st.Status == "failed" {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("conversion %d still %s", token, st.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestGoClientConvertVideo converts a clip through the official Go client's
// conversion service (whose video status call is a POST).
func TestGoClientConvertVideo(t *testing.T) {
	s := startServer(t, nil)
	id := uploadFile(t, s, "clip.mp4", makeClip(t, 320, 240, 2))
	svc := conversion.NewService(ucClient(t, s.URL, false))
	path := id + "/video/-/size/x120/-/format/mp4/-/thumbs~2/"
	res, err := svc.Video(context.Background(), conversion.Params{Paths: []string{path}, ToStore: ucare.String("1")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Jobs) != 1 || res.Jobs[0].OriginalSource != path || res.Jobs[0].Token == 0 || len(res.Problems) != 0 {
		t.Fatalf("result: %+v", res)
	}
	st := waitGoClient(t, svc.VideoStatus, res.Jobs[0].Token)
	if st.Status != "finished" || st.Result.ID != res.Jobs[0].ID {
		t.Fatalf("status: %+v", st)
	}
	v, a, w, h, _ := ffprobe(t, download(t, s.URL, st.Result.ID))
	if v != "h264" || a != "aac" || w != 160 || h != 120 {
		t.Fatalf("result: %s/%s %dx%d", v, a, w, h)
	}
}

// TestGoClientConvertDocument converts a document to PDF through the
// official Go client's conversion service.
func TestGoClientConvertDocument(t *testing.T) {
	needTool(t, "soffice", "pdfinfo", "pdftoppm")
	s := startServer(t, nil)
	id := uploadFile(t, s, "memo.fodt", fodt(2))
	svc := conversion.NewService(ucClient(t, s.URL, true))
	path := id + "/document/-/format/pdf/"
	bad := "not-a-uuid/document/-/format/pdf/"
	res, err := svc.Document(context.Background(), conversion.Params{Paths: []string{path, bad}, ToStore: ucare.String("0")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Jobs) != 1 || res.Jobs[0].OriginalSource != path || res.Problems[bad] == "" {
		t.Fatalf("result: %+v", res)
	}
	st := waitGoClient(t, svc.DocumentStatus, res.Jobs[0].Token)
	if st.Status != "finished" || st.Result.ID != res.Jobs[0].ID {
		t.Fatalf("status: %+v", st)
	}
	if n := pdfPages(t, download(t, s.URL, st.Result.ID)); n != 2 {
		t.Fatalf("pages: %d", n)
	}
}
