package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// searchPage is the answer of POST /files/search/.
type searchPage struct {
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Total    int64   `json:"total"`
	PerPage  int     `json:"per_page"`
	Results  []struct {
		UUID             string            `json:"uuid"`
		OriginalFilename string            `json:"original_filename"`
		Metadata         map[string]string `json:"metadata"`
		Highlight        *struct {
			OriginalFilename []string          `json:"original_filename"`
			Metadata         map[string]string `json:"metadata"`
		} `json:"highlight"`
	} `json:"results"`
}

func (p searchPage) names() []string {
	var out []string
	for _, r := range p.Results {
		out = append(out, r.OriginalFilename)
	}
	return out
}

// TestRESTSearchFiles: POST /files/search/ finds the project's live files by
// full text, exact values, ranges, image type and tags; pages by offset with
// next/previous links; highlights matches; and answers malformed searches
// with field-keyed 400s.
func TestRESTSearchFiles(t *testing.T) {
	s := startServer(t, nil)
	png := pngBytes(t, 4, 4)
	holiday := uploadTo(t, s.URL, "holiday-photo.png", png, "1")
	grapher := uploadTo(t, s.URL, "Photographer.png", pngBytes(t, 5, 5), "1")
	report := uploadTo(t, s.URL, "report.txt", []byte("quarterly numbers"), "1")
	gone := uploadTo(t, s.URL, "removed-photo.png", pngBytes(t, 6, 6), "1")
	other := secondProject(t, s)
	code, _, body := postMultipart(t, s.URL+"/base/", [][2]string{{"UPLOADCARE_PUB_KEY", other.PublicKey}, {"UPLOADCARE_STORE", "1"}}, []part{{"file", "photo-of-other.png", png}})
	if code != 200 {
		t.Fatalf("other project's upload: %d %s", code, body)
	}
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/files/" + holiday + "/metadata/camera/", `"Canon EOS"`},
		{"PUT", "/files/" + holiday + "/tags/", `{"tags":["cat","animal"]}`},
		{"PUT", "/files/" + grapher + "/tags/", `{"tags":["cat"]}`},
		{"DELETE", "/files/" + gone + "/storage/", ""},
	} {
		if code, _, b := rawREST(t, c.method, s.URL+c.path, v7, "application/json", c.body); code >= 300 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, code, b)
		}
	}
	search := func(query, body string) searchPage {
		t.Helper()
		code, h, b := rawREST(t, "POST", s.URL+"/files/search/"+query, v7, "application/json", body)
		if code != 200 || h.Get("Content-Type") != v7 {
			t.Fatalf("search %s %s: %d %s %s", query, body, code, h.Get("Content-Type"), b)
		}
		var p searchPage
		if err := json.Unmarshal([]byte(b), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}

	p := search("", `{"query":"PHOTO","sort":["original_filename"]}`)
	if got := strings.Join(p.names(), ","); got != "Photographer.png,holiday-photo.png" || p.Total != 2 || p.PerPage != 20 || p.Next != nil || p.Previous != nil {
		t.Fatalf("query: %s total %d per_page %d", got, p.Total, p.PerPage)
	}
	if h := p.Results[0].Highlight; h == nil || len(h.OriginalFilename) != 1 || h.OriginalFilename[0] != "<em>Photo</em>grapher.png" {
		t.Fatalf("highlight: %+v", h)
	}
	// The markup arrives as it is, not escaped.
	_, _, raw := rawREST(t, "POST", s.URL+"/files/search/", v7, "application/json", `{"phrase":{"metadata":"canon"}}`)
	if !strings.Contains(raw, `"highlight":{"metadata":{"camera":"<em>Canon</em> EOS"}}`) {
		t.Fatalf("metadata highlight: %s", raw)
	}
	for _, c := range []struct{ body, want string }{
		{`{"exact":{"metadata[camera]":["Canon EOS"]}}`, "holiday-photo.png"},
		{`{"exact":{"uuid":["` + report + `","` + gone + `"]}}`, "report.txt"},
		{`{"query":"` + grapher + `"}`, "Photographer.png"},
		{`{"is_image":false}`, "report.txt"},
		{`{"tags":{"all":["CAT"," animal "]}}`, "holiday-photo.png"},
		{`{"tags":{"any":["cat"],"none":["animal"]}}`, "Photographer.png"},
		{`{"size":{"lt":30}}`, "report.txt"},
		{`{"query":"photp","fuzziness":true,"is_image":true,"sort":["original_filename"],"datetime_uploaded":{"gte":"2000-01-01T00:00:00Z"}}`, "Photographer.png,holiday-photo.png"},
		{`{"query":"photp"}`, ""},
		{`{"query":"other"}`, ""},
	} {
		if got := strings.Join(search("", c.body).names(), ","); got != c.want {
			t.Errorf("%s: %q, want %q", c.body, got, c.want)
		}
	}

	// Offset pages, with links that carry the query on.
	p = search("?limit=1&include=appdata", `{"query":"photo","sort":["-original_filename"]}`)
	if p.Total != 2 || p.PerPage != 1 || p.Next == nil || p.Previous != nil || p.names()[0] != "holiday-photo.png" {
		t.Fatalf("first page: %+v", p)
	}
	if !strings.HasPrefix(*p.Next, s.URL+"/files/search/?") || !strings.Contains(*p.Next, "offset=1") || !strings.Contains(*p.Next, "include=appdata") {
		t.Fatalf("next: %s", *p.Next)
	}
	p = search((*p.Next)[len(s.URL+"/files/search/"):], `{"query":"photo","sort":["-original_filename"]}`)
	if p.Next != nil || p.Previous == nil || !strings.Contains(*p.Previous, "offset=0") || p.names()[0] != "Photographer.png" {
		t.Fatalf("second page: %+v", p)
	}

	for _, c := range []struct{ query, body, want string }{
		{"", `{"query":"abc"}`, `{"query":["Must be at least 4 characters."]}`},
		{"", `{}`, `{"non_field_errors":["At least one search condition is required: query, phrase, exact, datetime_uploaded, size, is_image, tags."]}`},
		{"", `{"sort":["size"]}`, `"non_field_errors"`},
		{"", `{"size":{}}`, `{"size":{"non_field_errors":["At least one field is required."]}}`},
		{"", `{"size":{"gte":"big"}}`, `{"size":{"gte":["A valid integer is required."]}}`},
		{"", `{"datetime_uploaded":{"gt":"yesterday"}}`, `{"datetime_uploaded":{"gt":["Datetime has wrong format.`},
		{"", `{"is_image":"yes"}`, `{"is_image":["Must be a valid boolean."]}`},
		{"", `{"query":"photo","sort":["size","-size"]}`, `{"sort":["Sort key \"size\" is given more than once."]}`},
		{"", `{"query":"photo","sort":["size","score","original_filename","datetime_uploaded","size"]}`, `{"sort":["Ensure this field has no more than 4 elements."]}`},
		{"", `{"query":"photo","sort":["name"]}`, `{"sort":["Unknown sort key`},
		{"", `{"phrase":{"original_filename":"photo"},"exact":{"original_filename":["a.png"]}}`, `{"exact":{"original_filename":["Cannot be used together with phrase.original_filename."]}}`},
		{"", `{"exact":{"uuid":[]}}`, `{"exact":{"uuid":["This list may not be empty."]}}`},
		{"", `{"querry":"photo","is_image":true}`, `{"querry":["Unknown field."]}`},
		{"?limit=101", `{"is_image":true}`, `{"limit":["Ensure this value is less than or equal to 100."]}`},
		{"?limit=0", `{"is_image":true}`, `{"limit":["Ensure this value is greater than or equal to 1."]}`},
		{"?offset=950&limit=100", `{"is_image":true}`, `{"offset":["offset + limit must not exceed 1000."]}`},
		{"", `[1]`, `{"non_field_errors":["The body must be a JSON object."]}`},
	} {
		code, h, b := rawREST(t, "POST", s.URL+"/files/search/"+c.query, v7, "application/json", c.body)
		if code != 400 || h.Get("Content-Type") != v7 || !strings.Contains(b, c.want) || strings.Contains(b, `"detail"`) {
			t.Errorf("%s %s: %d %s, want 400 with %s", c.query, c.body, code, b, c.want)
		}
	}
	// The window's end: offset 980 with the default limit is the last page.
	if p := search("?offset=980", `{"is_image":true}`); p.Next != nil || p.Total != 2 || len(p.Results) != 0 {
		t.Fatalf("past the matches: %+v", p)
	}

	// Authentication as for every REST call; other versions do not have it.
	req, _ := http.NewRequest("POST", s.URL+"/files/search/", strings.NewReader(`{"query":"photo"}`))
	req.Header.Set("Accept", v7)
	req.Header.Set("Authorization", "Uploadcare.Simple "+testPub+":wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("wrong secret: %d", resp.StatusCode)
	}
	if code, _, b := rawREST(t, "POST", s.URL+"/files/search/", "application/vnd.uploadcare-v0.6+json", "application/json", `{"query":"photo"}`); code != 404 {
		t.Fatalf("v0.6: %d %s", code, b)
	}
}
