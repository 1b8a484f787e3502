package inspect

import (
	"math"
	"reflect"
	"testing"

	"github.com/satchel-project/satchel"
)

func TestParseExifRationals(t *testing.T) {
	got, ok := parseExifRationals("51/1 30/1 1234/100 (51, 30, 12.34, Rational, 3 components, 24 bytes)")
	if !ok || !reflect.DeepEqual(got, []float64{51, 30, 12.34}) {
		t.Errorf("got %v %v", got, ok)
	}
	for _, bad := range []string{"", "1/0", "x/1 (x)", " (1, Rational)"} {
		if _, ok := parseExifRationals(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseGeo(t *testing.T) {
	g := parseGeo(map[string]string{
		"exif-ifd3-GPSLatitude":     "33/1 51/1 3156/100 (33, 51, 31.56, Rational, 3 components, 24 bytes)",
		"exif-ifd3-GPSLatitudeRef":  "S (S, ASCII, 2 components, 2 bytes)",
		"exif-ifd3-GPSLongitude":    "151/1 12/1 0/1 (151, 12, 0, Rational, 3 components, 24 bytes)",
		"exif-ifd3-GPSLongitudeRef": "E (E, ASCII, 2 components, 2 bytes)",
	})
	want := satchel.GeoLocation{Latitude: -(33 + 51.0/60 + 31.56/3600), Longitude: 151.2}
	if g == nil || math.Abs(g.Latitude-want.Latitude) > 1e-9 || math.Abs(g.Longitude-want.Longitude) > 1e-9 {
		t.Errorf("got %+v, want %+v", g, want)
	}
	if parseGeo(map[string]string{"exif-ifd3-GPSLatitude": "1/1 0/1 0/1"}) != nil {
		t.Error("latitude without longitude gave a location")
	}
	if parseGeo(map[string]string{"exif-ifd3-GPSLatitude": "91/1", "exif-ifd3-GPSLongitude": "1/1"}) != nil {
		t.Error("latitude out of range gave a location")
	}
}

func TestParseExifDateTime(t *testing.T) {
	cases := map[string]string{
		"2021:03:04 05:06:07 (2021:03:04 05:06:07, ASCII, 20 components, 20 bytes)": "2021-03-04T05:06:07",
		"2021:03:04 05:06:07":  "2021-03-04T05:06:07",
		"0000:00:00 00:00:00":  "",
		"    :  :     :  :  ":  "",
		"2021:13:04 05:06:07":  "",
		"garbage":              "",
		"2021-03-04T05:06:07Z": "2021-03-04T05:06:07",
	}
	for in, want := range cases {
		got := parseExifDateTime(in)
		if (got == nil && want != "") || (got != nil && *got != want) {
			t.Errorf("%q: got %v, want %q", in, got, want)
		}
	}
}

func TestFrameRate(t *testing.T) {
	cases := []struct {
		in   []string
		want float64
	}{
		{[]string{"30000/1001"}, 29.97},
		{[]string{"25/1"}, 25},
		{[]string{"0/0", "24000/1001"}, 23.98},
		{[]string{"0/0"}, 0},
		{[]string{"30"}, 30},
	}
	for _, c := range cases {
		if got := frameRate(c.in...); got != c.want {
			t.Errorf("frameRate(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestContainerFormat(t *testing.T) {
	cases := []struct {
		formatName, brand, mime, want string
	}{
		{"mov,mp4,m4a,3gp,3g2,mj2", "isom", "video/mp4", "mp4"},
		{"mov,mp4,m4a,3gp,3g2,mj2", "mp42", "video/mp4", "mp4"},
		{"mov,mp4,m4a,3gp,3g2,mj2", "qt  ", "video/quicktime", "mov"},
		{"mov,mp4,m4a,3gp,3g2,mj2", "3gp4", "video/3gpp", "3gp"},
		{"mov,mp4,m4a,3gp,3g2,mj2", "M4A ", "audio/x-m4a", "m4a"},
		{"matroska,webm", "", "video/webm", "webm"},
		{"matroska,webm", "", "video/x-matroska", "mkv"},
		{"avi", "", "video/x-msvideo", "avi"},
	}
	for _, c := range cases {
		p := &probeOutput{}
		p.Format = &struct {
			FormatName string            `json:"format_name"`
			Duration   string            `json:"duration"`
			BitRate    string            `json:"bit_rate"`
			Tags       map[string]string `json:"tags"`
		}{FormatName: c.formatName, Tags: map[string]string{"major_brand": c.brand}}
		if got := containerFormat(p, &satchel.VideoInfo{}, c.mime); got != c.want {
			t.Errorf("%s/%q/%s: got %q, want %q", c.formatName, c.brand, c.mime, got, c.want)
		}
	}
}

func TestCappedBuffer(t *testing.T) {
	b := &cappedBuffer{max: 4}
	n, err := b.Write([]byte("abc"))
	if n != 3 || err != nil || b.truncated {
		t.Fatal(n, err)
	}
	n, err = b.Write([]byte("defg"))
	if n != 4 || err != nil || !b.truncated || string(b.buf) != "abcd" {
		t.Fatal(n, err, string(b.buf))
	}
}
