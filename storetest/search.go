package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
)

// testSearch checks every search condition, their AND, the ordering (with
// its UUID tie-breaker across offset pages), the capped count, and that a
// search reaches neither removed files nor another project's.
func testSearch(t *testing.T, s satchel.Store) {
	ctx := context.Background()
	p, other := newProject(t, s), newProject(t, s)
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	mk := func(proj *satchel.Project, at int, name, mime string, size int64, image bool, meta map[string]string, tags ...string) *satchel.File {
		f := newFile(proj, base.Add(time.Duration(at)*time.Second), true)
		f.OriginalFilename, f.MimeType, f.Size, f.IsImage, f.Metadata, f.Tags = name, mime, size, image, meta, tags
		if tags == nil {
			f.Tags = []string{}
		}
		return f
	}
	holiday := mk(p, 0, "holiday-photo.jpg", "image/jpeg", 300, true, map[string]string{"camera": "Canon EOS"}, "cat", "animal")
	grapher := mk(p, 1, "Photographer.PNG", "image/png", 100, true, map[string]string{}, "cat")
	report := mk(p, 2, "report.pdf", "application/pdf", 200, false, map[string]string{"note": "50%_off photos"}, "doc")
	notes := mk(p, 3, "notes.txt", "text/plain", 200, false, map[string]string{"camera": "canon", "quote": `say "cheese" <now>`})
	removed := mk(p, 4, "removed-photo.jpg", "image/jpeg", 50, true, map[string]string{})
	foreign := mk(other, 5, "photo-of-other.jpg", "image/jpeg", 50, true, map[string]string{})
	if err := s.CreateFiles(ctx, []*satchel.File{holiday, grapher, report, notes, removed, foreign}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveFile(ctx, removed.UUID, base.Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	search := func(q satchel.FileSearch) ([]string, int64) {
		t.Helper()
		q.ProjectID = p.ID
		if q.Limit == 0 {
			q.Limit = 100
		}
		files, total, err := s.SearchFiles(ctx, q)
		if err != nil {
			t.Fatalf("search %+v: %v", q, err)
		}
		var names []string
		for _, f := range files {
			names = append(names, f.OriginalFilename)
		}
		return names, total
	}
	i64 := func(n int64) *int64 { return &n }
	tm := func(d int) *time.Time { v := base.Add(time.Duration(d) * time.Second); return &v }
	no, yes := false, true
	byName := []satchel.SearchSort{{Key: satchel.SortOriginalFilename}}
	cases := []struct {
		name string
		q    satchel.FileSearch
		want []string
	}{
		{"query substring, any case", satchel.FileSearch{Query: []string{"PHOTO"}, Sort: byName},
			[]string{"Photographer.PNG", "holiday-photo.jpg", "report.pdf"}},
		{"query terms AND", satchel.FileSearch{Query: []string{"photo", "canon"}}, []string{"holiday-photo.jpg"}},
		{"query mime", satchel.FileSearch{Query: []string{"text/plain"}}, []string{"notes.txt"}},
		{"query uuid", satchel.FileSearch{Query: []string{report.UUID}}, []string{"report.pdf"}},
		{"query wildcards are literal", satchel.FileSearch{Query: []string{"50%_"}}, []string{"report.pdf"}},
		{"query with characters JSON escapes", satchel.FileSearch{Query: []string{`"cheese" <now>`}}, []string{"notes.txt"}},
		{"query no match", satchel.FileSearch{Query: []string{"photp"}}, nil},
		{"fuzzy", satchel.FileSearch{Query: []string{"photp"}, Fuzzy: true, Sort: byName},
			[]string{"Photographer.PNG", "holiday-photo.jpg", "report.pdf"}},
		{"phrase filename", satchel.FileSearch{PhraseFilename: "day-pho"}, []string{"holiday-photo.jpg"}},
		{"phrase metadata", satchel.FileSearch{PhraseMetadata: "canon", Sort: byName}, []string{"holiday-photo.jpg", "notes.txt"}},
		{"phrase mime", satchel.FileSearch{PhraseMimeType: "image/", Sort: byName}, []string{"Photographer.PNG", "holiday-photo.jpg"}},
		{"exact filename", satchel.FileSearch{ExactFilename: []string{"notes.txt", "report.pdf"}, Sort: byName}, []string{"notes.txt", "report.pdf"}},
		{"exact is case-sensitive", satchel.FileSearch{ExactMetadata: map[string][]string{"camera": {"canon"}}}, []string{"notes.txt"}},
		{"exact metadata key", satchel.FileSearch{ExactMetadata: map[string][]string{"note": {"canon"}}}, nil},
		{"exact uuid", satchel.FileSearch{ExactUUID: []string{grapher.UUID, foreign.UUID, removed.UUID}}, []string{"Photographer.PNG"}},
		{"exact mime", satchel.FileSearch{ExactMimeType: []string{"image/png"}}, []string{"Photographer.PNG"}},
		{"size range", satchel.FileSearch{Size: satchel.Range[int64]{Gt: i64(100), Lte: i64(200)}, Sort: byName}, []string{"notes.txt", "report.pdf"}},
		{"uploaded range", satchel.FileSearch{Uploaded: satchel.Range[time.Time]{Gte: tm(1), Lt: tm(3)}, Sort: byName}, []string{"Photographer.PNG", "report.pdf"}},
		{"not images", satchel.FileSearch{IsImage: &no, Sort: byName}, []string{"notes.txt", "report.pdf"}},
		{"images", satchel.FileSearch{IsImage: &yes, Sort: byName}, []string{"Photographer.PNG", "holiday-photo.jpg"}},
		{"tags all", satchel.FileSearch{TagsAll: []string{"cat", "animal"}}, []string{"holiday-photo.jpg"}},
		{"tags any", satchel.FileSearch{TagsAny: []string{"animal", "doc"}, Sort: byName}, []string{"holiday-photo.jpg", "report.pdf"}},
		{"tags none", satchel.FileSearch{TagsNone: []string{"cat"}, Sort: byName}, []string{"notes.txt", "report.pdf"}},
		{"conditions AND", satchel.FileSearch{Query: []string{"photo"}, IsImage: &no}, []string{"report.pdf"}},
		{"sort size desc then name", satchel.FileSearch{IsImage: &no, Sort: []satchel.SearchSort{{Key: satchel.SortSize, Desc: true}, {Key: satchel.SortOriginalFilename, Desc: true}}},
			[]string{"report.pdf", "notes.txt"}},
		{"default newest first", satchel.FileSearch{Size: satchel.Range[int64]{Gte: i64(0)}},
			[]string{"notes.txt", "report.pdf", "Photographer.PNG", "holiday-photo.jpg"}},
	}
	for _, c := range cases {
		got, total := search(c.q)
		if !slices.Equal(got, c.want) || total != int64(len(c.want)) {
			t.Errorf("%s: got %q (total %d), want %q", c.name, got, total, c.want)
		}
	}

	// Relevance: a filename match outranks a metadata one.
	if got, _ := search(satchel.FileSearch{Query: []string{"photo"}, Sort: []satchel.SearchSort{{Key: satchel.SortScore, Desc: true}, {Key: satchel.SortOriginalFilename}}}); len(got) != 3 || got[2] != "report.pdf" {
		t.Errorf("by score: %q, want report.pdf (a metadata match) last", got)
	}

	// A page past the matches still counts them, in either kind of order.
	for _, sort := range [][]satchel.SearchSort{nil, {{Key: satchel.SortSize}}} {
		files, total, err := s.SearchFiles(ctx, satchel.FileSearch{ProjectID: p.ID, Query: []string{"photo"}, Sort: sort, Limit: 5, Offset: 50})
		if err != nil || len(files) != 0 || total != 3 {
			t.Errorf("past the matches (sort %v): %d files, total %d, %v", sort, len(files), total, err)
		}
	}

	// Offset pages of files that tie on every key come each once, in order.
	var ties []*satchel.File
	for i := 0; i < 7; i++ {
		ties = append(ties, mk(p, 10, "tie.bin", "application/octet-stream", 7, false, map[string]string{}, "tie"))
	}
	if err := s.CreateFiles(ctx, ties, nil); err != nil {
		t.Fatal(err)
	}
	for _, desc := range []bool{false, true} {
		var paged []string
		for off := 0; off < 7; off += 3 {
			files, total, err := s.SearchFiles(ctx, satchel.FileSearch{ProjectID: p.ID, TagsAll: []string{"tie"}, Limit: 3, Offset: off,
				Sort: []satchel.SearchSort{{Key: satchel.SortSize, Desc: desc}}})
			if err != nil || total != 7 {
				t.Fatalf("tie page at %d: total %d, %v", off, total, err)
			}
			for _, f := range files {
				paged = append(paged, f.UUID)
			}
		}
		want := make([]string, 0, 7)
		for _, f := range ties {
			want = append(want, f.UUID)
		}
		slices.Sort(want)
		if desc {
			slices.Reverse(want)
		}
		if !slices.Equal(paged, want) {
			t.Errorf("tied pages (desc %v): %q, want %q", desc, paged, want)
		}
	}

	// The file's own record comes back, metadata and tags decoded.
	files, _, err := s.SearchFiles(ctx, satchel.FileSearch{ProjectID: p.ID, ExactUUID: []string{holiday.UUID}, Limit: 1})
	if err != nil || len(files) != 1 || files[0].Metadata["camera"] != "Canon EOS" || !slices.Equal(files[0].Tags, []string{"cat", "animal"}) {
		t.Fatalf("record: %+v %v", files, err)
	}
}
