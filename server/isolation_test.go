package server_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/server"
)

// TestProjectIsolationAddonsConvertLegacy: project B's keys never reach
// project A's files, add-on requests or conversions through the add-on,
// conversion and legacy endpoints; each answers its not-found, while A's
// own keys get the same resources (so the not-founds are not for want of
// them).
func TestProjectIsolationAddonsConvertLegacy(t *testing.T) {
	peer := &customPeer{t: t, secret: "k"}
	ep := httptest.NewServer(peer)
	defer ep.Close()
	s := startServer(t, func(c *server.Config) { c.Addons.Custom, c.Addons.CustomSecret = "model="+ep.URL, "k" })
	ctx := context.Background()
	pa, err := s.Store.ProjectByPublicKey(ctx, testPub)
	if err != nil {
		t.Fatal(err)
	}
	pb := secondProject(t, s)
	idA := uploadFile(t, s, "notes.txt", []byte("project A's notes"))

	// REST add-ons.
	code, body := restAs(t, pb, "POST", s.URL+"/addons/model/execute/", `{"target":"`+idA+`"}`)
	if code != 404 || strings.Contains(body, idA) {
		t.Errorf("B executes an add-on on A's file: %d %s", code, body)
	}
	reqA := executeAddon(t, s.URL, "model", `{"target":"`+idA+`","params":{"label":"a"}}`)
	if st := waitAddon(t, s.URL, "model", reqA); st["status"] != "done" {
		t.Fatalf("A's add-on: %v", st)
	}
	code, body = restAs(t, pb, "GET", s.URL+"/addons/model/execute/status/?request_id="+reqA, "")
	if code != 200 || strings.TrimSpace(body) != `{"status":"unknown"}` {
		t.Errorf("B reads A's add-on status: %d %s", code, body)
	}
	if peer.calls.Load() != 1 {
		t.Errorf("the add-on ran %d times, want once (for A)", peer.calls.Load())
	}

	// REST document conversion: B cannot convert A's file, nor see A's
	// conversion or A's document's formats.
	path := idA + "/document/-/format/pdf/"
	code, body = restAs(t, pb, "POST", s.URL+"/convert/document/", `{"paths":["`+path+`"]}`)
	var res struct {
		Problems map[string]string `json:"problems"`
		Result   []struct {
			Token int64 `json:"token"`
		} `json:"result"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &res) != nil || len(res.Result) != 0 || res.Problems[path] == "" {
		t.Errorf("B converts A's document: %d %s", code, body)
	}
	code, _, body = rawREST(t, "POST", s.URL+"/convert/document/", v7, "application/json", `{"paths":["`+path+`"]}`)
	if code != 200 || json.Unmarshal([]byte(body), &res) != nil || len(res.Result) != 1 || res.Result[0].Token == 0 {
		t.Fatalf("A converts its document: %d %s", code, body)
	}
	docToken := strconv.FormatInt(res.Result[0].Token, 10)

	// A video conversion of A's, written directly (no video needed: only
	// its status is asked for).
	vid := &satchel.Conversion{Token: res.Result[0].Token + 1, ProjectID: pa.ID, Kind: satchel.ConvertVideo,
		Path: idA + "/video/", SourceUUID: idA, ResultUUID: "c5b7dd84-c0e2-48ff-babc-d23939f2c6b2",
		Status: satchel.ConversionPending, Created: time.Now().UTC(), Updated: time.Now().UTC()}
	if err := s.Store.CreateConversion(ctx, vid); err != nil {
		t.Fatal(err)
	}
	vidToken := strconv.FormatInt(vid.Token, 10)
	for _, c := range []struct{ method, path string }{
		{"GET", "/convert/document/status/" + docToken + "/"},
		{"GET", "/convert/document/" + idA + "/"},
		{"GET", "/convert/video/status/" + vidToken + "/"},
		{"POST", "/convert/video/status/" + vidToken + "/"},
	} {
		if code, _, body := rawREST(t, c.method, s.URL+c.path, v7, "application/json", ""); code != 200 {
			t.Errorf("A: %s %s: %d %s", c.method, c.path, code, body)
		}
		if code, body := restAs(t, pb, c.method, s.URL+c.path, ""); code != 404 || strings.Contains(body, idA) {
			t.Errorf("B: %s %s: %d %s", c.method, c.path, code, body)
		}
	}

	// The legacy dialect.
	form := "application/x-www-form-urlencoded"
	for _, c := range []legacyCall{
		{method: "GET", path: "/files/" + idA + "/"},
		{method: "GET", path: "/files/" + idA + "/", accept: "application/xml"},
		{method: "POST", path: "/files/" + idA + "/", ctype: form, body: "keep=1"},
		{method: "DELETE", path: "/files/" + idA + "/"},
		{method: "GET", path: "/files/?from=" + idA},
	} {
		c.pub, c.secret = pb.PublicKey, pb.SecretKey
		if code, _, body := legacy(t, s, c); code != 404 || strings.Contains(body, "notes.txt") {
			t.Errorf("B: legacy %s %s: %d %s", c.method, c.path, code, body)
		}
	}
	code, _, body = legacy(t, s, legacyCall{method: "GET", path: "/files/", pub: pb.PublicKey, secret: pb.SecretKey, accept: "application/json"})
	if code != 200 || strings.Contains(body, idA) {
		t.Errorf("B: legacy list: %d %s", code, body)
	}
	// A's file is untouched by B's attempts.
	code, _, body = legacy(t, s, legacyCall{method: "GET", path: "/files/" + idA + "/", accept: "application/json"})
	var f map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &f) != nil || f["removed"] != nil {
		t.Errorf("A: legacy file: %d %s", code, body)
	}
}
