package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
)

// waitFetchDone waits until the from-URL task behind a JSON:API file is
// finished, without looking at the file through the API.
func waitFetchDone(t *testing.T, s *testServer, id string) {
	t.Helper()
	p, err := s.Store.ProjectByPublicKey(context.Background(), testPub)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Store.Resource(context.Background(), p.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Token string `json:"fetch_token"`
	}
	json.Unmarshal([]byte(res.State), &st)
	deadline := time.Now().Add(20 * time.Second)
	for {
		task, err := s.Store.FetchTask(context.Background(), st.Token)
		if err != nil {
			t.Fatal(err)
		}
		if task.Status == satchel.FetchSuccess || task.Status == satchel.FetchError {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fetch still %s", task.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A URL fetch nobody watched does not stay pending once its task is
// forgotten: the sweep settles it first (ready, or failed with the
// reason), removes a failed one a retention later, and a file whose task
// vanished unsettled shows failed.
func TestJSONAPIUnwatchedFetch(t *testing.T) {
	png := pngBytes(t, 8, 8)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/a.png" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(png)
	}))
	defer src.Close()
	s := startServer(t, nil)
	base := jaBase(s, testPub)
	create := func(path string) (string, string) {
		r := jaJSON(t, "POST", base+"/files.json", testSecret, `{"file":{"source_url":"`+src.URL+path+`"}}`)
		wantStatus(t, r, http.StatusCreated)
		id := r.data(t)["id"].(string)
		waitFetchDone(t, s, id)
		return id, r.token(t)
	}
	okID, okToken := create("/a.png")
	badID, badToken := create("/missing.png")

	// A day later the sweep forgets the tasks, having settled the files.
	now := time.Now()
	if err := s.App.Sweep(context.Background(), now.Add(25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if g := jaDo(t, "GET", base+"/files/"+okID+".json", okToken, "", nil); g.attr(t, "status") != "ready" || g.attr(t, "uuid") == nil {
		t.Errorf("fetched file after the sweep: %s", g.raw)
	}
	g := jaDo(t, "GET", base+"/files/"+badID+".json", badToken, "", nil)
	if g.attr(t, "status") != "failed" || g.attr(t, "error") == nil || g.attr(t, "error") == "" {
		t.Errorf("failed fetch after the sweep: %s", g.raw)
	}
	// Another day on, the failed file is cleaned up.
	if err := s.App.Sweep(context.Background(), now.Add(50*time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, jaDo(t, "GET", base+"/files/"+badID+".json", badToken, "", nil), http.StatusNotFound)
	if files, _ := listAll(t, base, testSecret, 20); files[badID] != nil || files[okID] == nil {
		t.Errorf("listing after the cleanup: %v", files)
	}

	// A task forgotten without the sweep's settling: failed, with why.
	goneID, goneToken := create("/missing.png")
	if err := s.Store.DeleteFetchTasksBefore(context.Background(), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	g = jaDo(t, "GET", base+"/files/"+goneID+".json", goneToken, "", nil)
	if g.attr(t, "status") != "failed" || g.attr(t, "error") == nil {
		t.Errorf("file of a forgotten task: %s", g.raw)
	}
}
