package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel/restapi"
	"github.com/satchel-project/satchel/server"
	ucfile "github.com/uploadcare/uploadcare-go/file"
	"github.com/uploadcare/uploadcare-go/group"
	"github.com/uploadcare/uploadcare-go/project"
	"github.com/uploadcare/uploadcare-go/ucare"
	"github.com/uploadcare/uploadcare-go/upload"
	"github.com/uploadcare/uploadcare-go/webhook"
)

// restClient returns a Go client for version v ("" = the client's default) and auth scheme.
func restClient(t *testing.T, base, version string, signed bool) ucare.Client {
	c := ucClient(t, base, signed)
	if version != "" {
		c = ucClientVersion(t, base, version, signed)
	}
	return c
}

func ucClientVersion(t *testing.T, base, version string, signed bool) ucare.Client {
	t.Helper()
	c, err := ucare.NewClient(ucare.APICreds{PublicKey: testPub, SecretKey: testSecret}, &ucare.Config{
		HTTPClient: ucHTTPClient(t, base), SignBasedAuthentication: signed, APIVersion: version,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func uploadN(t *testing.T, base string, n int, store string) []string {
	t.Helper()
	svc := upload.NewService(ucClient(t, base, false))
	var ids []string
	for i := 0; i < n; i++ {
		id, err := svc.File(context.Background(), upload.FileParams{Data: bytes.NewReader(pngBytes(t, 8+i, 8)), Name: fmt.Sprintf("f%d.png", i), ContentType: "image/png", ToStore: ucare.String(store)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func TestRESTGoClientFiles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version string
		signed  bool
	}{{"v0.7 signed", "v0.7", true}, {"v0.7 simple", "v0.7", false}, {"default version simple", "", false}, {"v0.6 signed", ucare.APIv06, true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, nil)
			ids := uploadN(t, s.URL, 5, "0")
			files := ucfile.NewService(restClient(t, s.URL, tc.version, tc.signed))
			ctx := context.Background()

			// Paginate with limit 2: the client follows `next` links itself.
			list, err := files.List(ctx, ucfile.ListParams{Limit: ucare.Uint64(2)})
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			for list.Next() {
				info, err := list.ReadResult()
				if err != nil {
					t.Fatal(err)
				}
				seen = append(seen, info.ID)
			}
			if strings.Join(seen, ",") != strings.Join(ids, ",") {
				t.Fatalf("listed %v, want %v", seen, ids)
			}

			info, err := files.Info(ctx, ids[0])
			if err != nil || info.ID != ids[0] || info.Size == 0 || info.StoredAt != nil || info.UploadedAt == nil {
				t.Fatalf("info: %+v %v", info, err)
			}
			if st, err := files.Store(ctx, ids[0]); err != nil || st.StoredAt == nil {
				t.Fatalf("store: %+v %v", st, err)
			}
			del, err := files.Delete(ctx, ids[1])
			if err != nil || del.RemovedAt == nil || del.OriginalFileURL != nil {
				t.Fatalf("delete: %+v %v", del, err)
			}
			if code, _, _ := do(t, "GET", s.URL+"/"+ids[1]+"/", nil, ""); code != 404 {
				t.Fatalf("deleted file served: %d", code)
			}
			batch, err := files.BatchStore(ctx, []string{ids[2], ids[3], "00000000-0000-4000-8000-000000000000", "nonsense"})
			if err != nil || len(batch.Results) != 2 || batch.Problems["nonsense"] != "Invalid" || batch.Problems["00000000-0000-4000-8000-000000000000"] != "Missing in the project" {
				t.Fatalf("batch store: %+v %v", batch, err)
			}
			stored, err := files.List(ctx, ucfile.ListParams{Stored: ucare.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for stored.Next() {
				if _, err := stored.ReadResult(); err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != 3 {
				t.Fatalf("stored files listed: %d, want 3", n)
			}
			if _, err := files.Info(ctx, "00000000-0000-4000-8000-000000000000"); err == nil {
				t.Fatal("info of unknown file succeeded")
			}
		})
	}
}

func ucHTTPClient(t *testing.T, base string) *http.Client { return rewritingHTTPClient(base) }

func TestRESTGoClientGroupsProjectWebhooks(t *testing.T) {
	s := startServer(t, nil)
	ids := uploadN(t, s.URL, 2, "1")
	up := upload.NewService(ucClient(t, s.URL, false))
	ctx := context.Background()
	g, err := up.CreateGroup(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	c := restClient(t, s.URL, "v0.7", true)
	groups := group.NewService(c)
	info, err := groups.Info(ctx, g.ID)
	if err != nil || info.ID != g.ID || info.FileCount != 2 {
		t.Fatalf("group info: %+v %v", info, err)
	}
	list, err := groups.List(ctx, group.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for list.Next() {
		if _, err := list.ReadResult(); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("groups listed: %d", n)
	}

	proj, err := project.NewService(c).Info(ctx)
	if err != nil || proj.PubKey != testPub || proj.Name != "demo" {
		t.Fatalf("project: %+v %v", proj, err)
	}

	hooks := webhook.NewService(c)
	created, err := hooks.Create(ctx, webhook.Params{TargetURL: ucare.String("https://example.com/hook"), Event: ucare.String("file.uploaded"), IsActive: ucare.Bool(true)})
	if err != nil || created.ID == 0 || created.TargetURL != "https://example.com/hook" || created.SigningSecret != nil {
		t.Fatalf("webhook create: %+v %v", created, err)
	}
	if _, err := hooks.Create(ctx, webhook.Params{TargetURL: ucare.String("https://example.com/hook"), Event: ucare.String("file.uploaded")}); err == nil || !strings.Contains(err.Error(), "already subscribed") {
		t.Fatalf("duplicate webhook: %v", err)
	}
	upd, err := hooks.Update(ctx, webhook.Params{ID: &created.ID, IsActive: ucare.Bool(false), SigningSecret: ucare.String("s3cr3t")})
	if err != nil || upd.IsActive || upd.SigningSecret == nil || *upd.SigningSecret != "s3cr3t" || upd.TargetURL != created.TargetURL {
		t.Fatalf("webhook update: %+v %v", upd, err)
	}
	all, err := hooks.List(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("webhook list: %+v %v", all, err)
	}
	if err := hooks.Delete(ctx, "https://example.com/hook"); err != nil {
		t.Fatalf("webhook delete: %v", err)
	}
	if all, _ := hooks.List(ctx); len(all) != 0 {
		t.Fatalf("webhooks after delete: %d", len(all))
	}
}

// rawREST sends a REST request with simple auth and the given Accept header.
func rawREST(t *testing.T, method, url, accept, ctype, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Uploadcare.Simple "+testPub+":"+testSecret)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, b.String()
}

const v7 = "application/vnd.uploadcare-v0.7+json"

func TestRESTShapesAndErrors(t *testing.T) {
	s := startServer(t, nil)
	ids := uploadN(t, s.URL, 1, "1")
	id := ids[0]
	// Version shapes.
	_, hdr, body := rawREST(t, "GET", s.URL+"/files/"+id+"/", v7, "", "")
	if hdr.Get("Content-Type") != v7 || !strings.Contains(body, `"content_info"`) || !strings.Contains(body, `"metadata":{}`) || strings.Contains(body, `"image_info"`) {
		t.Fatalf("0.7 shape: %s %s", hdr.Get("Content-Type"), body)
	}
	_, _, body = rawREST(t, "GET", s.URL+"/files/"+id+"/", "application/vnd.uploadcare-v0.6+json", "", "")
	if !strings.Contains(body, `"image_info"`) || !strings.Contains(body, `"video_info"`) || strings.Contains(body, `"content_info"`) || !strings.Contains(body, `"variations"`) {
		t.Fatalf("0.6 shape: %s", body)
	}
	_, _, body = rawREST(t, "GET", s.URL+"/files/"+id+"/", "application/vnd.uploadcare-v0.5+json", "", "")
	if strings.Contains(body, `"variations"`) || strings.Contains(body, `"video_info"`) || !strings.Contains(body, `"image_info"`) {
		t.Fatalf("0.5 shape: %s", body)
	}
	for _, c := range []struct {
		method, path, accept, ctype, body string
		status                            int
		want                              string
	}{
		{"GET", "/files/", "application/vnd.uploadcare-v0.4+json", "", "", 406, "Incorrect Accept header provided."},
		{"GET", "/files/", "text/html", "", "", 406, "Incorrect Accept header provided."},
		{"GET", "/files/" + id + "/metadata/", "application/vnd.uploadcare-v0.6+json", "", "", 404, "Not found."},
		{"GET", "/files/00000000-0000-4000-8000-000000000000/", v7, "", "", 404, `{"detail":"Not found."}`},
		{"GET", "/files/?limit=abc", v7, "", "", 400, "limit must be an integer."},
		{"GET", "/files/?from=yesterday", v7, "", "", 400, "Bad from value"},
		{"GET", "/files/?stored=maybe", v7, "", "", 400, "stored must be true or false."},
		{"GET", "/files/?ordering=size", v7, "", "", 400, "Unknown ordering"},
		{"PUT", "/files/storage/", v7, "application/json", `{"not":"a list"}`, 400, "Expected list of UUIDs"},
		{"PUT", "/files/storage/", v7, "application/json", `[]`, 400, "List of UUIDs can not be empty"},
		{"PUT", "/files/storage/", v7, "application/json", `[` + strings.Repeat(`"`+id+`",`, 100) + `"` + id + `"]`, 400, "Maximum UUIDs per request is exceeded. The limit is 100"},
		{"PUT", "/files/" + id + "/metadata/k/", v7, "application/json", `123`, 400, "Expected a JSON string."},
		{"PUT", "/files/" + id + "/metadata/bad%20key/", v7, "application/json", `"v"`, 400, "forbidden characters"},
		{"POST", "/webhooks/", v7, "application/json", `{"event":"file.uploaded"}`, 400, "`target_url` is missing."},
		{"POST", "/webhooks/", v7, "application/json", `{"target_url":"https://x.example/h","event":"nope"}`, 400, "`event` is invalid"},
		{"POST", "/webhooks/", v7, "application/json", `{not json`, 400, "Expected JSON object."},
		{"POST", "/files/local_copy/", v7, "application/json", `{"source":"junk"}`, 400, "Bad `source` parameter. Use UUID or CDN URL."},
		{"POST", "/files/local_copy/", v7, "application/json", `{"source":"` + id + `","store":"perhaps"}`, 400, "`store` parameter should be `true` or `false`."},
		{"GET", "/groups/nope/", v7, "", "", 404, "Not found."},
		{"DELETE", "/webhooks/12345/", v7, "", "", 404, "Webhook with ID 12345 not found."},
	} {
		code, hdr, body := rawREST(t, c.method, s.URL+c.path, c.accept, c.ctype, c.body)
		if code != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s %s: %d %s, want %d %q", c.method, c.path, code, body, c.status, c.want)
		}
		if ct := hdr.Get("Content-Type"); strings.Contains(ct, "charset") {
			t.Errorf("%s %s: content type %q has a charset", c.method, c.path, ct)
		}
	}
	// Auth failures.
	for _, c := range []struct{ auth, date, want string }{
		{"", "", "Incorrect authentication credentials."},
		{"Uploadcare.Simple " + testPub + ":wrong", "", "Incorrect authentication credentials."},
		{"Uploadcare.Simple nobody:x", "", "Public key nobody not found."},
		{"Uploadcare " + testPub + ":deadbeef", time.Now().UTC().Format(http.TimeFormat), "Invalid signature. Please check your Secret key."},
		{"Uploadcare " + testPub + ":deadbeef", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), "Incorrect authentication credentials."},
		{"Uploadcare " + testPub + ":deadbeef", "not a date", "Incorrect authentication credentials."},
	} {
		req, _ := http.NewRequest("GET", s.URL+"/files/", nil)
		req.Header.Set("Accept", v7)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		if c.date != "" {
			req.Header.Set("Date", c.date)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(b.String(), c.want) {
			t.Errorf("auth %q: %d %s", c.auth, resp.StatusCode, b.String())
		}
	}
	// Signed request with pyuploadcare's date format and X-Uploadcare-Date.
	for _, hdrName := range []string{"Date", "X-Uploadcare-Date"} {
		date := time.Now().UTC().Format("Mon, 02 Jan 2006, 15:04:05 GMT")
		uri := "/files/?limit=1&stored=true"
		sig := restapi.Signature(testSecret, "GET", nil, "application/json", date, uri)
		req, _ := http.NewRequest("GET", s.URL+uri, nil)
		req.Header.Set("Accept", v7)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(hdrName, date)
		req.Header.Set("Authorization", "Uploadcare "+testPub+":"+sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("signed with %s: %d", hdrName, resp.StatusCode)
		}
	}
}

func TestRESTSignatureVector(t *testing.T) {
	got := restapi.Signature("demoprivatekey", "GET", nil, "application/json", "Mon, 05 Nov 2018 13:14:41 GMT", "/files/?limit=1&stored=true")
	if got != "3cbc4d2cf91f80c1ba162b926f8a975e8bec7995" {
		t.Fatalf("signature = %s", got)
	}
	for _, d := range []string{"Mon, 05 Nov 2018 13:14:41 GMT", "Mon, 05 Nov 2018, 13:14:41 GMT", "Mon, 05 Nov 2018 13:14:41 -0000"} {
		tm, ok := restapi.ParseDate(d)
		if !ok || tm.Unix() != 1541423681 {
			t.Errorf("ParseDate(%q) = %v %v", d, tm, ok)
		}
	}
}

func TestRESTMetadataTagsAndCopy(t *testing.T) {
	s := startServer(t, nil)
	id := uploadN(t, s.URL, 1, "1")[0]
	base := s.URL + "/files/" + id
	check := func(method, path, ctype, body string, status int, want string) {
		t.Helper()
		code, _, got := rawREST(t, method, base+path, v7, ctype, body)
		if code != status || !strings.Contains(got, want) {
			t.Fatalf("%s %s: %d %s, want %d %q", method, path, code, got, status, want)
		}
	}
	check("PUT", "/metadata/subsystem/", "application/json", `"uploader"`, 201, `"uploader"`)
	check("PUT", "/metadata/subsystem/", "application/json", `"other"`, 200, `"other"`)
	check("GET", "/metadata/", "", "", 200, `{"subsystem":"other"}`)
	check("GET", "/metadata/subsystem/", "", "", 200, `"other"`)
	check("DELETE", "/metadata/subsystem/", "", "", 204, "")
	check("GET", "/metadata/subsystem/", "", "", 404, "Not found.")
	check("PUT", "/tags/", "application/json", `{"tags":["Cat","dog"]}`, 200, `"tags":["cat","dog"],"added":["cat","dog"],"deleted":[]`)
	check("PATCH", "/tags/", "application/json", `{"add":["bird"],"delete":["cat"]}`, 200, `"tags":["dog","bird"],"added":["bird"],"deleted":["cat"]`)
	check("GET", "/tags/", "", "", 200, `{"tags":["dog","bird"]}`)
	// The resulting set keeps its order; added and deleted are sorted.
	check("PUT", "/tags/", "application/json", `{"tags":["zebra","ant","dog"]}`, 200, `"tags":["zebra","ant","dog"],"added":["ant","zebra"],"deleted":["bird"]`)
	check("PATCH", "/tags/", "application/json", `{"add":["yak","bee"],"delete":["zebra","dog"]}`, 200, `"tags":["ant","yak","bee"],"added":["bee","yak"],"deleted":["dog","zebra"]`)

	code, _, body := rawREST(t, "POST", s.URL+"/files/local_copy/", v7, "application/json", `{"source":"`+id+`","store":true}`)
	if code != 201 || !strings.Contains(body, `"type":"file"`) {
		t.Fatalf("local copy: %d %s", code, body)
	}
	var lc struct {
		Result struct {
			UUID string `json:"uuid"`
		} `json:"result"`
	}
	json.Unmarshal([]byte(body), &lc)
	if lc.Result.UUID == id || !bytes.Equal(download(t, s.URL, lc.Result.UUID), download(t, s.URL, id)) {
		t.Fatal("local copy bytes differ or same uuid")
	}
	// A copy with operations stores the transformed image as a new file.
	code, _, body = rawREST(t, "POST", s.URL+"/files/local_copy/", v7, "application/json", `{"source":"`+id+`/-/resize/4x/-/format/png/","store":"true"}`)
	if code != 201 {
		t.Fatalf("local copy with operations: %d %s", code, body)
	}
	json.Unmarshal([]byte(body), &lc)
	if w, _, f := imageSize(t, download(t, s.URL, lc.Result.UUID)); w != 4 || f != "png" {
		t.Fatalf("transformed copy: %d %s", w, f)
	}
	code, _, body = rawREST(t, "POST", s.URL+"/files/local_copy/", v7, "application/json", `{"source":"`+id+`/-/resize/nonsense/"}`)
	if code != 400 || !strings.Contains(body, "resize") {
		t.Fatalf("copy with bad operations: %d %s", code, body)
	}
}

func TestRESTFormWebhooksAndCursor(t *testing.T) {
	s := startServer(t, nil)
	// pyuploadcare posts webhooks form-encoded.
	code, _, body := rawREST(t, "POST", s.URL+"/webhooks/", v7, "application/x-www-form-urlencoded", "event=file.uploaded&target_url=https%3A%2F%2Fexample.com%2Fh&is_active=true&signing_secret=abc")
	if code != 201 || !strings.Contains(body, `"signing_secret":"abc"`) || !strings.Contains(body, `"version":"0.7"`) {
		t.Fatalf("form webhook: %d %s", code, body)
	}
	code, _, body = rawREST(t, "POST", s.URL+"/webhooks/", v7, "application/x-www-form-urlencoded", "event=file.uploaded&target_url=https%3A%2F%2Fexample.com%2Fh")
	if code != 400 || !strings.Contains(body, "non_field_errors") || !strings.Contains(body, "project is already subscribed on this event") {
		t.Fatalf("duplicate form webhook: %d %s", code, body)
	}
	code, _, _ = rawREST(t, "DELETE", s.URL+"/webhooks/unsubscribe/", v7, "application/json", `{"target_url":"https://example.com/h"}`)
	if code != 204 {
		t.Fatalf("unsubscribe: %d", code)
	}

	// JS follows pages by re-sending only `from` (and limit) from the next link.
	ids := uploadN(t, s.URL, 5, "1")
	var got []string
	q := "limit=2"
	for i := 0; i < 10; i++ {
		code, _, body := rawREST(t, "GET", s.URL+"/files/?"+q, v7, "", "")
		if code != 200 {
			t.Fatalf("page: %d %s", code, body)
		}
		var page struct {
			Next    *string `json:"next"`
			Total   int     `json:"total"`
			PerPage int     `json:"per_page"`
			Results []struct {
				UUID string `json:"uuid"`
			} `json:"results"`
		}
		json.Unmarshal([]byte(body), &page)
		if page.Total != 5 || page.PerPage != 2 {
			t.Fatalf("total/per_page: %s", body)
		}
		for _, r := range page.Results {
			got = append(got, r.UUID)
		}
		if page.Next == nil {
			break
		}
		u, _ := url.Parse(*page.Next)
		q = "limit=2&from=" + url.QueryEscape(u.Query().Get("from"))
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("cursor pages: %v, want %v", got, ids)
	}
	// Descending order and a previous link.
	code, _, body = rawREST(t, "GET", s.URL+"/files/?limit=2&ordering=-datetime_uploaded", v7, "", "")
	if code != 200 || !strings.Contains(body, ids[4]) || strings.Contains(body, ids[0]) {
		t.Fatalf("descending: %d %s", code, body)
	}
}

func TestRESTSimpleAuthPolicy(t *testing.T) {
	s := startServer(t, func(c *server.Config) {
		c.SimpleAuthOverHTTP = "never"
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	code, _, body := rawREST(t, "GET", s.URL+"/project/", v7, "", "")
	if code != 400 || !strings.Contains(body, "Simple authentication over HTTP is forbidden.") {
		t.Fatalf("simple over http: %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", s.URL+"/project/", nil)
	req.Header.Set("Accept", v7)
	req.Header.Set("Authorization", "Uploadcare.Simple "+testPub+":"+testSecret)
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("behind a trusted TLS proxy: %d", resp.StatusCode)
	}
}
