package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
	ucfile "github.com/uploadcare/uploadcare-go/file"
	"github.com/uploadcare/uploadcare-go/ucare"
)

// listPage is the part of a REST list page the paging tests read.
type listPage struct {
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Total    int     `json:"total"`
	Results  []struct {
		UUID     string `json:"uuid"`
		ID       string `json:"id"`
		Uploaded string `json:"datetime_uploaded"`
	} `json:"results"`
}

func (p *listPage) ids() []string {
	var ids []string
	for _, r := range p.Results {
		ids = append(ids, r.UUID+r.ID)
	}
	return ids
}

func getPage(t *testing.T, u, accept string) *listPage {
	t.Helper()
	code, _, body := rawREST(t, "GET", u, accept, "", "")
	if code != 200 {
		t.Fatalf("GET %s: %d %s", u, code, body)
	}
	var p listPage
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("GET %s: %v: %s", u, err, body)
	}
	return &p
}

// jsStyle is how the JavaScript REST client follows a link: it re-sends only
// some of the link's query parameters.
func jsStyle(base, path, link string, keep ...string) string {
	u, _ := url.Parse(link)
	q := url.Values{}
	for _, k := range keep {
		if v := u.Query().Get(k); v != "" {
			q.Set(k, v)
		}
	}
	return base + path + "?" + q.Encode()
}

// walkPages lists from first following `next` (as given, or re-sent the
// way the JavaScript client does), then walks back from the last page
// following `previous`; both walks must give want exactly.
func walkPages(t *testing.T, s *testServer, path, first, accept string, want []string, js []string) {
	t.Helper()
	var got []string
	p := getPage(t, first, accept)
	for n := 0; ; n++ {
		if n > len(want)+1 {
			t.Fatalf("%s: next links do not end", first)
		}
		got = append(got, p.ids()...)
		if p.Next == nil {
			break
		}
		next := *p.Next
		if js != nil {
			next = jsStyle(s.URL, path, next, js...)
		}
		p = getPage(t, next, accept)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s following next: %d items %v, want %d %v", first, len(got), got, len(want), want)
	}
	if js != nil {
		return // the JavaScript client drops `to`
	}
	back := p.ids()
	for n := 0; p.Previous != nil; n++ {
		if n > len(want)+1 {
			t.Fatalf("%s: previous links do not end", first)
		}
		p = getPage(t, *p.Previous, accept)
		if p.Next == nil {
			t.Fatalf("%s: a page reached by previous has no next link", first)
		}
		back = append(p.ids(), back...)
	}
	if !slices.Equal(back, want) {
		t.Fatalf("%s following previous: %d items %v, want %d %v", first, len(back), back, len(want), want)
	}
}

// uploadBatch uploads n small files in one /base/ request (so they share
// their upload time); sizes repeat every four files.
func uploadBatch(t *testing.T, base string, batch, n int) {
	t.Helper()
	var files []part
	for i := 0; i < n; i++ {
		files = append(files, part{fmt.Sprintf("file%d", i), fmt.Sprintf("b%d-%d.txt", batch, i), []byte(strings.Repeat("x", 1+i%4))})
	}
	code, _, body := postMultipart(t, base+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", testPub}, {"UPLOADCARE_STORE", "1"}}, files)
	if code != 200 {
		t.Fatalf("batch upload: %d %s", code, body)
	}
}

// TestRESTPagingSharedKeys lists files committed in two /base/ requests (so
// many share their upload time and their size) and groups sharing their
// creation time, page by page in every REST version and ordering, following
// `next` forward and `previous` back: each item comes exactly once.
func TestRESTPagingSharedKeys(t *testing.T) {
	s := startServer(t, nil)
	const perBatch = 60
	uploadBatch(t, s.URL, 0, perBatch)
	uploadBatch(t, s.URL, 1, perBatch)

	versions := []string{"0.5", "0.6", "0.7"}
	for _, v := range versions {
		accept := "application/vnd.uploadcare-v" + v + "+json"
		orderings := []string{"datetime_uploaded", "-datetime_uploaded"}
		if v != "0.7" {
			orderings = append(orderings, "size", "-size")
		}
		for _, o := range orderings {
			all := getPage(t, s.URL+"/files/?limit=1000&ordering="+o, accept)
			want := all.ids()
			if len(want) != 2*perBatch || all.Next != nil {
				t.Fatalf("v%s %s: full listing has %d files", v, o, len(want))
			}
			if o == "datetime_uploaded" {
				times := map[string]bool{}
				for _, r := range all.Results {
					times[r.Uploaded] = true
				}
				if len(times) != 2 {
					t.Fatalf("each batch should share one upload time: %d distinct times", len(times))
				}
			}
			for _, limit := range []int{7, 30} {
				first := fmt.Sprintf("%s/files/?limit=%d&ordering=%s", s.URL, limit, o)
				walkPages(t, s, "/files/", first, accept, want, nil)
				walkPages(t, s, "/files/", first, accept, want, []string{"from", "removed", "stored", "limit", "ordering"})
			}
			// A plain `from` (as clients send it) still starts strictly
			// after that key.
			if strings.HasSuffix(o, "datetime_uploaded") {
				key := all.Results[0].Uploaded
				p := getPage(t, s.URL+"/files/?limit=1000&ordering="+o+"&from="+url.QueryEscape(key), accept)
				if len(p.Results) != perBatch || slices.Contains(p.ids(), want[0]) {
					t.Fatalf("v%s %s: plain from gave %d files", v, o, len(p.Results))
				}
			}
		}
	}

	// Groups sharing their creation time.
	ctx := context.Background()
	proj, err := s.Store.ProjectByPublicKey(ctx, testPub)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Now().UTC().Truncate(time.Second)
	for i := 0; i < 25; i++ {
		g := &satchel.Group{ID: uuid.NewString() + "~1", ProjectID: proj.ID, Created: created.Add(time.Duration(i/10) * time.Second),
			Members: []satchel.GroupMember{{FileUUID: uuid.NewString()}}}
		if err := s.Store.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range versions {
		accept := "application/vnd.uploadcare-v" + v + "+json"
		for _, o := range []string{"datetime_created", "-datetime_created"} {
			want := getPage(t, s.URL+"/groups/?limit=1000&ordering="+o, accept).ids()
			if len(want) != 25 {
				t.Fatalf("v%s %s: %d groups", v, o, len(want))
			}
			for _, limit := range []int{1, 4} {
				first := fmt.Sprintf("%s/groups/?limit=%d&ordering=%s", s.URL, limit, o)
				walkPages(t, s, "/groups/", first, accept, want, nil)
				walkPages(t, s, "/groups/", first, accept, want, []string{"from", "limit", "ordering"})
			}
		}
	}

	// The official Go client follows the links itself.
	files := ucfile.NewService(restClient(t, s.URL, "v0.7", true))
	list, err := files.List(ctx, ucfile.ListParams{Limit: ucare.Uint64(9)})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for list.Next() {
		info, err := list.ReadResult()
		if err != nil {
			t.Fatal(err)
		}
		seen[info.ID]++
	}
	if len(seen) != 2*perBatch {
		t.Fatalf("Go client listed %d distinct files, want %d", len(seen), 2*perBatch)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("Go client listed %s %d times", id, n)
		}
	}
}

// TestRESTBadCursor: a malformed tie-breaker is a 400 in the API's format.
func TestRESTBadCursor(t *testing.T) {
	s := startServer(t, nil)
	v6 := "application/vnd.uploadcare-v0.6+json"
	for _, c := range []struct{ q, accept string }{
		{"/files/?from=" + url.QueryEscape("2024-01-01T00:00:00.000000Z_nope"), v7},
		{"/files/?ordering=size&from=12_x", v6},
		{"/files/?ordering=-size&from=x_" + uuid.NewString(), v6},
		{"/files/?to=" + url.QueryEscape("2024-01-01T00:00:00Z_"), v7},
		{"/groups/?from=" + url.QueryEscape("2024-01-01T00:00:00Z_"+uuid.NewString()), v7},
	} {
		code, _, body := rawREST(t, "GET", s.URL+c.q, c.accept, "", "")
		if code != 400 || !strings.Contains(body, `"detail":"Bad from value`) {
			t.Fatalf("%s: %d %s", c.q, code, body)
		}
	}
}
