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

// A file whose JSON columns are undecoded (File.JSON, in the form the
// store writes them) renders byte for byte as the decoded file does, in
// every version, with every option, alone and in a list.
func TestUndecodedFile(t *testing.T) {
	up := time.Date(2026, 12, 3, 4, 5, 6, 7000, time.UTC)
	o, dt, ch, d := 6, "2025-01-02T03:04:05", int64(2), int64(1234)
	files := []*satchel.File{
		{UUID: "0f8c3d4e-1111-4a2b-9c3d-000000000001", Size: 10, MimeType: "image/png", Filename: "a <b> & c.png", OriginalFilename: "a <b> & c.png",
			IsImage: true, IsReady: true, Uploaded: up, Stored: &up, Source: "local<&>", Expires: &up, OriginalProtected: true,
			Metadata: map[string]string{"k": "v\u2028<&>", "é": "ü", "a": "\x01"}, Tags: []string{"x", "<y>"},
			ContentInfo: &satchel.ContentInfo{Mime: satchel.MimeInfo{Mime: "image/png", Type: "image", Subtype: `png"},"video":{]\`}, Image: &satchel.ImageInfo{
				Width: 2, Height: 3, Format: `P"N}G,{\`, ColorMode: `"image":`, Orientation: &o, DatetimeOriginal: &dt, DPI: []float64{72, 299.99}, Sequence: true,
				GeoLocation: &satchel.GeoLocation{Latitude: 55.123456789, Longitude: -1e-7}}},
			Variations: map[string]string{"video/-/format/mp4/": "0f8c3d4e-1111-4a2b-9c3d-000000000009"},
			Appdata:    map[string]satchel.AddonResult{"uc_clamav_virus_scan": {Data: json.RawMessage(`{"infected":false}`), Version: "1", Created: up, Updated: up}}},
		{UUID: "0f8c3d4e-1111-4a2b-9c3d-000000000002", Size: 0, Uploaded: up, Removed: &up},
		{UUID: "0f8c3d4e-1111-4a2b-9c3d-000000000003", Size: 5, MimeType: "video/mp4", IsReady: true, Uploaded: up, Source: "url",
			ContentInfo: &satchel.ContentInfo{Mime: satchel.MimeInfo{Mime: "video/mp4", Type: "video", Subtype: "mp4"}, Video: &satchel.VideoInfo{
				Duration: &d, Format: "mp4", Audio: []satchel.AudioStream{{Codec: "aac", Channels: &ch}}, Video: []satchel.VideoStream{{Width: 1, Height: 2, FrameRate: 29.97}}}},
			Metadata: map[string]string{}, Tags: []string{}},
		{UUID: "0f8c3d4e-1111-4a2b-9c3d-000000000004", Size: 1 << 40, MimeType: "text/\"plain\"", Filename: "f\u2028\xff.txt", OriginalFilename: "фото\t\\.txt",
			Uploaded: up.Add(-time.Hour).In(time.FixedZone("x", 3600)), Stored: &up, Source: "\x01", Expires: &up, Tags: []string{"a\u2029"}},
	}
	stored := func(f *satchel.File) *satchel.File {
		u := *f
		marshal := func(v any) string {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		md, tags := any(f.Metadata), any(f.Tags)
		if f.Metadata == nil {
			md = map[string]string{}
		}
		if f.Tags == nil {
			tags = []string{}
		}
		ad := "{}"
		if len(f.Appdata) > 0 {
			ad = marshal(f.Appdata)
		}
		u.JSON = &satchel.FileJSON{ContentInfo: marshal(f.ContentInfo), Metadata: marshal(md), Tags: marshal(tags), Appdata: ad}
		u.ContentInfo, u.Metadata, u.Tags, u.Appdata = nil, nil, nil, nil
		return &u
	}
	undecoded := make([]*satchel.File, len(files))
	for i, f := range files {
		undecoded[i] = stored(f)
	}
	eff := "-/resize/10x/"
	b := Bases{CDN: "https://cdn.example", API: "https://api.example"}
	for _, v := range []string{V05, V06, V07} {
		for _, o := range []FileOptions{{}, {Appdata: true}, {Rekognition: true}, {DefaultEffects: &eff}} {
			for i, f := range files {
				if got, want := File(undecoded[i], v, b, o), File(f, v, b, o); string(got) != string(want) {
					t.Errorf("v%s %+v, file %d:\n got %s\nwant %s", v, o, i, got, want)
				}
			}
			got := Object("results", Files(undecoded, v, b, o))
			want := Object("results", Files(files, v, b, o))
			if string(got) != string(want) || !json.Valid(got) {
				t.Errorf("v%s %+v list:\n got %s\nwant %s", v, o, got, want)
			}
		}
	}
	if undecoded[0].JSON == nil || undecoded[0].ContentInfo != nil {
		t.Error("rendering decoded the caller's file")
	}
}

// appendTime writes what Time does, quoted, for any time.
func TestAppendTime(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 12, 3, 4, 5, 6, 7000, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), {},
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", -3600)), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(1764734706, 123456789).In(time.FixedZone("y", 19800)),
	} {
		if got, want := string(appendTime(nil, &tm)), `"`+Time(tm)+`"`; got != want {
			t.Errorf("%v: %s, want %s", tm, got, want)
		}
	}
}

// storedImageInfo finds the image info in stored content info, whatever
// its strings hold, and declines content info with video info.
func TestStoredImageInfo(t *testing.T) {
	o := 3
	img := &satchel.ImageInfo{Width: 2, Height: 3, Format: `P"N}G,{\`, ColorMode: `"image":`, Orientation: &o, DPI: []float64{72, 72},
		GeoLocation: &satchel.GeoLocation{Latitude: 1.5, Longitude: -2}}
	for _, c := range []struct {
		ci   *satchel.ContentInfo
		want any
		ok   bool
	}{
		{&satchel.ContentInfo{Mime: satchel.MimeInfo{Mime: "image/png", Type: `"image":{}`, Subtype: `png"},"video":{]\`}, Image: img}, img, true},
		{&satchel.ContentInfo{Mime: satchel.MimeInfo{Mime: "application/pdf"}}, nil, true},
		{nil, nil, true},
		{&satchel.ContentInfo{Mime: satchel.MimeInfo{Mime: "video/mp4"}, Video: &satchel.VideoInfo{Format: "mp4"}}, nil, false},
	} {
		ci, _ := json.Marshal(c.ci)
		want, _ := json.Marshal(c.want)
		got, ok := storedImageInfo(string(ci))
		if ok != c.ok || ok && got != string(want) {
			t.Errorf("%s: %s, %v; want %s, %v", ci, got, ok, want, c.ok)
		}
	}
	if _, ok := storedImageInfo(`{"mime":{"mime":"a"`); ok {
		t.Error("truncated content info accepted")
	}
}
