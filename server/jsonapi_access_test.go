package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/jobs"
	"github.com/satchel-project/satchel/server"
	"github.com/satchel-project/satchel/ucare/akamai"
)

// newProject adds a project to a test server.
func newProject(t *testing.T, s *testServer, pub, secret string, mutate func(*satchel.Project)) *satchel.Project {
	t.Helper()
	p := &satchel.Project{Name: pub, PublicKey: pub, SecretKey: secret, Autostore: true}
	if mutate != nil {
		mutate(p)
	}
	if err := s.Store.CreateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestJSONAPIAccessTokens checks the boundaries of access tokens: a file
// token reaches its own file and nothing else (another file, a group, a
// listing, another project), a group token only its group, and wrong or
// foreign tokens are answered 404. Anonymous creation works only where the
// project allows it, with the token as the only credential.
func TestJSONAPIAccessTokens(t *testing.T) {
	s := startServer(t, nil)
	const pubB, secretB = "0000000000000000000b", "secretofprojectb"
	newProject(t, s, pubB, secretB, func(p *satchel.Project) { p.AnonymousUploads = true })
	baseA, baseB := jaBase(s, testPub), jaBase(s, pubB)

	mk := func(base, auth, name string) (string, string) {
		r := jaMultipart(t, "POST", base+"/files.json", auth, []byte("content of "+name), name)
		wantStatus(t, r, http.StatusCreated)
		return r.data(t)["id"].(string), r.token(t)
	}
	a1, tokA1 := mk(baseA, testSecret, "a1.txt")
	a2, tokA2 := mk(baseA, testSecret, "a2.txt")
	// Anonymous upload to B: the answer's token is the only credential.
	b1, tokB1 := mk(baseB, "", "b1.txt")
	if !fileTokenRe.MatchString(tokB1) {
		t.Fatalf("anonymous token %q", tokB1)
	}
	r := jaJSON(t, "POST", baseA+"/groups.json", testSecret, `{"file_ids":["`+a1+`","`+a2+`"]}`)
	wantStatus(t, r, http.StatusCreated)
	gA, tokGA := r.data(t)["id"].(string), r.token(t)
	if !groupIDRe.MatchString(gA) || !groupTokRe.MatchString(tokGA) {
		t.Fatalf("group %q token %q", gA, tokGA)
	}

	ok := func(method, u, auth string) {
		t.Helper()
		wantStatus(t, jaDo(t, method, u, auth, "", nil), http.StatusOK)
	}
	refused := func(method, u, auth string, status int) {
		t.Helper()
		r := jaDo(t, method, u, auth, "application/json", strings.NewReader(`{"file":{"metadata":{"x":"y"}}}`))
		wantStatus(t, r, status)
		if r.body["data"] != nil {
			t.Fatalf("%s %s leaked data: %s", method, u, r.raw)
		}
	}
	ok("GET", baseA+"/files/"+a1+".json", tokA1)
	ok("GET", baseB+"/files/"+b1+".json", tokB1)
	ok("GET", baseA+"/groups/"+gA+".json", tokGA)
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		refused(m, baseA+"/files/"+a2+".json", tokA1, http.StatusNotFound) // another file
		refused(m, baseB+"/files/"+b1+".json", tokA1, http.StatusNotFound) // another project's file
		refused(m, baseB+"/files/"+a1+".json", tokA1, http.StatusNotFound) // its own id under another project
		refused(m, baseA+"/files/"+b1+".json", tokB1, http.StatusNotFound)
		refused(m, baseA+"/files/"+a1+".json", tokGA, http.StatusNotFound) // a group token on a member
		refused(m, baseA+"/files/"+a1+".json", "fat-0000000000000000000000", http.StatusNotFound)
		refused(m, baseA+"/files/"+a1+".json", secretB, http.StatusUnauthorized) // another project's secret
		refused(m, baseB+"/files/"+b1+".json", "", http.StatusUnauthorized)
	}
	refused("GET", baseA+"/groups/"+gA+".json", tokA1, http.StatusNotFound)
	refused("GET", baseA+"/groups/"+gA+".json", "gat-0000000000000000000000", http.StatusNotFound)
	// Listings need the secret: a token of the project is not enough, one
	// of another project is not found.
	for _, u := range []string{baseA + "/files.json", baseA + "/groups.json", baseA + "/webhooks.json"} {
		refused("GET", u, tokA1, http.StatusUnauthorized)
		refused("GET", u, tokGA, http.StatusUnauthorized)
		refused("GET", u, tokB1, http.StatusNotFound)
		refused("GET", u, "", http.StatusUnauthorized)
	}
	refused("GET", baseB+"/files.json", tokB1, http.StatusUnauthorized)
	refused("GET", baseB+"/files.json", tokA1, http.StatusNotFound)
	ok("GET", baseB+"/files.json", secretB)
	// Project A does not take anonymous uploads; B also takes anonymous groups.
	wantStatus(t, jaMultipart(t, "POST", baseA+"/files.json", "", []byte("x"), "x.txt"), http.StatusUnauthorized)
	r = jaJSON(t, "POST", baseB+"/groups.json", "", `{"file_ids":["`+b1+`"]}`)
	wantStatus(t, r, http.StatusCreated)
	// A group of another project's files is refused.
	r = jaJSON(t, "POST", baseB+"/groups.json", "", `{"file_ids":["`+a1+`"]}`)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if r.pointer(t) != "/file_ids" {
		t.Fatalf("pointer %q", r.pointer(t))
	}

	// Tokens are stored hashed.
	res, err := s.Store.ResourceByTarget(context.Background(), 1, satchel.ResourceFile, jaDo(t, "GET", baseA+"/files/"+a1+".json", testSecret, "", nil).attr(t, "uuid").(string))
	if err != nil || res.ID != a1 || strings.Contains(res.TokenHash, tokA1) || len(res.TokenHash) != 64 {
		t.Fatalf("stored resource %+v, %v", res, err)
	}
	// Deleting the file revokes its token.
	ok("DELETE", baseA+"/files/"+a1+".json", tokA1)
	refused("GET", baseA+"/files/"+a1+".json", tokA1, http.StatusNotFound)
	ok("GET", baseA+"/files/"+a2+".json", tokA2)
}

// TestJSONAPIChunked uploads 30 MB in three chunks sent in parallel to the
// pre-signed URLs, finalizing (with the file token) before and after all
// chunks arrived; then reads the bytes back through the CDN.
func TestJSONAPIChunked(t *testing.T) {
	s := startServer(t, nil)
	base := jaBase(s, testPub)
	const chunk = 10 << 20
	content := randomBytes(t, 3*chunk-12345)
	r := jaJSON(t, "POST", base+"/files.json", testSecret, fmt.Sprintf(
		`{"file":{"is_chunked_upload":"true","size":%d,"chunk_size":%d,"filename":"30mb.bin","content_type":"application/octet-stream","metadata":{"foo":"bar"},"expires_at":"2099-11-18T08:38:39Z"}}`, len(content), chunk))
	wantStatus(t, r, http.StatusCreated)
	id, token := r.data(t)["id"].(string), r.token(t)
	uuid, _ := r.attr(t, "uuid").(string)
	cu := r.attr(t, "chunked_upload").(map[string]any)
	if r.attr(t, "status") != "pending" || !satchel.ValidUUID(uuid) || cu["is_chunked_upload"] != true || cu["chunk_size"] != float64(chunk) || cu["is_complete"] != false {
		t.Fatalf("start: %s", r.raw)
	}
	var urls []string
	for _, u := range r.data(t)["chunked_upload_urls"].([]any) {
		urls = append(urls, u.(string))
	}
	if len(urls) != 3 {
		t.Fatalf("%d chunk URLs", len(urls))
	}
	put := func(n int) {
		off := n * chunk
		end := min(off+chunk, len(content))
		req, _ := http.NewRequest("PUT", urls[n], bytes.NewReader(content[off:end]))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("chunk %d: %d", n+1, resp.StatusCode)
		}
	}
	var wg sync.WaitGroup
	for _, n := range []int{2, 0} {
		wg.Add(1)
		go func() { defer wg.Done(); put(n) }()
	}
	wg.Wait()
	finalize := func() jaResp {
		return jaJSON(t, "PUT", base+"/files/"+id+".json", token, `{"file":{"is_chunked_upload_complete":true}}`)
	}
	r = finalize()
	wantStatus(t, r, http.StatusConflict)
	if r.firstError(t)["code"] != "chunks_missing" {
		t.Fatalf("early finalize: %s", r.raw)
	}
	put(1)
	// The spec's form body finalizes too.
	r = jaMultipart(t, "PUT", base+"/files/"+id+".json", token, nil, "", "file[is_chunked_upload_complete]", "true")
	wantStatus(t, r, http.StatusOK)
	cu = r.attr(t, "chunked_upload").(map[string]any)
	if r.attr(t, "status") != "ready" || r.attr(t, "uuid") != uuid || r.attr(t, "size") != float64(len(content)) || cu["is_complete"] != true ||
		r.attr(t, "metadata").(map[string]any)["foo"] != "bar" || r.attr(t, "expires_at") != "2099-11-18T08:38:39.000Z" || r.attr(t, "original_protected") != true {
		t.Fatalf("finalized: %s", r.raw)
	}
	wantStatus(t, finalize(), http.StatusOK) // again: nothing to do
	resp, got := get(t, s.URL+"/"+uuid+"/", map[string]string{"Authorization": "Bearer " + token})
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, content) {
		t.Fatalf("CDN: %d, %d bytes", resp.StatusCode, len(got))
	}
}

// TestJSONAPIExpiry: a past expires_at is accepted and echoed, and the
// sweep removes the file (events and all), leaving files due later.
func TestJSONAPIExpiry(t *testing.T) {
	deleted := make(chan string, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v struct {
			Hook      struct{ Event string } `json:"hook"`
			Data      struct{ UUID string }  `json:"data"`
			Initiator struct{ Type string }  `json:"initiator"`
		}
		json.NewDecoder(r.Body).Decode(&v)
		deleted <- v.Hook.Event + " " + v.Data.UUID + " " + v.Initiator.Type
	}))
	defer recv.Close()
	s := startServer(t, func(c *server.Config) { c.SweepEvery = time.Hour })
	// The sweep also runs once at start; on a slow machine that run could
	// come after the expired file below and remove it early.
	within(t, "the expiry sweep to run at start", func() bool {
		js, err := s.Jobs.List(context.Background(), []rivertype.JobState{rivertype.JobStateCompleted}, []string{jobs.KindExpireFiles}, 10)
		return err == nil && len(js) > 0
	})
	base := jaBase(s, testPub)
	wantStatus(t, jaJSON(t, "POST", base+"/webhooks.json", testSecret, `{"webhook":{"target_url":"`+recv.URL+`","events":["file.deleted"]}}`), http.StatusCreated)
	r := jaMultipart(t, "POST", base+"/files.json", testSecret, pngBytes(t, 10, 10), "old.png", "file[expires_at]", "2023-11-18T08:38:39Z", "file[original_protected]", "false")
	wantStatus(t, r, http.StatusCreated)
	if r.attr(t, "expires_at") != "2023-11-18T08:38:39.000Z" {
		t.Fatalf("expires_at: %s", r.raw)
	}
	old, oldUUID := r.data(t)["id"].(string), r.attr(t, "uuid").(string)
	r = jaJSON(t, "POST", base+"/files.json", testSecret, `{"file":{"source_url":"http://127.0.0.1:1/never"}}`)
	wantStatus(t, r, http.StatusCreated)
	r = jaMultipart(t, "POST", base+"/files.json", testSecret, []byte("later"), "later.txt")
	wantStatus(t, r, http.StatusCreated)
	later := r.data(t)["id"].(string)
	// Set through an update, in another offset.
	r = jaJSON(t, "PUT", base+"/files/"+later+".json", testSecret, `{"file":{"expires_at":"2099-01-01T02:00:00+02:00"}}`)
	if r.attr(t, "expires_at") != "2099-01-01T00:00:00.000Z" {
		t.Fatalf("updated expires_at: %s", r.raw)
	}
	if resp, _ := get(t, s.URL+"/"+oldUUID+"/", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("before the sweep: %d", resp.StatusCode)
	}
	if err := s.App.Sweep(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	r = jaDo(t, "GET", base+"/files/"+old+".json", testSecret, "", nil)
	wantStatus(t, r, http.StatusOK)
	if r.attr(t, "status") != "removed" || r.attr(t, "removed_at") == nil {
		t.Fatalf("expired file: %s", r.raw)
	}
	if resp, _ := get(t, s.URL+"/"+oldUUID+"/", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("CDN after expiry: %d", resp.StatusCode)
	}
	select {
	case got := <-deleted:
		if got != "file.deleted "+oldUUID+" system" {
			t.Fatalf("delivered %q", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no file.deleted delivery")
	}
	r = jaDo(t, "GET", base+"/files/"+later+".json", testSecret, "", nil)
	if r.attr(t, "status") != "ready" || r.attr(t, "removed_at") != nil {
		t.Fatalf("file due later: %s", r.raw)
	}
}

// TestJSONAPIProtectedOriginal: the CDN refuses the original of a protected
// file (403) but serves image operations; the file's token or a secure
// delivery token opens it; lifting the protection opens it to everyone.
func TestJSONAPIProtectedOriginal(t *testing.T) {
	s := startServer(t, nil)
	base := jaBase(s, testPub)
	png := pngBytes(t, 30, 20)
	r := jaMultipart(t, "POST", base+"/files.json", testSecret, png, "p.png")
	wantStatus(t, r, http.StatusCreated)
	id, token, uuid := r.data(t)["id"].(string), r.token(t), r.attr(t, "uuid").(string)
	other := jaMultipart(t, "POST", base+"/files.json", testSecret, png, "q.png").token(t)

	for name, tc := range map[string]struct {
		path string
		hdr  map[string]string
		want int
	}{
		"original":             {"/" + uuid + "/", nil, http.StatusForbidden},
		"original with name":   {"/" + uuid + "/p.png", nil, http.StatusForbidden},
		"inline only":          {"/" + uuid + "/-/inline/yes/", nil, http.StatusForbidden},
		"resize":               {"/" + uuid + "/-/resize/10x/", nil, http.StatusOK},
		"preview":              {"/" + uuid + "/-/preview/", nil, http.StatusOK},
		"bearer token":         {"/" + uuid + "/", map[string]string{"Authorization": "Bearer " + token}, http.StatusOK},
		"query token":          {"/" + uuid + "/?access_token=" + token, nil, http.StatusOK},
		"another file's token": {"/" + uuid + "/", map[string]string{"Authorization": "Bearer " + other}, http.StatusForbidden},
		"project secret":       {"/" + uuid + "/", map[string]string{"Authorization": "Bearer " + testSecret}, http.StatusForbidden},
	} {
		resp, b := get(t, s.URL+tc.path, tc.hdr)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d: %.80s", name, resp.StatusCode, tc.want, b)
			continue
		}
		if name == "bearer token" && (!bytes.Equal(b, png) || !strings.Contains(resp.Header.Get("Cache-Control"), "private")) {
			t.Errorf("%s: %d bytes, Cache-Control %q", name, len(b), resp.Header.Get("Cache-Control"))
		}
	}
	// A group archive would hand out the original too.
	g := jaJSON(t, "POST", base+"/groups.json", testSecret, `{"file_ids":["`+id+`"]}`)
	wantStatus(t, g, http.StatusCreated)
	if resp, _ := get(t, s.URL+"/"+g.attr(t, "uuid").(string)+"/archive/zip/", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("archive: %d", resp.StatusCode)
	}
	if resp, _ := get(t, s.URL+"/"+g.attr(t, "uuid").(string)+"/nth/0/", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("group member: %d", resp.StatusCode)
	}

	// Lifting the protection opens the original at once.
	r = jaForm(t, "PUT", base+"/files/"+id+".json", token, map[string][]string{"file[original_protected]": {"false"}})
	wantStatus(t, r, http.StatusOK)
	if resp, b := get(t, s.URL+"/"+uuid+"/", nil); resp.StatusCode != http.StatusOK || !bytes.Equal(b, png) {
		t.Fatalf("unprotected: %d", resp.StatusCode)
	}

	// A project with secure delivery: its tokens open protected originals.
	const secret = "73636b61519adede42191efe1e73f02a67c7b692e3765f90c250c230be095211"
	const pubC = "000000000000000000cc"
	newProject(t, s, pubC, "secretc", func(p *satchel.Project) { p.SecureDeliverySecret = secret })
	r = jaMultipart(t, "POST", jaBase(s, pubC)+"/files.json", "secretc", png, "c.png")
	wantStatus(t, r, http.StatusCreated)
	uc := r.attr(t, "uuid").(string)
	tok, _ := akamai.URLToken(secret, "/"+uc+"/", time.Now().Add(time.Minute).Unix())
	if resp, _ := get(t, s.URL+"/"+uc+"/?token="+tok, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("secure delivery token: %d", resp.StatusCode)
	}
}

// TestJSONAPIGroupsAndWebhooks: groups of f- ids are Uploadcare groups
// (seen through REST), and dialect webhooks are REST subscriptions whose
// deliveries arrive.
func TestJSONAPIGroupsAndWebhooks(t *testing.T) {
	var mu sync.Mutex
	var hooks []map[string]any
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		json.NewDecoder(r.Body).Decode(&v)
		mu.Lock()
		hooks = append(hooks, v)
		mu.Unlock()
	}))
	defer recv.Close()
	s := startServer(t, nil)
	base := jaBase(s, testPub)

	r := jaJSON(t, "POST", base+"/webhooks.json", testSecret, `{"webhook":{"target_url":"`+recv.URL+`/hook","events":["file.updated","file.created"],"is_active":true}}`)
	wantStatus(t, r, http.StatusCreated)
	wid := r.data(t)["id"].(string)
	if r.data(t)["type"] != "webhooks" || r.attr(t, "target_url") != recv.URL+"/hook" || len(r.attr(t, "events").([]any)) != 2 {
		t.Fatalf("webhook: %s", r.raw)
	}
	subs := func() string {
		_, _, body := rawREST(t, "GET", s.URL+"/webhooks/", "application/vnd.uploadcare-v0.7+json", "", "")
		return body
	}
	if b := subs(); !strings.Contains(b, `"event":"file.uploaded"`) || !strings.Contains(b, `"event":"file.info_updated"`) {
		t.Fatalf("REST subscriptions: %s", b)
	}
	r = jaJSON(t, "POST", base+"/webhooks.json", testSecret, `{"webhook":{"target_url":"`+recv.URL+`","events":["file.exploded"]}}`)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if r.pointer(t) != "/webhook/events" {
		t.Fatalf("bad event: %s", r.raw)
	}

	var ids []string
	for i := 0; i < 2; i++ {
		r = jaMultipart(t, "POST", base+"/files.json", testSecret, []byte(fmt.Sprintf("member %d", i)), fmt.Sprintf("m%d.txt", i))
		wantStatus(t, r, http.StatusCreated)
		ids = append(ids, r.data(t)["id"].(string))
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(hooks)
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	if ev := hooks[0]["hook"].(map[string]any)["event"]; ev != "file.uploaded" {
		t.Errorf("delivered event %v", ev)
	}
	mu.Unlock()

	r = jaJSON(t, "POST", base+"/groups.json", testSecret, `{"file_ids":["`+ids[0]+`","`+ids[1]+`"]}`)
	wantStatus(t, r, http.StatusCreated)
	gid, gtok := r.data(t)["id"].(string), r.token(t)
	guuid, _ := r.attr(t, "uuid").(string)
	if r.attr(t, "status") != "ready" || !satchel.ValidGroupID(guuid) || !strings.HasSuffix(guuid, "~2") {
		t.Fatalf("group: %s", r.raw)
	}
	if code, _, body := rawREST(t, "GET", s.URL+"/groups/"+guuid+"/", "application/vnd.uploadcare-v0.7+json", "", ""); code != 200 || !strings.Contains(body, `"files_count":2`) {
		t.Fatalf("REST group: %d %s", code, body)
	}
	r = jaDo(t, "GET", base+"/groups/"+gid+".json", gtok, "", nil)
	if r.status != 200 || r.token(t) != gtok || r.attr(t, "uuid") != guuid {
		t.Fatalf("group by token: %s", r.raw)
	}
	r = jaDo(t, "GET", base+"/groups.json?items=1", testSecret, "", nil)
	if pg := r.body["pagination"].(map[string]any); pg["count"] != float64(1) || len(r.body["data"].([]any)) != 1 {
		t.Fatalf("group list: %s", r.raw)
	}
	wantStatus(t, jaJSON(t, "POST", base+"/groups.json", testSecret, `{"file_ids":[]}`), http.StatusUnprocessableEntity)

	// Changing the events changes the subscriptions; deleting removes them.
	r = jaJSON(t, "PUT", base+"/webhooks/"+wid+".json", testSecret, `{"webhook":{"events":["file.deleted"],"is_active":false}}`)
	wantStatus(t, r, http.StatusOK)
	if b := subs(); strings.Contains(b, `"file.uploaded"`) || !strings.Contains(b, `"event":"file.deleted"`) || !strings.Contains(b, `"is_active":false`) {
		t.Fatalf("after update: %s", b)
	}
	r = jaDo(t, "GET", base+"/webhooks/"+wid+".json", testSecret, "", nil)
	if ev := r.attr(t, "events").([]any); len(ev) != 1 || ev[0] != "file.deleted" || r.attr(t, "is_active") != false {
		t.Fatalf("webhook view: %s", r.raw)
	}
	wantStatus(t, jaDo(t, "DELETE", base+"/webhooks/"+wid+".json", testSecret, "", nil), http.StatusOK)
	if b := subs(); strings.Contains(b, `"event"`) {
		t.Fatalf("after delete: %s", b)
	}
	wantStatus(t, jaDo(t, "GET", base+"/webhooks/"+wid+".json", testSecret, "", nil), http.StatusNotFound)
}
