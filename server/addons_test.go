package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/satchel-project/satchel/addons"
	"github.com/satchel-project/satchel/server"
	satchelucare "github.com/satchel-project/satchel/ucare"
	"github.com/uploadcare/uploadcare-go/ucare"
	"github.com/uploadcare/uploadcare-go/upload"
)

// eicar is the EICAR anti-virus test file, built here so the repository
// holds no copy of it (testdata/clamav/eicar.hdb matches its MD5).
func eicar() []byte {
	return []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$` + "EICAR-STANDARD-ANTIVIRUS-" + `TEST-FILE!$H+H*`)
}

// clamdAddr is the clamd that scripts/clamd.sh starts.
func clamdAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("SATCHEL_TEST_CLAMD_ADDR")
	if addr == "" {
		t.Skip("SATCHEL_TEST_CLAMD_ADDR not set (eval $(scripts/clamd.sh))")
	}
	return addr
}

func uploadData(t *testing.T, base, name, ctype string, data []byte) string {
	t.Helper()
	svc := upload.NewService(ucClient(t, base, false))
	id, err := svc.File(context.Background(), upload.FileParams{Data: bytes.NewReader(data), Name: name, ContentType: ctype, ToStore: ucare.String("1")})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// executeAddon runs an add-on through the REST API and returns the request id.
func executeAddon(t *testing.T, base, name, body string) string {
	t.Helper()
	code, _, resp := rawREST(t, "POST", base+"/addons/"+name+"/execute/", v7, "application/json", body)
	if code != 200 {
		t.Fatalf("execute %s: %d %s", name, code, resp)
	}
	var out struct {
		RequestID string `json:"request_id"`
	}
	json.Unmarshal([]byte(resp), &out)
	if out.RequestID == "" {
		t.Fatalf("execute %s: %s", name, resp)
	}
	return out.RequestID
}

// waitAddon polls the status until it is no longer in progress.
func waitAddon(t *testing.T, base, name, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, body := rawREST(t, "GET", base+"/addons/"+name+"/execute/status/?request_id="+id, v7, "", "")
		if code != 200 {
			t.Fatalf("status: %d %s", code, body)
		}
		var st map[string]any
		json.Unmarshal([]byte(body), &st)
		if st["status"] != "in_progress" {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("add-on %s still in progress", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func appdata(t *testing.T, base, id string) (map[string]any, map[string]any) {
	t.Helper()
	code, _, body := rawREST(t, "GET", base+"/files/"+id+"/?include=appdata", v7, "", "")
	if code != 200 {
		t.Fatalf("file info: %d %s", code, body)
	}
	var f map[string]any
	json.Unmarshal([]byte(body), &f)
	ad, _ := f["appdata"].(map[string]any)
	return f, ad
}

func subscribe(t *testing.T, base, target, event, secret string) {
	t.Helper()
	code, _, body := rawREST(t, "POST", base+"/webhooks/", v7, "application/json", `{"target_url":"`+target+`","event":"`+event+`","signing_secret":"`+secret+`"}`)
	if code != 201 {
		t.Fatalf("subscribe %s: %d %s", event, code, body)
	}
}

func TestAddonClamAVRealClamdInfectedAndClean(t *testing.T) {
	addr := clamdAddr(t)
	rc := &receiver{t: t, secret: "whsecret", ids: map[string]int{}}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	s := startServer(t, func(c *server.Config) { c.Addons.ClamdAddr = addr })
	subscribe(t, s.URL, hook.URL+"/infected", "file.infected", "whsecret")
	subscribe(t, s.URL, hook.URL+"/updated", "file.info_updated", "whsecret")
	bad := uploadData(t, s.URL, "eicar.com", "application/octet-stream", eicar())
	clean := uploadData(t, s.URL, "clean.txt", "text/plain", []byte("nothing to see here\n"))

	for _, tc := range []struct {
		id       string
		infected bool
	}{{bad, true}, {clean, false}} {
		req := executeAddon(t, s.URL, addons.ClamAV, `{"target":"`+tc.id+`"}`)
		if st := waitAddon(t, s.URL, addons.ClamAV, req); st["status"] != "done" {
			t.Fatalf("status %v", st)
		}
		f, ad := appdata(t, s.URL, tc.id)
		entry, _ := ad[addons.ClamAV].(map[string]any)
		data, _ := entry["data"].(map[string]any)
		if data["infected"] != tc.infected || entry["version"] == "" || entry["datetime_created"] == nil || entry["datetime_updated"] == nil {
			t.Fatalf("appdata of %s: %v", tc.id, ad)
		}
		// clamd marks signatures of databases it cannot verify ".UNOFFICIAL".
		if sig, _ := data["infected_with"].(string); tc.infected && !strings.HasPrefix(sig, "Win.Test.EICAR_HDB-1") {
			t.Fatalf("infected_with = %v", data["infected_with"])
		}
		if f["datetime_removed"] != nil {
			t.Fatal("scanned file removed without purge_infected")
		}
	}
	// info_updated for both files, infected for the EICAR one, all signed.
	events := rc.waitFor(3)
	time.Sleep(300 * time.Millisecond)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var infected, updated int
	for _, e := range rc.events {
		h := e["hook"].(map[string]any)
		d := e["data"].(map[string]any)
		switch h["event"] {
		case "file.infected":
			infected++
			if d["uuid"] != bad {
				t.Fatalf("file.infected for %v", d["uuid"])
			}
			in := e["initiator"].(map[string]any)
			if in["type"] != "addon" || in["detail"].(map[string]any)["addon_name"] != addons.ClamAV {
				t.Fatalf("initiator %v", in)
			}
			ad := d["appdata"].(map[string]any)[addons.ClamAV].(map[string]any)
			if ad["data"].(map[string]any)["infected"] != true {
				t.Fatalf("infected payload appdata %v", ad)
			}
		case "file.info_updated":
			updated++
			prev, ok := e["previous_values"].(map[string]any)
			if _, has := prev["appdata"]; !ok || !has {
				t.Fatalf("previous_values %v", e["previous_values"])
			}
		}
	}
	if infected != 1 || updated != 2 || rc.bad != 0 || len(events) < 3 {
		t.Fatalf("infected %d, info_updated %d, bad signatures %d", infected, updated, rc.bad)
	}
}

func TestAddonClamAVPurgeInfected(t *testing.T) {
	addr := clamdAddr(t)
	s := startServer(t, func(c *server.Config) { c.Addons.ClamdAddr = addr })
	bad := uploadData(t, s.URL, "eicar.com", "application/octet-stream", eicar())
	clean := uploadData(t, s.URL, "clean.txt", "text/plain", []byte("clean\n"))
	for _, id := range []string{bad, clean} {
		req := executeAddon(t, s.URL, addons.ClamAV, `{"target":"`+id+`","params":{"purge_infected":true}}`)
		if st := waitAddon(t, s.URL, addons.ClamAV, req); st["status"] != "done" {
			t.Fatalf("status %v", st)
		}
	}
	if f, _ := appdata(t, s.URL, bad); f["datetime_removed"] == nil {
		t.Fatal("infected file not purged")
	}
	if f, _ := appdata(t, s.URL, clean); f["datetime_removed"] != nil {
		t.Fatal("clean file purged")
	}
	resp, err := http.Get(s.URL + "/" + bad + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("CDN still serves the purged file: %d", resp.StatusCode)
	}
}

// TestAddonClamAVSatchelGoClient runs the scan through the Go client of
// this repository (package ucare): uploadcare-go v1.2.5 has no add-on calls.
func TestAddonClamAVSatchelGoClient(t *testing.T) {
	addr := clamdAddr(t)
	s := startServer(t, func(c *server.Config) { c.Addons.ClamdAddr = addr })
	c, err := satchelucare.NewClient(satchelucare.Config{PublicKey: testPub, SecretKey: testSecret, UploadBase: s.URL, APIBase: s.URL, CDNBase: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		data     []byte
		infected bool
	}{{eicar(), true}, {[]byte("clean file\n"), false}} {
		id := uploadData(t, s.URL, "f.bin", "application/octet-stream", tc.data)
		req, err := c.ExecuteAddon(ctx, satchelucare.AddonClamAV, id, satchelucare.ClamAVParams{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WaitAddon(ctx, satchelucare.AddonClamAV, req, nil); err != nil {
			t.Fatal(err)
		}
		info, err := c.FileInfo(ctx, id, &satchelucare.FileInfoOptions{IncludeAppdata: true})
		if err != nil {
			t.Fatal(err)
		}
		var data struct {
			Infected bool `json:"infected"`
		}
		json.Unmarshal(info.Appdata[satchelucare.AddonClamAV].Data, &data)
		if data.Infected != tc.infected {
			t.Fatalf("infected = %v, want %v (%+v)", data.Infected, tc.infected, info.Appdata)
		}
	}
}

func TestAddonNotConfiguredAndBadRequests(t *testing.T) {
	s := startServer(t, nil)
	id := uploadN(t, s.URL, 1, "1")[0]
	for _, name := range []string{addons.ClamAV, addons.RekognitionLabels, addons.RekognitionModeration, addons.RemoveBG} {
		code, _, body := rawREST(t, "POST", s.URL+"/addons/"+name+"/execute/", v7, "application/json", `{"target":"`+id+`"}`)
		if code != 400 || !strings.Contains(body, "not configured") {
			t.Fatalf("%s unconfigured: %d %s", name, code, body)
		}
	}
	for _, tc := range []struct {
		path, body string
		code       int
	}{
		{"/addons/no_such_addon/execute/", `{"target":"` + id + `"}`, 404},
		{"/addons/uc_clamav_virus_scan/execute/", `not json`, 400},
	} {
		if code, _, body := rawREST(t, "POST", s.URL+tc.path, v7, "application/json", tc.body); code != tc.code || !strings.Contains(body, "detail") {
			t.Fatalf("%s %s: %d %s", tc.path, tc.body, code, body)
		}
	}
	if code, _, body := rawREST(t, "GET", s.URL+"/addons/uc_clamav_virus_scan/execute/status/?request_id=8db3c8b4-2dea-4146-bcdb-63387e2b33c1", v7, "", ""); code != 200 || !strings.Contains(body, `"unknown"`) {
		t.Fatalf("unknown request: %d %s", code, body)
	}
	if code, _, _ := rawREST(t, "GET", s.URL+"/addons/uc_clamav_virus_scan/execute/status/", v7, "", ""); code != 400 {
		t.Fatalf("missing request_id: %d", code)
	}
	// Without include=appdata there is no appdata; with it, {} for a file no add-on ran on.
	if f, ad := appdata(t, s.URL, id); ad == nil || len(ad) != 0 {
		t.Fatalf("appdata of a fresh file: %v", f["appdata"])
	}
}

// customPeer is a custom add-on endpoint: it checks the signature, fetches
// the file from the URL it is given, and answers the file's length.
type customPeer struct {
	t       *testing.T
	secret  string
	fail    atomic.Int32 // answers 503 this many times first
	block   chan struct{}
	calls   atomic.Int32
	mu      sync.Mutex
	lastReq map[string]any
}

func (p *customPeer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.calls.Add(1)
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get(addons.SignatureHeader) != addons.Sign(p.secret, body) {
		w.WriteHeader(401)
		return
	}
	if p.fail.Add(-1) >= 0 {
		w.WriteHeader(503)
		return
	}
	if p.block != nil {
		<-p.block
	}
	var req map[string]any
	json.Unmarshal(body, &req)
	p.mu.Lock()
	p.lastReq = req
	p.mu.Unlock()
	file := req["file"].(map[string]any)
	resp, err := http.Get(file["url"].(string))
	if err != nil {
		w.WriteHeader(500)
		return
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	w.Header().Set(addons.VersionHeader, "2.1")
	label, _ := json.Marshal(req["params"].(map[string]any)["label"])
	fmt.Fprintf(w, `{"length":%d,"status":%d,"label":%s}`, n, resp.StatusCode, label)
}

func TestAddonCustomEndToEnd(t *testing.T) {
	peer := &customPeer{t: t, secret: "addon-secret"}
	peer.fail.Store(1) // the first call fails: the execution is retried
	ep := httptest.NewServer(peer)
	defer ep.Close()
	dir := t.TempDir()
	cfg := func(c *server.Config) {
		c.DataDir, c.DatabaseURL, c.StorageURL = dir, "", ""
		c.Addons.Custom, c.Addons.CustomSecret = "local_model="+ep.URL+"/run", "addon-secret"
	}
	s := startServer(t, cfg)
	id := uploadData(t, s.URL, "a.txt", "text/plain", []byte("hello add-on"))
	req := executeAddon(t, s.URL, "local_model", `{"target":"`+id+`","params":{"label":"x"}}`)
	if st := waitAddon(t, s.URL, "local_model", req); st["status"] != "done" {
		t.Fatalf("status %v", st)
	}
	_, ad := appdata(t, s.URL, id)
	entry := ad["local_model"].(map[string]any)
	data := entry["data"].(map[string]any)
	if data["length"] != 12.0 || data["status"] != 200.0 || data["label"] != "x" || entry["version"] != "2.1" {
		t.Fatalf("appdata %v", ad)
	}
	if peer.calls.Load() != 2 {
		t.Fatalf("calls = %d, want 2 (one retry)", peer.calls.Load())
	}
	// Re-running replaces the entry: same datetime_created, later datetime_updated.
	time.Sleep(10 * time.Millisecond)
	req2 := executeAddon(t, s.URL, "local_model", `{"target":"`+id+`","params":{"label":"y"}}`)
	waitAddon(t, s.URL, "local_model", req2)
	_, ad2 := appdata(t, s.URL, id)
	e2 := ad2["local_model"].(map[string]any)
	if e2["datetime_created"] != entry["datetime_created"] || e2["datetime_updated"] == entry["datetime_updated"] || e2["data"].(map[string]any)["label"] != "y" {
		t.Fatalf("re-run: before %v after %v", entry, e2)
	}
	// Results and statuses survive a restart.
	s.ts.Close()
	s.Close()
	s2 := startServer(t, cfg)
	_, ad3 := appdata(t, s2.URL, id)
	if fmt.Sprint(ad3) != fmt.Sprint(ad2) {
		t.Fatalf("after restart %v, before %v", ad3, ad2)
	}
	if st := waitAddon(t, s2.URL, "local_model", req2); st["status"] != "done" {
		t.Fatalf("status after restart %v", st)
	}
}

func TestAddonConcurrentRunConflict(t *testing.T) {
	peer := &customPeer{t: t, secret: "k", block: make(chan struct{})}
	ep := httptest.NewServer(peer)
	defer ep.Close()
	s := startServer(t, func(c *server.Config) {
		c.Addons.Custom, c.Addons.CustomSecret = "slow="+ep.URL, "k"
	})
	id := uploadData(t, s.URL, "a.txt", "text/plain", []byte("x"))
	req := executeAddon(t, s.URL, "slow", `{"target":"`+id+`","params":{}}`)
	code, _, body := rawREST(t, "POST", s.URL+"/addons/slow/execute/", v7, "application/json", `{"target":"`+id+`"}`)
	if code != 409 || !strings.Contains(body, "detail") {
		t.Fatalf("concurrent run: %d %s", code, body)
	}
	close(peer.block)
	if st := waitAddon(t, s.URL, "slow", req); st["status"] != "done" {
		t.Fatalf("status %v", st)
	}
	// Once done, the add-on may run again.
	waitAddon(t, s.URL, "slow", executeAddon(t, s.URL, "slow", `{"target":"`+id+`"}`))
}

func TestAddonCustomPermanentError(t *testing.T) {
	peer := &customPeer{t: t, secret: "right"}
	ep := httptest.NewServer(peer)
	defer ep.Close()
	s := startServer(t, func(c *server.Config) {
		c.Addons.Custom, c.Addons.CustomSecret = "m="+ep.URL, "wrong" // the peer answers 401
	})
	id := uploadData(t, s.URL, "a.txt", "text/plain", []byte("x"))
	if st := waitAddon(t, s.URL, "m", executeAddon(t, s.URL, "m", `{"target":"`+id+`"}`)); st["status"] != "error" {
		t.Fatalf("status %v", st)
	}
	if peer.calls.Load() != 1 {
		t.Fatalf("a 4xx answer was retried: %d calls", peer.calls.Load())
	}
	if _, ad := appdata(t, s.URL, id); len(ad) != 0 {
		t.Fatalf("appdata after failure %v", ad)
	}
}
