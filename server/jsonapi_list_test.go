package server_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// listAll pages through a JSON:API file listing (items per page) and
// returns the files by id, and the count the pagination reported.
func listAll(t *testing.T, base, secret string, items int) (map[string]map[string]any, float64) {
	t.Helper()
	out := map[string]map[string]any{}
	var count float64
	for pg := 1; ; pg++ {
		r := jaDo(t, "GET", base+"/files.json?items="+strconv.Itoa(items)+"&page="+strconv.Itoa(pg), secret, "", nil)
		wantStatus(t, r, http.StatusOK)
		count = r.body["pagination"].(map[string]any)["count"].(float64)
		data := r.body["data"].([]any)
		for _, d := range data {
			f := d.(map[string]any)
			id := f["id"].(string)
			if !fileIDRe.MatchString(id) {
				t.Fatalf("id %q", id)
			}
			if _, dup := out[id]; dup {
				t.Fatalf("%s listed twice", id)
			}
			out[id] = f["attributes"].(map[string]any)
		}
		if len(data) < items {
			return out, count
		}
	}
}

// The listing shows every file of the project, whatever API uploaded it,
// under a stable f- id that reaches the file like a dialect id.
func TestJSONAPIListsEveryFile(t *testing.T) {
	src := httptest.NewServer(http.NotFoundHandler())
	defer src.Close()
	s := startServer(t, nil)
	base := jaBase(s, testPub)
	up1 := uploadTo(t, s.URL, "one.txt", []byte("uploaded through the Upload API"), "1")
	up2 := uploadTo(t, s.URL, "two.txt", []byte("and an unstored one"), "0")
	direct := jaMultipart(t, "POST", base+"/files.json", testSecret, []byte("through the dialect"), "d.txt")
	wantStatus(t, direct, http.StatusCreated)
	failed := jaJSON(t, "POST", base+"/files.json", testSecret, `{"file":{"source_url":"`+src.URL+`/missing.png"}}`)
	wantStatus(t, failed, http.StatusCreated)
	waitFileStatus(t, base, failed.data(t)["id"].(string), failed.token(t))

	files, count := listAll(t, base, testSecret, 2)
	if len(files) != 4 || count != 4 {
		t.Fatalf("%d files listed, count %v, want 4: %v", len(files), count, files)
	}
	byUUID := map[any]string{}
	for id, a := range files {
		byUUID[a["uuid"]] = id
	}
	if byUUID[direct.attr(t, "uuid")] != direct.data(t)["id"] {
		t.Errorf("the dialect's file is not listed under its id: %v", byUUID)
	}
	if _, ok := files[failed.data(t)["id"].(string)]; !ok {
		t.Errorf("the failed fetch is not listed")
	}
	id1, id2 := byUUID[up1], byUUID[up2]
	if id1 == "" || id2 == "" {
		t.Fatalf("Upload API files not listed: %v", byUUID)
	}
	// The ids are stable: listed again, used, listed again.
	if again, _ := listAll(t, base, testSecret, 3); again[id1] == nil || again[id2] == nil {
		t.Fatalf("ids changed between listings: %v", again)
	}
	g := jaDo(t, "GET", base+"/files/"+id1+".json", testSecret, "", nil)
	wantStatus(t, g, http.StatusOK)
	if g.attr(t, "uuid") != up1 || g.attr(t, "status") != "ready" {
		t.Fatalf("file by listed id: %s", g.raw)
	}
	if again, _ := listAll(t, base, testSecret, 10); again[id1] == nil {
		t.Fatalf("id changed once used: %v", again)
	}
	// The listed ids group and update like the dialect's.
	wantStatus(t, jaJSON(t, "POST", base+"/groups.json", testSecret, `{"file_ids":["`+id1+`","`+id2+`"]}`), http.StatusCreated)
	u := jaJSON(t, "PUT", base+"/files/"+id2+".json", testSecret, `{"file":{"metadata":{"k":"v"}}}`)
	wantStatus(t, u, http.StatusOK)
	// Deleting removes the file for every API and from the listing.
	wantStatus(t, jaDo(t, "DELETE", base+"/files/"+id1+".json", testSecret, "", nil), http.StatusOK)
	wantStatus(t, jaDo(t, "GET", base+"/files/"+id1+".json", testSecret, "", nil), http.StatusNotFound)
	if f, err := s.Store.File(t.Context(), 0, up1); err != nil || f.Removed == nil {
		t.Errorf("the file is not removed: %+v %v", f, err)
	}
	if files, count := listAll(t, base, testSecret, 20); len(files) != 3 || count != 3 || files[id1] != nil {
		t.Errorf("after delete: %d files, count %v", len(files), count)
	}
	// An id that is no file of the project is not found.
	wantStatus(t, jaDo(t, "GET", base+"/files/f-0000000000000000000000.json", testSecret, "", nil), http.StatusNotFound)
}

// A URL fetch whose file arrived while nobody looked is pending in the
// store with its file live beside it: the listing shows the file once,
// under the dialect's id, and counts it once, on every page size.
func TestJSONAPIListsUnseenFetchOnce(t *testing.T) {
	png := pngBytes(t, 8, 8)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(png)
	}))
	defer src.Close()
	s := startServer(t, nil)
	base := jaBase(s, testPub)
	uploadTo(t, s.URL, "one.txt", []byte("uploaded through the Upload API"), "1")
	var fetched []string
	fetch := func() {
		for range 2 {
			r := jaJSON(t, "POST", base+"/files.json", testSecret, `{"file":{"source_url":"`+src.URL+`/a.png"}}`)
			wantStatus(t, r, http.StatusCreated)
			id := r.data(t)["id"].(string)
			waitFetchDone(t, s, id)
			fetched = append(fetched, id)
		}
	}
	fetch()
	files, count := listAll(t, base, testSecret, 20)
	fetch()
	pages, count1 := listAll(t, base, testSecret, 1)
	if len(files) != 3 || count != 3 || len(pages) != 5 || count1 != 5 {
		t.Fatalf("listed %d (count %v), then %d one a page (count %v); want 3 and 5", len(files), count, len(pages), count1)
	}
	for _, id := range fetched {
		if a := pages[id]; a == nil || a["status"] != "ready" {
			t.Errorf("fetched file %s listed as %v", id, a)
		}
	}
}
