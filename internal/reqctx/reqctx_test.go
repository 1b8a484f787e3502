package reqctx

import (
	"net/http/httptest"
	"testing"
)

// TestIDs: new ids are 24 lowercase hex digits, distinct; a sane client id
// is kept and anything else replaced.
func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := NewID()
		if len(id) != 24 || CleanID(id) != id {
			t.Fatalf("bad id %q", id)
		}
		if seen[id] {
			t.Fatalf("id %q given twice", id)
		}
		seen[id] = true
	}
	if got := CleanID("lb-4711.a:b_c"); got != "lb-4711.a:b_c" {
		t.Errorf("sane id replaced: %q", got)
	}
	for _, bad := range []string{"", "a b", "x<y>", string(make([]byte, 65))} {
		if got := CleanID(bad); got == bad || len(got) != 24 {
			t.Errorf("CleanID(%q) = %q", bad, got)
		}
	}
}

// TestRouteFollowsThePattern: the route is the pattern set on the request
// the info was tied to, and empty without one.
func TestRouteFollowsThePattern(t *testing.T) {
	var none *Info
	if none.Route() != "" || (&Info{ID: "x"}).Route() != "" {
		t.Fatal("route without a request")
	}
	info := &Info{ID: "x"}
	r := WithRequest(httptest.NewRequest("GET", "/a", nil), info)
	if From(r.Context()) != info || info.Route() != "" {
		t.Fatal("info not carried, or routed before the mux")
	}
	r.Pattern = "GET /a"
	if info.Route() != "GET /a" {
		t.Fatalf("route %q", info.Route())
	}
}
