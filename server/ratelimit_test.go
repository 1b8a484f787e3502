package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel/restapi"
	"github.com/satchel-project/satchel/server"
)

// TestRESTWrongSecretIsNotCharged: REST calls with the project's public key
// but a wrong secret (simple or signed) are refused without spending the
// project's rate limit, so the real owner is not throttled by them; the
// owner's own calls still are.
func TestRESTWrongSecretIsNotCharged(t *testing.T) {
	s := startServer(t, func(c *server.Config) { c.RateLimit = 0.1; c.RateBurst = 2 })
	call := func(auth string, date string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.URL+"/project/", nil)
		req.Header.Set("Accept", v7)
		req.Header.Set("Authorization", auth)
		if date != "" {
			req.Header.Set("Date", date)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	date := time.Now().UTC().Format(http.TimeFormat)
	badSig := restapi.Signature("not-the-secret", "GET", nil, "", date, "/project/")
	for i := 0; i < 10; i++ {
		if code, body := call("Uploadcare.Simple "+testPub+":wrong-secret", ""); code != 401 {
			t.Fatalf("wrong simple secret %d: %d %s", i, code, body)
		}
		if code, body := call("Uploadcare "+testPub+":"+badSig, date); code != 401 {
			t.Fatalf("wrong signature %d: %d %s", i, code, body)
		}
	}
	if code, body := call("Uploadcare.Simple "+testPub+":"+testSecret, ""); code != 200 {
		t.Fatalf("owner after wrong-secret calls: %d %s", code, body)
	}
	// The owner's own calls are limited: the burst is 2 and the rate one
	// call in ten seconds.
	call("Uploadcare.Simple "+testPub+":"+testSecret, "")
	if code, body := call("Uploadcare.Simple "+testPub+":"+testSecret, ""); code != 429 || !strings.Contains(body, "throttled") {
		t.Fatalf("owner over the limit: %d %s", code, body)
	}
}
