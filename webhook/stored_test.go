package webhook

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/apiview"
)

// TestPayloadOfStoredEvent renders an event payload as the code of
// 2026-12-02 stored it (json.Marshal of satchel.EventData, before
// versioned snapshots) and checks the webhook bodies are byte for byte what
// that code sent, and that a payload stored now renders the same.
func TestPayloadOfStoredEvent(t *testing.T) {
	stored, err := os.ReadFile("testdata/event-v1-info-updated.json")
	if err != nil {
		t.Fatal(err)
	}
	up := time.Date(2026, 12, 2, 10, 11, 12, 345678000, time.UTC)
	p := &satchel.Project{ID: 7, PublicKey: "demopublickey"}
	bases := apiview.Bases{CDN: "https://cdn.example.com", API: "https://api.example.com"}
	ed, err := satchel.DecodeEventData(stored)
	if err != nil {
		t.Fatal(err)
	}
	now, err := satchel.EncodeEventData(ed)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"0.7", "0.6"} {
		want, err := os.ReadFile("testdata/event-v1-info-updated.body-" + v + ".json")
		if err != nil {
			t.Fatal(err)
		}
		w := &satchel.Webhook{ID: 3, ProjectID: 7, Event: satchel.EventFileInfoUpdated, TargetURL: "https://example.com/hook",
			IsActive: true, Version: v, Created: up, Updated: up.Add(time.Minute)}
		for name, payload := range map[string][]byte{"stored then": stored, "stored now": now} {
			e := &satchel.Event{ID: "ev-1", ProjectID: 7, Type: satchel.EventFileInfoUpdated, Payload: payload, Created: up}
			got, err := Payload(w, p, e, bases)
			if err != nil {
				t.Fatalf("%s, %s: %v", v, name, err)
			}
			if !bytes.Equal(append(got, '\n'), want) {
				t.Errorf("%s body of a payload %s:\n got %s\nwant %s", v, name, got, want)
			}
		}
	}
}
