package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/sqlstore"
)

// ImportFiles writes rows that read back exactly as the same files written
// by CreateFiles do, over several statements, and counts them once.
func TestImportFiles(t *testing.T) {
	forEachDB(t, testImportFiles)
}

func testImportFiles(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	imported, created := &satchel.Project{Name: "i", PublicKey: "pub-" + uuid.NewString()[:8], SecretKey: "s"},
		&satchel.Project{Name: "c", PublicKey: "pub-" + uuid.NewString()[:8], SecretKey: "s"}
	for _, p := range []*satchel.Project{imported, created} {
		if err := db.CreateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	up := time.Date(2026, 12, 3, 4, 5, 6, 7000, time.UTC)
	newFile := func(p *satchel.Project, i int) *satchel.File {
		f := &satchel.File{UUID: uuid.NewString(), ProjectID: p.ID, Size: int64(i), MimeType: "image/png", OriginalFilename: "a b.png", Filename: "a_b.png",
			BlobKey: fmt.Sprint("k", i), Checksum: "sha256:00", IsImage: true, IsReady: true, Uploaded: up.Add(time.Duration(i) * time.Millisecond), Source: "local"}
		switch i % 3 {
		case 0:
			f.Stored = &f.Uploaded
			f.ContentInfo = &satchel.ContentInfo{Mime: satchel.MimeInfo{Mime: "image/png", Type: "image", Subtype: "png"}, Image: &satchel.ImageInfo{Width: i, Height: 3, Format: "PNG", DPI: []float64{72, 72}}}
			f.Metadata, f.Tags = map[string]string{"k": "v<&>"}, []string{"t"}
		case 1:
			f.Removed = &f.Uploaded
			f.Variations = map[string]string{"video/-/format/mp4/": uuid.NewString()}
			f.Appdata = map[string]satchel.AddonResult{"uc_clamav_virus_scan": {Data: json.RawMessage(`{"infected":false}`), Version: "1", Created: up, Updated: up}}
		}
		return f
	}
	const n = 1203 // three statements, the last one short
	var in, ref []*satchel.File
	for i := range n {
		in, ref = append(in, newFile(imported, i)), append(ref, newFile(created, i))
	}
	if err := db.ImportFiles(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateFiles(ctx, ref, nil); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		got, err := db.File(ctx, imported.ID, in[i].UUID)
		if err != nil {
			t.Fatal(err)
		}
		want, err := db.File(ctx, created.ID, ref[i].UUID)
		if err != nil {
			t.Fatal(err)
		}
		got.UUID, got.ProjectID, want.UUID, want.ProjectID = "", 0, "", 0
		if len(got.Variations) == 1 {
			got.Variations, want.Variations = nil, nil // uuids of their own
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("file %d imported %+v\ncreated %+v", i, got, want)
		}
	}
	ci, err := db.FileCounts(ctx, imported.ID)
	if err != nil {
		t.Fatal(err)
	}
	cc, _ := db.FileCounts(ctx, created.ID)
	if ci != cc || ci.Stored != n/3 || ci.Removed != n/3 {
		t.Errorf("counts imported %+v, created %+v", ci, cc)
	}
	if err := db.ImportFiles(ctx, in[:1]); !errors.Is(err, satchel.ErrConflict) {
		t.Errorf("importing a file twice: %v, want a conflict", err)
	}
}
