package apiview

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
)

// TestFilesInObject checks that a list rendered by Files is embedded in an
// object byte for byte as the same files rendered one by one and embedded
// as json.RawMessage values are, in every version.
func TestFilesInObject(t *testing.T) {
	up := time.Date(2026, 12, 3, 4, 5, 6, 7000, time.UTC)
	files := []*satchel.File{
		{UUID: "0f8c3d4e-1111-4a2b-9c3d-000000000001", Size: 10, MimeType: "image/png", Filename: "a <b> & c.png", OriginalFilename: "a <b> & c.png",
			IsImage: true, IsReady: true, Uploaded: up, Stored: &up, Source: "local",
			Metadata: map[string]string{"k": "v\u2028<&>", "é": "ü"}, Tags: []string{"x"},
			ContentInfo: &satchel.ContentInfo{Mime: satchel.MimeInfo{Mime: "image/png", Type: "image", Subtype: "png"}, Image: &satchel.ImageInfo{Width: 2, Height: 3, Format: "PNG"}},
			Variations:  map[string]string{"video/-/format/mp4/": "0f8c3d4e-1111-4a2b-9c3d-000000000009"},
			Appdata:     map[string]satchel.AddonResult{"uc_clamav_virus_scan": {Data: json.RawMessage(` { "infected" : false } `), Version: "1", Created: up, Updated: up}}},
		{UUID: "0f8c3d4e-1111-4a2b-9c3d-000000000002", Size: 0, Uploaded: up, Removed: &up},
	}
	b := Bases{CDN: "https://cdn.example", API: "https://api.example"}
	for _, v := range []string{V05, V06, V07} {
		for _, o := range []FileOptions{{}, {Appdata: true}, {Rekognition: true}} {
			for _, list := range [][]*satchel.File{files, files[:1], nil} {
				raw := make([]json.RawMessage, len(list))
				for i, f := range list {
					raw[i] = File(f, v, b, o)
				}
				want := Object("total", 2, "results", raw)
				got := Object("total", 2, "results", Files(list, v, b, o))
				if string(got) != string(want) {
					t.Errorf("v%s %+v, %d files:\n got %s\nwant %s", v, o, len(list), got, want)
				}
				if !json.Valid(got) {
					t.Errorf("v%s: invalid JSON %s", v, got)
				}
			}
		}
	}
}
