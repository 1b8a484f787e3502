package addons

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

func testClamd(t *testing.T) *Clamd {
	t.Helper()
	addr := os.Getenv("SATCHEL_TEST_CLAMD_ADDR")
	if addr == "" {
		t.Skip("SATCHEL_TEST_CLAMD_ADDR not set (eval $(scripts/clamd.sh))")
	}
	c, err := NewClamd(addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// eicar is built here so the repository holds no copy of the test file.
var eicar = []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$` + "EICAR-STANDARD-ANTIVIRUS-" + `TEST-FILE!$H+H*`)

func TestClamdInstreamChunksRealClamd(t *testing.T) {
	c := testClamd(t)
	ctx := context.Background()
	if v, err := c.Version(ctx); err != nil || v == "" {
		t.Fatalf("version %q: %v", v, err)
	}
	// Chunks smaller than the file: the signature spans several of them.
	c.ChunkSize = 7
	res, err := c.Scan(ctx, bytes.NewReader(eicar))
	if err != nil || !res.Infected || !strings.HasPrefix(res.Signature, "Win.Test.EICAR_HDB-1") {
		t.Fatalf("EICAR: %+v, %v", res, err)
	}
	c.ChunkSize = 64 << 10
	clean := bytes.Repeat([]byte("clean "), 100_000) // 600 kB, ten chunks
	if res, err := c.Scan(ctx, bytes.NewReader(clean)); err != nil || res.Infected {
		t.Fatalf("clean: %+v, %v", res, err)
	}
	c.MaxSize = 100_000
	if _, err := c.Scan(ctx, bytes.NewReader(clean)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over MaxSize: %v", err)
	}
}

func TestClamdAddress(t *testing.T) {
	if _, err := NewClamd(""); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("empty: %v", err)
	}
	for _, bad := range []string{"127.0.0.1:3310", "udp:1.2.3.4:5", "unix:"} {
		if _, err := NewClamd(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
	c, err := NewClamd("unix:/nonexistent/clamd.ctl")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Scan(context.Background(), bytes.NewReader(eicar)); err == nil {
		t.Fatal("scan through a missing socket succeeded")
	}
}

func TestParseCustom(t *testing.T) {
	m, err := ParseCustom(" a=http://127.0.0.1:9/x , b=https://h/p")
	if err != nil || m["a"] != "http://127.0.0.1:9/x" || m["b"] != "https://h/p" {
		t.Fatalf("%v %v", m, err)
	}
	for _, bad := range []string{"a", "a=ftp://h/", "=http://h/", "remove_bg=http://h/"} {
		if _, err := ParseCustom(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}
