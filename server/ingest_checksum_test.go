package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"
)

// The ETag of a direct upload is the start of the SHA-256 of its bytes,
// whether the body fits in one chunk of the copy or the hash runs beside the
// copy over many; a multipart upload's ETag has the same shape and comes
// back the same on every request. The bytes read back are the bytes sent.
func TestUploadChecksums(t *testing.T) {
	s := startServer(t, nil)
	for _, n := range []int{1, 10_000, 256 << 10, 3<<20 + 12345} {
		data := randomBytes(t, n)
		id := uploadDirect(t, s.URL, data, "f.bin")
		if got := download(t, s.URL, id); !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: content differs", n)
		}
		sum := sha256.Sum256(data)
		resp, _ := get(t, s.URL+"/"+id+"/", nil)
		if want := `"` + hex.EncodeToString(sum[:])[:32] + `"`; resp.Header.Get("ETag") != want {
			t.Fatalf("%d bytes: ETag %q, want SHA-256 %s", n, resp.Header.Get("ETag"), want)
		}
	}
	data := randomBytes(t, 12_000_000)
	id := uploadMultipart(t, s.URL, data)
	if got := download(t, s.URL, id); !bytes.Equal(got, data) {
		t.Fatal("multipart: content differs")
	}
	r1, _ := get(t, s.URL+"/"+id+"/", nil)
	r2, _ := get(t, s.URL+"/"+id+"/", nil)
	if e := r1.Header.Get("ETag"); !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(e) || e != r2.Header.Get("ETag") {
		t.Fatalf("multipart ETag %q, then %q", e, r2.Header.Get("ETag"))
	}
}
