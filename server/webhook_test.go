package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/satchel-project/satchel/webhook"
)

// receiver records webhook deliveries and checks their signatures.
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	events []map[string]any
	ids    map[string]int
	bad    int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !webhook.Verify(rc.secret, body, r.Header.Get("X-Uc-Signature")) {
		rc.bad++
		w.WriteHeader(400)
		return
	}
	var m map[string]any
	json.Unmarshal(body, &m)
	rc.events = append(rc.events, m)
	rc.ids[r.Header.Get(webhook.DeliveryIDHeader)]++
}

func (rc *receiver) waitFor(n int) []map[string]any {
	deadline := time.Now().Add(20 * time.Second)
	for {
		rc.mu.Lock()
		if len(rc.events) >= n {
			out := append([]map[string]any(nil), rc.events...)
			rc.mu.Unlock()
			return out
		}
		rc.mu.Unlock()
		if time.Now().After(deadline) {
			rc.t.Fatalf("got %d webhook events, want %d", len(rc.events), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWebhookDeliveryEndToEnd(t *testing.T) {
	rc := &receiver{t: t, secret: "whsecret", ids: map[string]int{}}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	s := startServer(t, nil)
	for _, ev := range []string{"file.uploaded", "file.stored", "file.info_updated", "file.deleted"} {
		code, _, body := rawREST(t, "POST", s.URL+"/webhooks/", v7, "application/json", `{"target_url":"`+hook.URL+`/`+ev+`","event":"`+ev+`","signing_secret":"whsecret"}`)
		if code != 201 {
			t.Fatalf("subscribe %s: %d %s", ev, code, body)
		}
	}
	id := uploadN(t, s.URL, 1, "0")[0]
	if code, _, _ := rawREST(t, "PUT", s.URL+"/files/"+id+"/storage/", v7, "", ""); code != 200 {
		t.Fatal("store failed")
	}
	if code, _, _ := rawREST(t, "PUT", s.URL+"/files/"+id+"/metadata/k/", v7, "application/json", `"v"`); code != 201 {
		t.Fatal("metadata failed")
	}
	if code, _, _ := rawREST(t, "DELETE", s.URL+"/files/"+id+"/storage/", v7, "", ""); code != 200 {
		t.Fatal("delete failed")
	}
	events := rc.waitFor(4)
	time.Sleep(300 * time.Millisecond)
	byType := map[string]map[string]any{}
	for _, e := range events {
		h := e["hook"].(map[string]any)
		byType[h["event"].(string)] = e
		if d := e["data"].(map[string]any); d["uuid"] != id {
			t.Fatalf("event for %v", d["uuid"])
		}
	}
	if len(byType) != 4 || rc.bad != 0 {
		t.Fatalf("events %v, bad signatures %d", len(byType), rc.bad)
	}
	for id, n := range rc.ids {
		if n != 1 {
			t.Fatalf("delivery %s seen %d times", id, n)
		}
	}
	upd := byType["file.info_updated"]
	prev, ok := upd["previous_values"].(map[string]any)
	if !ok || prev["metadata"] != nil {
		t.Fatalf("previous_values = %v", upd["previous_values"])
	}
	if md := upd["data"].(map[string]any)["metadata"].(map[string]any); md["k"] != "v" {
		t.Fatalf("info_updated data metadata = %v", md)
	}
	if f, _ := byType["file.uploaded"]["file"].(string); !strings.HasPrefix(f, s.URL+"/"+id+"/") {
		t.Fatalf("file url = %q", f)
	}
	if byType["file.deleted"]["data"].(map[string]any)["datetime_removed"] == nil {
		t.Fatal("deleted event without datetime_removed")
	}
}
