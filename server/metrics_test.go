package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel/server"
)

// series is one sample of a scrape.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape reads /metrics (with the bearer token when not empty).
func scrape(t *testing.T, u, token string) []series {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("scrape %s: %d %s", u, resp.StatusCode, body)
	}
	return parseExposition(t, string(body))
}

// parseExposition reads the Prometheus text format.
func parseExposition(t *testing.T, text string) []series {
	t.Helper()
	var out []series
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := series{labels: map[string]string{}}
		rest := line
		if i := strings.IndexAny(rest, "{ "); i >= 0 && rest[i] == '{' {
			s.name = rest[:i]
			rest = rest[i+1:]
			for !strings.HasPrefix(rest, "}") {
				eq := strings.Index(rest, `="`)
				if eq < 0 {
					t.Fatalf("bad line %q", line)
				}
				key := strings.TrimPrefix(rest[:eq], ",")
				rest = rest[eq+2:]
				var val strings.Builder
				for i := 0; ; i++ {
					if rest[i] == '\\' {
						i++
						switch rest[i] {
						case 'n':
							val.WriteByte('\n')
						default:
							val.WriteByte(rest[i])
						}
						continue
					}
					if rest[i] == '"' {
						rest = rest[i+1:]
						break
					}
					val.WriteByte(rest[i])
				}
				s.labels[key] = val.String()
				rest = strings.TrimPrefix(rest, ",")
			}
			rest = strings.TrimSpace(rest[1:])
		} else {
			name, v, _ := strings.Cut(rest, " ")
			s.name, rest = name, v
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil {
			t.Fatalf("bad value in %q", line)
		}
		s.value = v
		out = append(out, s)
	}
	return out
}

// value sums the samples of name whose labels include want.
func value(ss []series, name string, want map[string]string) float64 {
	var sum float64
next:
	for _, s := range ss {
		if s.name != name {
			continue
		}
		for k, v := range want {
			if s.labels[k] != v {
				continue next
			}
		}
		sum += s.value
	}
	return sum
}

// key writes a series selector for messages.
func key(name string, labels map[string]string) string {
	var ks []string
	for k, v := range labels {
		ks = append(ks, k+"="+strconv.Quote(v))
	}
	sort.Strings(ks)
	return name + "{" + strings.Join(ks, ",") + "}"
}

type expectation struct {
	name   string
	labels map[string]string
	delta  float64
}

// checkDeltas scrapes until every counter moved by exactly its delta since
// before (the last request's metrics land just after its answer), and fails
// with every mismatch after a few seconds.
func checkDeltas(t *testing.T, u, token string, before []series, want []expectation) []series {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		after := scrape(t, u, token)
		var bad []string
		for _, e := range want {
			got := value(after, e.name, e.labels) - value(before, e.name, e.labels)
			if got != e.delta {
				bad = append(bad, fmt.Sprintf("%s moved by %v, want %v", key(e.name, e.labels), got, e.delta))
			}
		}
		if len(bad) == 0 {
			return after
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics after the workload:\n  %s", strings.Join(bad, "\n  "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var uuidRe = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// uploadDirect posts one file to /base/ and returns its UUID.
func uploadDirect(t *testing.T, base string, data []byte, name string) string {
	t.Helper()
	code, _, body := postMultipart(t, base+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}, {"UPLOADCARE_STORE", "1"}}, []part{{"file", name, data}})
	if code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	var out map[string]string
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out["file"]
}

// uploadMultipart sends data through /multipart/ and returns the UUID.
func uploadMultipart(t *testing.T, base string, data []byte) string {
	t.Helper()
	code, body := postURLEncoded(t, base+"/multipart/start/", url.Values{
		"UPLOADCARE_PUB_KEY": {testPub}, "filename": {"big.bin"}, "size": {strconv.Itoa(len(data))},
		"content_type": {"application/octet-stream"}, "UPLOADCARE_STORE": {"1"},
	})
	if code != 200 {
		t.Fatalf("multipart start: %d %s", code, body)
	}
	var start struct {
		UUID  string   `json:"uuid"`
		Parts []string `json:"parts"`
	}
	if err := json.Unmarshal([]byte(body), &start); err != nil {
		t.Fatal(err)
	}
	const partSize = 5 * 1024 * 1024 // the default part size
	for i, u := range start.Parts {
		end := min((i+1)*partSize, len(data))
		if code, _, body := do(t, "PUT", u, bytes.NewReader(data[i*partSize:end]), "application/octet-stream"); code != 200 {
			t.Fatalf("part %d: %d %s", i, code, body)
		}
	}
	code, body = postURLEncoded(t, base+"/multipart/complete/", url.Values{"UPLOADCARE_PUB_KEY": {testPub}, "uuid": {start.UUID}})
	if code != 200 {
		t.Fatalf("multipart complete: %d %s", code, body)
	}
	return start.UUID
}

// uploadFromURL has the node fetch src and waits for the file.
func uploadFromURL(t *testing.T, base, src string) string {
	t.Helper()
	code, body := postURLEncoded(t, base+"/from_url/", url.Values{"pub_key": {testPub}, "source_url": {src}, "store": {"1"}})
	if code != 200 {
		t.Fatalf("from_url: %d %s", code, body)
	}
	var tok struct {
		Token string `json:"token"`
	}
	json.Unmarshal([]byte(body), &tok)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		code, _, body := do(t, "GET", base+"/from_url/status/?token="+tok.Token, nil, "")
		var st struct {
			Status string `json:"status"`
			UUID   string `json:"uuid"`
			Error  string `json:"error"`
		}
		json.Unmarshal([]byte(body), &st)
		switch {
		case code != 200:
			t.Fatalf("from_url status: %d %s", code, body)
		case st.Status == "success":
			return st.UUID
		case st.Status == "error":
			t.Fatalf("from_url failed: %s", st.Error)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("from_url did not finish")
	return ""
}

// cdnGet fetches a CDN URL and returns the body length.
func cdnGet(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return len(b)
}

// TestMetricsAfterWorkload runs uploads of every kind, CDN deliveries with a
// transform served once from the engine and once from the variant cache, and
// a REST call, then proves the counters moved by exactly that.
func TestMetricsAfterWorkload(t *testing.T) {
	s := startServer(t, nil)
	src := randomBytes(t, 3000)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(src) }))
	defer origin.Close()

	before := scrape(t, s.URL+"/metrics", "")
	img := pngBytes(t, 64, 48)
	small := randomBytes(t, 1234)
	big := randomBytes(t, 10*1024*1024+7)
	imgID := uploadDirect(t, s.URL, img, "a.png")
	smallID := uploadDirect(t, s.URL, small, "b.bin")
	bigID := uploadMultipart(t, s.URL, big)
	urlID := uploadFromURL(t, s.URL, origin.URL+"/x.bin")

	cdnBytes := 0
	cdnBytes += cdnGet(t, s.URL+"/"+smallID+"/")
	cdnBytes += cdnGet(t, s.URL+"/"+urlID+"/")
	cdnBytes += cdnGet(t, s.URL+"/"+imgID+"/-/resize/32x/") // computed
	cdnBytes += cdnGet(t, s.URL+"/"+imgID+"/-/resize/32x/") // from the cache
	if code, _, body := rawREST(t, "GET", s.URL+"/files/"+bigID+"/", v7, "", ""); code != 200 {
		t.Fatalf("REST file info: %d %s", code, body)
	}

	after := checkDeltas(t, s.URL+"/metrics", "", before, []expectation{
		{"satchel_upload_files_total", map[string]string{"kind": "direct"}, 2},
		{"satchel_upload_bytes_total", map[string]string{"kind": "direct"}, float64(len(img) + len(small))},
		{"satchel_upload_files_total", map[string]string{"kind": "multipart"}, 1},
		{"satchel_upload_bytes_total", map[string]string{"kind": "multipart"}, float64(len(big))},
		{"satchel_upload_files_total", map[string]string{"kind": "from_url"}, 1},
		{"satchel_upload_bytes_total", map[string]string{"kind": "from_url"}, float64(len(src))},
		{"satchel_http_requests_total", map[string]string{"surface": "upload", "route": "POST /base/", "code": "200"}, 2},
		{"satchel_http_requests_total", map[string]string{"surface": "upload", "route": "PUT /multipart/part/{uuid}/", "code": "200"}, 3},
		{"satchel_http_requests_total", map[string]string{"surface": "upload", "route": "POST /multipart/complete/", "code": "200"}, 1},
		{"satchel_http_requests_total", map[string]string{"surface": "upload", "route": "POST /from_url/", "code": "200"}, 1},
		{"satchel_http_requests_total", map[string]string{"surface": "rest", "route": "GET /files/{uuid}/{$}", "code": "200"}, 1},
		{"satchel_http_requests_total", map[string]string{"surface": "cdn", "route": "GET /", "code": "200"}, 4},
		{"satchel_http_requests_total", map[string]string{"surface": "cdn"}, 4},
		{"satchel_http_request_duration_seconds_count", map[string]string{"surface": "cdn", "route": "GET /"}, 4},
		{"satchel_cdn_bytes_served_total", nil, float64(cdnBytes)},
		{"satchel_variant_cache_requests_total", map[string]string{"result": "miss"}, 1},
		{"satchel_variant_cache_requests_total", map[string]string{"result": "hit"}, 1},
		{"satchel_image_operations_total", map[string]string{"outcome": "ok"}, 1},
		{"satchel_image_operations_total", nil, 1},
		{"satchel_image_queue_wait_seconds_count", nil, 1},
		{"satchel_image_run_seconds_count", nil, 1},
	})
	if value(after, "go_goroutines", nil) <= 0 {
		t.Error("no Go runtime metrics")
	}
	if value(after, "satchel_variant_cache_bytes", nil) <= 0 {
		t.Error("variant cache size not reported")
	}
	for _, s := range after {
		for k, v := range s.labels {
			if uuidRe.MatchString(v) {
				t.Errorf("%s has a UUID in label %s=%q", s.name, k, v)
			}
		}
	}
}

// TestMetricsVariantCacheEvictions: with a cache smaller than any variant,
// each computed variant is evicted once stored (and still served).
func TestMetricsVariantCacheEvictions(t *testing.T) {
	s := startServer(t, func(c *server.Config) { c.VariantCacheSize = 1 })
	imgID := uploadDirect(t, s.URL, pngBytes(t, 64, 48), "a.png")
	before := scrape(t, s.URL+"/metrics", "")
	cdnGet(t, s.URL+"/"+imgID+"/-/resize/32x/")
	cdnGet(t, s.URL+"/"+imgID+"/-/resize/16x/")
	after := checkDeltas(t, s.URL+"/metrics", "", before, []expectation{
		{"satchel_variant_cache_requests_total", map[string]string{"result": "miss"}, 2},
		{"satchel_variant_cache_evictions_total", nil, 2},
	})
	if got := value(after, "satchel_variant_cache_bytes", nil); got != 0 {
		t.Errorf("variant cache bytes = %v, want 0", got)
	}
}

// TestMetricsTokenAndListener: with a token /metrics wants it; with a
// separate listener the main handler has no /metrics at all.
func TestMetricsTokenAndListener(t *testing.T) {
	s := startServer(t, func(c *server.Config) { c.MetricsToken = "scrape-secret" })
	if code, _, _ := do(t, "GET", s.URL+"/metrics", nil, ""); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	if ss := scrape(t, s.URL+"/metrics", "scrape-secret"); value(ss, "process_start_time_seconds", nil) <= 0 {
		t.Fatal("no process metrics")
	}

	s2 := startServer(t, func(c *server.Config) { c.MetricsElsewhere = true })
	if code, _, _ := do(t, "GET", s2.URL+"/metrics", nil, ""); code == http.StatusOK {
		t.Fatal("/metrics served on the main handler")
	}
	ms := httptest.NewServer(s2.MetricsHandler())
	defer ms.Close()
	before := scrape(t, ms.URL, "")
	do(t, "GET", s2.URL+"/healthz", nil, "")
	checkDeltas(t, ms.URL, "", before, []expectation{
		{"satchel_http_requests_total", map[string]string{"surface": "other", "route": "GET /healthz", "code": "200"}, 1},
	})
}
