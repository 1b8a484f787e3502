package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// Neither a fat- token nor the secret of project A reaches a file, a group
// or a listing entry of project B (dialect ids, derived ids of Upload API
// files, group ids), and B's listing never shows A's files. A project that
// does not take anonymous uploads refuses every anonymous create.
func TestJSONAPICrossProject(t *testing.T) {
	s := startServer(t, nil)
	const pubB, secretB = "crossprojectpublicbb", "crossprojectsecretb"
	newProject(t, s, pubB, secretB, nil)
	baseA, baseB := jaBase(s, testPub), jaBase(s, pubB)

	// Project A: a dialect file, an Upload API file, a group of both.
	r := jaMultipart(t, "POST", baseA+"/files.json", testSecret, []byte("file of A"), "a.txt", "file[original_protected]", "true")
	wantStatus(t, r, http.StatusCreated)
	fileA, tokA, uuidA := r.data(t)["id"].(string), r.token(t), r.attr(t, "uuid").(string)
	upA := uploadTo(t, s.URL, "up.txt", []byte("uploaded to A"), "1")
	filesA, _ := listAll(t, baseA, testSecret, 20)
	var derivedA string
	for id, a := range filesA {
		if a["uuid"] == upA {
			derivedA = id
		}
	}
	if derivedA == "" {
		t.Fatalf("A's Upload API file not listed: %v", filesA)
	}
	r = jaJSON(t, "POST", baseA+"/groups.json", testSecret, `{"file_ids":["`+fileA+`","`+derivedA+`"]}`)
	wantStatus(t, r, http.StatusCreated)
	groupA, gatA := r.data(t)["id"].(string), r.token(t)

	// Project B: a file of its own.
	r = jaMultipart(t, "POST", baseB+"/files.json", secretB, []byte("file of B"), "b.txt")
	wantStatus(t, r, http.StatusCreated)
	fileB, uuidB := r.data(t)["id"].(string), r.attr(t, "uuid").(string)

	noData := func(r jaResp, status int) {
		t.Helper()
		wantStatus(t, r, status)
		if r.body["data"] != nil || strings.Contains(r.raw, uuidA) || strings.Contains(r.raw, upA) {
			t.Fatalf("leaked: %s", r.raw)
		}
	}
	// A's credentials on B's paths.
	for _, auth := range []struct {
		cred   string
		status int
	}{{testSecret, http.StatusUnauthorized}, {tokA, http.StatusNotFound}, {gatA, http.StatusNotFound}} {
		noData(jaDo(t, "GET", baseB+"/files.json", auth.cred, "", nil), auth.status)
		noData(jaDo(t, "GET", baseB+"/groups.json", auth.cred, "", nil), auth.status)
		noData(jaDo(t, "GET", baseB+"/files/"+fileB+".json", auth.cred, "", nil), auth.status)
		noData(jaDo(t, "DELETE", baseB+"/files/"+fileB+".json", auth.cred, "", nil), auth.status)
		noData(jaDo(t, "GET", baseB+"/files/"+fileA+".json", auth.cred, "", nil), auth.status)
	}
	// B's secret on A's ids, under B's path.
	for _, id := range []string{fileA, derivedA} {
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			noData(jaJSON(t, m, baseB+"/files/"+id+".json", secretB, `{"file":{"metadata":{"x":"y"}}}`), http.StatusNotFound)
		}
		noData(jaJSON(t, "POST", baseB+"/groups.json", secretB, `{"file_ids":["`+id+`"]}`), http.StatusUnprocessableEntity)
	}
	noData(jaDo(t, "GET", baseB+"/groups/"+groupA+".json", secretB, "", nil), http.StatusNotFound)
	// B's listing is B's files only.
	if filesB, count := listAll(t, baseB, secretB, 20); len(filesB) != 1 || count != 1 || filesB[fileB] == nil {
		t.Fatalf("B's listing: %v (count %v)", filesB, count)
	}
	// A's file token unlocks A's protected original, not B's.
	for u, want := range map[string]int{uuidA: http.StatusOK, uuidB: http.StatusForbidden} {
		resp, err := http.Get(s.URL + "/" + u + "/?access_token=" + tokA)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("original of %s with A's token: %d, want %d", u, resp.StatusCode, want)
		}
	}
	// A's files are untouched.
	for _, id := range []string{fileA, derivedA} {
		wantStatus(t, jaDo(t, "GET", baseA+"/files/"+id+".json", testSecret, "", nil), http.StatusOK)
	}

	// B does not take anonymous uploads: every anonymous create is refused.
	for _, r := range []jaResp{
		jaMultipart(t, "POST", baseB+"/files.json", "", []byte("anon"), "n.txt"),
		jaJSON(t, "POST", baseB+"/files.json", "", `{"file":{"source_url":"http://127.0.0.1:9/a.png"}}`),
		jaJSON(t, "POST", baseB+"/files.json", "", `{"file":{"is_chunked_upload":true,"size":10,"chunk_size":10,"filename":"c.bin","content_type":"image/png"}}`),
		jaJSON(t, "POST", baseB+"/groups.json", "", `{"file_ids":["`+fileB+`"]}`),
		jaMultipart(t, "POST", baseB+"/files.json", tokA, []byte("foreign token"), "f.txt"),
	} {
		if r.status != http.StatusUnauthorized && r.status != http.StatusNotFound {
			t.Errorf("anonymous create: %d %s", r.status, r.raw)
		}
		noData(r, r.status)
	}
	if filesB, _ := listAll(t, baseB, secretB, 20); len(filesB) != 1 {
		t.Errorf("refused creates left files: %v", filesB)
	}
	p, _ := s.Store.ProjectByPublicKey(t.Context(), pubB)
	if c, err := s.Store.FileCounts(t.Context(), p.ID); err != nil || c.Stored+c.Unstored != 1 {
		t.Errorf("B's file count %+v %v", c, err)
	}
}
