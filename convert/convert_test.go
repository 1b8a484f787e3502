package convert

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	const id = "88a51210-bd69-4411-bc72-a9952d9512cd"
	r, err := Parse("document", "https://ucarecdn.com/"+id+"/document/-/format/PDF/-/page/2/")
	if err != nil || r.Source != id || r.Format != "pdf" || r.Page != 2 || r.Path != id+"/document/-/format/pdf/-/page/2/" {
		t.Fatalf("document: %+v %v", r, err)
	}
	r, err = Parse("video", id+"/video/-/size/640x/preserve_ratio/-/quality/better/-/format/webm/-/cut/0:0:1/0:0:5/-/thumbs~5/")
	if err != nil || r.Width != 640 || r.Height != 0 || r.ResizeMode != "preserve_ratio" || r.Quality != "better" ||
		r.Format != "webm" || !r.Cut || r.CutStart != 1 || r.CutLength != 5 || r.Thumbs != 5 {
		t.Fatalf("video: %+v %v", r, err)
	}
	r, err = Parse("video", id+"/video/")
	if err != nil || r.Format != "mp4" || r.Quality != "normal" || r.Thumbs != 1 || r.Cut {
		t.Fatalf("video defaults: %+v %v", r, err)
	}
	r, err = Parse("video", id+"/video/-/cut/1:02.5/end/")
	if err != nil || r.CutStart != 62.5 || r.CutLength != -1 {
		t.Fatalf("cut to the end: %+v %v", r, err)
	}
	for _, bad := range []string{
		id, "nope/document/", id + "/document/-/format/exe/", id + "/document/-/page/0/", id + "/video/-/thumbs~51/",
		id + "/video/-/size/10x10/scale_crop/x/", id + "/video/-/size/640x/scale_crop/", id + "/video/-/cut/a/b/",
		id + "/video/-/quality/ultra/", id + "/video/-/format/avi/", id + "/video/-/rotate/90/", id + "/video/format/mp4/",
		id + "/document/", // wrong kind below
	} {
		kind := "video"
		if strings.Contains(bad, "/document/") && bad != id+"/document/" {
			kind = "document"
		}
		var pe *PathError
		if _, err := Parse(kind, bad); !errors.As(err, &pe) || !strings.HasPrefix(pe.Msg, "Bad path") {
			t.Errorf("%s %q: %v", kind, bad, err)
		}
	}
}

// TestDocumentTimeoutFreesSlot: a converter that hangs is killed (with its
// children) at the timeout, its job gets a readable error, and the slot
// serves the next job.
func TestDocumentTimeoutFreesSlot(t *testing.T) {
	dir := t.TempDir()
	hang := filepath.Join(dir, "soffice")
	pidFile := filepath.Join(dir, "child.pid")
	os.WriteFile(hang, []byte("#!/bin/sh\nsleep 60 &\necho $! > "+pidFile+"\nwait\n"), 0o755)
	d := NewDocuments(DocumentOptions{Soffice: hang, Workers: 1, Timeout: 500 * time.Millisecond, Dir: filepath.Join(dir, "profiles")})
	d.unshare = false
	src := filepath.Join(dir, "in.odt")
	os.WriteFile(src, []byte("x"), 0o600)
	for i := 0; i < 2; i++ {
		job := t.TempDir()
		start := time.Now()
		_, err := d.Convert(context.Background(), src, "odt", job, &Request{Kind: "document", Format: "docx"}, false)
		var ce *Error
		if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "took longer") {
			t.Fatalf("run %d: %v", i, err)
		}
		if el := time.Since(start); el > 10*time.Second {
			t.Fatalf("run %d took %s", i, el)
		}
	}
	b, _ := os.ReadFile(pidFile)
	if pid := strings.TrimSpace(string(b)); pid != "" {
		if _, err := os.Stat("/proc/" + pid); err == nil {
			if st, _ := os.ReadFile("/proc/" + pid + "/stat"); !strings.Contains(string(st), ") Z") {
				t.Fatalf("the converter's child %s still runs", pid)
			}
		}
	}
}
