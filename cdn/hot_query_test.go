package cdn_test

import (
	"context"
	"testing"
	"time"

	"github.com/satchel-project/satchel/cdn"
	"github.com/satchel-project/satchel/ucare/akamai"
)

// The hot cache keys answers by path alone. Query strings (a stray token,
// unknown parameters) do not change a public file's answer, so they get the
// kept answer and leave one that serves plain requests; on a project that
// requires delivery tokens nothing is kept and nothing is served from the
// cache, whatever was kept before the project required them.
func TestHotQueryStrings(t *testing.T) {
	e := newEnv(t, func(h *cdn.Handler) { h.MetaCacheTTL = time.Nanosecond })
	cold := coldHandler(t, e)
	urls := []string{e.variantURL, e.smallURL, "/" + e.photoID + "/-/resize/120x/"}
	for i, url := range urls {
		want := do(cold, "GET", url, nil)
		if want.Code != 200 {
			t.Fatalf("%s: %d", url, want.Code)
		}
		// The first request of a path carries a query (for one path only:
		// the others are kept by plain requests first).
		first := []string{url + "?token=exp=1~hmac=00&x=1", url}
		if i > 0 {
			first[0], first[1] = first[1], first[0]
		}
		for _, u := range append(first, url+"?x=2", url+"?token=garbage", url) {
			got := do(e.h, "GET", u, nil)
			if got.Code != 200 || got.Body.String() != want.Body.String() || got.Header().Get("ETag") != want.Header().Get("ETag") {
				t.Errorf("%s: %d, %d bytes; want the answer to %s", u, got.Code, got.Body.Len(), url)
			}
		}
	}
	if n, _ := e.h.HotCacheLen(); n != len(urls) {
		t.Fatalf("%d answers kept, want %d (one per path)", n, len(urls))
	}

	// The project now requires delivery tokens.
	const secret = "73636b61519adede42191efe1e73f02a67c7b692e3765f90c250c230be095211"
	ctx := context.Background()
	f, err := e.db.File(ctx, 0, e.photoID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.db.ProjectByID(ctx, f.ProjectID)
	if err != nil {
		t.Fatal(err)
	}
	p.SecureDeliverySecret = secret
	if err := e.db.UpdateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(5 * time.Minute).Unix()
	for _, url := range urls {
		for _, u := range []string{url, url + "?x=1", url + "?token=exp=1~hmac=00"} {
			if w := do(e.h, "GET", u, nil); w.Code != 403 {
				t.Errorf("%s without a valid token: %d, want 403", u, w.Code)
			}
		}
		tok, err := akamai.URLToken(secret, url, exp)
		if err != nil {
			t.Fatal(err)
		}
		if w := do(e.h, "GET", url+"?token="+tok, nil); w.Code != 200 || w.Header().Get("Cache-Control") != "private, max-age=300" {
			t.Errorf("%s with its token: %d %q", url, w.Code, w.Header().Get("Cache-Control"))
		}
		// A valid token for the path does not open the cache to others.
		if w := do(e.h, "GET", url, nil); w.Code != 403 {
			t.Errorf("%s without a token after one with: %d, want 403", url, w.Code)
		}
	}
	if n, _ := e.h.HotCacheLen(); n != 0 {
		t.Errorf("%d answers kept for a project that requires tokens", n)
	}
}
