package server_test

import (
	"log/slog"
	"net/http"
	"strconv"
	"testing"

	"github.com/satchel-project/satchel/server"
)

// routeCase is one request and the route, surface and status its metrics
// and access line must show.
type routeCase struct {
	method, path, legacyAuth string
	route, surface           string
	status                   int
}

// doRoute sends c and checks the status.
func doRoute(t *testing.T, base string, c routeCase) {
	t.Helper()
	req, _ := http.NewRequest(c.method, base+c.path, nil)
	if c.legacyAuth != "" {
		req.Header.Set("Authentication", c.legacyAuth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != c.status {
		t.Fatalf("%s %s: status %d, want %d", c.method, c.path, resp.StatusCode, c.status)
	}
}

var routeCases = []routeCase{
	{method: "GET", path: "/healthz", route: "GET /healthz", surface: "other", status: 200},
	// Matched by the CDN's catch-all, answered 404 by the CDN.
	{method: "GET", path: "/4c6f2f4a-8a8e-4d4f-9d52-0a9b6b1f7f11/", route: "GET /", surface: "cdn", status: 404},
	// No pattern takes DELETE here: the mux answers 405 itself.
	{method: "DELETE", path: "/healthz", route: "unmatched", surface: "other", status: 405},
	// The legacy dialect's own mux: a route of it, and its catch-all.
	{method: "GET", path: "/files/", legacyAuth: "Uploadcare nope:nope", route: "GET /files/{$}", surface: "rest", status: 401},
	{method: "PUT", path: "/files/x/y/z/", legacyAuth: "Uploadcare nope:nope", route: "/files/", surface: "rest", status: 401},
}

// TestRouteLabels: the route of the metrics and of the access line is the
// pattern that matched, on both muxes, and "unmatched" when none did.
func TestRouteLabels(t *testing.T) {
	logs := &logBuffer{}
	s := startServer(t, func(c *server.Config) {
		c.Log = slog.New(slog.NewJSONHandler(logs, nil))
	})
	before := scrape(t, s.URL+"/metrics", "")
	var want []expectation
	for _, c := range routeCases {
		doRoute(t, s.URL, c)
		want = append(want, expectation{"satchel_http_requests_total",
			map[string]string{"surface": c.surface, "route": c.route, "code": strconv.Itoa(c.status)}, 1})
	}
	checkDeltas(t, s.URL+"/metrics", "", before, want)
	lines := logs.records(t, "http request")
	if len(lines) < len(routeCases)+1 {
		t.Fatalf("%d access lines, want at least %d", len(lines), len(routeCases)+1)
	}
	for i, c := range routeCases {
		l := lines[i+1] // the first is the scrape
		if l["method"] != c.method || l["path"] != c.path || l["route"] != c.route || l["status"] != float64(c.status) {
			t.Errorf("access line of %s %s: %v, want route %q status %d", c.method, c.path, l, c.route, c.status)
		}
	}
}

// TestAccessLogModes: "errors" logs the answers of status 400 and up only,
// "off" none; the metrics count every request either way.
func TestAccessLogModes(t *testing.T) {
	for _, mode := range []string{server.AccessLogErrors, server.AccessLogOff} {
		t.Run(mode, func(t *testing.T) {
			logs := &logBuffer{}
			s := startServer(t, func(c *server.Config) {
				c.Log = slog.New(slog.NewJSONHandler(logs, nil))
				c.AccessLog = mode
			})
			for _, c := range routeCases {
				doRoute(t, s.URL, c)
			}
			var wantLines []routeCase
			if mode == server.AccessLogErrors {
				for _, c := range routeCases {
					if c.status >= 400 {
						wantLines = append(wantLines, c)
					}
				}
			}
			// A line is written before net/http sends the (small) answer
			// the handler left in its buffer: all are there by now.
			lines := logs.records(t, "http request")
			if len(lines) != len(wantLines) {
				t.Fatalf("%d access lines, want %d:\n%s", len(lines), len(wantLines), logs.String())
			}
			for i, c := range wantLines {
				if lines[i]["path"] != c.path || lines[i]["status"] != float64(c.status) {
					t.Errorf("line %d: %v, want %s %d", i, lines[i], c.path, c.status)
				}
			}
		})
	}
}
