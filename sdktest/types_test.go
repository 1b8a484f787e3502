package sdktest

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/ucare"
)

// TestResponseTypesMatchServer checks that the SDK's own copies of the
// server's content-info types read every field the server writes and write
// them back alike, so a field added on one side only fails here.
func TestResponseTypesMatchServer(t *testing.T) {
	orient, n, kbps := 6, int64(2), int64(128)
	when := "2024-05-01T10:00:00"
	for _, c := range []struct {
		server any
		sdk    any
	}{
		{satchel.MimeInfo{Mime: "image/jpeg", Type: "image", Subtype: "jpeg"}, &ucare.MimeInfo{}},
		{satchel.ImageInfo{ColorMode: "RGB", Orientation: &orient, Format: "JPEG", Height: 10, Width: 20,
			GeoLocation: &satchel.GeoLocation{Latitude: 55.7, Longitude: 37.6}, DatetimeOriginal: &when,
			DPI: []float64{72, 72}, Sequence: true}, &ucare.ImageInfo{}},
		{satchel.GeoLocation{Latitude: -1.5, Longitude: 2.25}, &ucare.GeoLocation{}},
		{satchel.VideoInfo{Duration: &n, Format: "mp4", Bitrate: &kbps,
			Audio: []satchel.AudioStream{{Bitrate: &kbps, Codec: "aac", SampleRate: &n, Channels: &n}},
			Video: []satchel.VideoStream{{Height: 480, Width: 640, FrameRate: 29.97, Bitrate: &kbps, Codec: "h264"}}}, &ucare.VideoInfo{}},
		{satchel.AudioStream{Bitrate: &kbps, Codec: "opus", SampleRate: &n, Channels: &n}, &ucare.AudioStream{}},
		{satchel.VideoStream{Height: 1, Width: 2, FrameRate: 25, Bitrate: &kbps, Codec: "vp9"}, &ucare.VideoStream{}},
	} {
		want, err := json.Marshal(c.server)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(want))
		dec.DisallowUnknownFields()
		if err := dec.Decode(c.sdk); err != nil {
			t.Errorf("%T from the server's %s: %v", c.sdk, want, err)
			continue
		}
		got, err := json.Marshal(c.sdk)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%T:\n server %s\n    SDK %s", c.sdk, want, got)
		}
	}
}
