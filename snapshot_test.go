package satchel

import (
	"errors"
	"reflect"
	"slices"
	"testing"
)

// TestSnapshotV1CoversFile fails when File gains a field the stored
// snapshot does not carry (add it to FileSnapshotV1 under a new key, and
// to SnapshotV1 and File).
func TestSnapshotV1CoversFile(t *testing.T) {
	names := func(v any) []string {
		var out []string
		for f := range reflect.TypeOf(v).Fields() {
			// File.JSON is the stored form of four fields the snapshot
			// carries decoded, not a field of its own.
			if f.Name != "JSON" {
				out = append(out, f.Name)
			}
		}
		slices.Sort(out)
		return out
	}
	if f, s := names(File{}), names(FileSnapshotV1{}); !slices.Equal(f, s) {
		t.Fatalf("File fields %v, snapshot fields %v", f, s)
	}
	f := &File{UUID: "u", ProjectID: 1, Size: 2, MimeType: "m", OriginalFilename: "o", Filename: "f", BlobKey: "b", Checksum: "c",
		IsImage: true, IsReady: true, Source: "s", SourceURL: "x", ContentInfo: &ContentInfo{}, Metadata: map[string]string{"k": "v"}, Tags: []string{"t"}}
	if got := SnapshotV1(f).File(); !reflect.DeepEqual(got, f) {
		t.Fatalf("round trip: %+v", got)
	}
}

func TestDecodeEventDataVersions(t *testing.T) {
	ed, err := DecodeEventData([]byte(`{"file":{"UUID":"u","Size":3},"initiator":{"type":"api"}}`))
	if err != nil || ed.File.UUID != "u" || ed.File.Size != 3 || ed.Initiator.Type != "api" {
		t.Fatalf("unversioned payload: %+v %v", ed, err)
	}
	b, err := EncodeEventData(ed)
	if err != nil || !reflect.DeepEqual(mustDecode(t, b), ed) {
		t.Fatalf("round trip: %s %v", b, err)
	}
	if _, err := DecodeEventData([]byte(`{"v":99,"file":null}`)); !errors.Is(err, errUnknownVersion) {
		t.Fatalf("unknown version: %v", err)
	}
}

func mustDecode(t *testing.T, b []byte) *EventData {
	t.Helper()
	ed, err := DecodeEventData(b)
	if err != nil {
		t.Fatal(err)
	}
	return ed
}
