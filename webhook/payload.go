package webhook

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/apiview"
)

// Legacy reports whether a subscription's payload version is a pre-0.7 one
// ("0.5", "0.6"): such subscriptions receive only file.uploaded, in the 0.6
// shape. Any other version, including "", gets the current (0.7) payload.
func Legacy(version string) bool { return version == apiview.V05 || version == apiview.V06 }

// Payload renders the body sent to w for event e of project p. Event
// payloads are satchel.EventData (a snapshot of the file when the event
// happened), read with satchel.DecodeEventData. The v0.7 envelope is
//
//	{"initiator":…, "hook":…, "data":<REST 0.7 file with appdata>, "file":"<cdn>/<uuid>/<filename>"}
//
// plus "previous_values" for file.info_updated; the legacy one (Legacy) is
// {"hook":…, "data":<REST 0.6 file>, "file":…}. The result is compact JSON
// with a stable key order: send and sign these exact bytes.
func Payload(w *satchel.Webhook, p *satchel.Project, e *satchel.Event, bases apiview.Bases) ([]byte, error) {
	ed, err := satchel.DecodeEventData(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("webhook: event %s: %w", e.ID, err)
	}
	if ed.File == nil {
		return nil, fmt.Errorf("webhook: event %s: %w", e.ID, errors.New("no file snapshot"))
	}
	f := ed.File
	fileURL := bases.CDN + "/" + f.UUID + "/" + f.Filename
	if Legacy(w.Version) {
		return apiview.Object(
			"hook", hook(w, p),
			"data", apiview.File(f, apiview.V06, bases, apiview.FileOptions{}),
			"file", fileURL,
		), nil
	}
	kv := []any{
		"initiator", initiator(ed.Initiator),
		"hook", hook(w, p),
		"data", apiview.File(f, apiview.V07, bases, apiview.FileOptions{Appdata: true}),
		"file", fileURL,
	}
	if e.Type == satchel.EventFileInfoUpdated {
		pv := ed.PreviousValues
		if pv == nil {
			pv = map[string]any{}
		}
		kv = append(kv, "previous_values", pv)
	}
	return apiview.Object(kv...), nil
}

// hook is the public part of a subscription (never its secret).
func hook(w *satchel.Webhook, p *satchel.Project) json.RawMessage {
	var pub *string
	if p != nil {
		pub = &p.PublicKey
	}
	version := w.Version
	if version == "" {
		version = apiview.V07
	}
	return apiview.Object(
		"id", w.ID,
		"project_id", w.ProjectID,
		"project_pub_key", pub,
		"target", w.TargetURL,
		"event", w.Event,
		"is_active", w.IsActive,
		"version", version,
		"created_at", apiview.Time(w.Created),
		"updated_at", apiview.Time(w.Updated),
	)
}

func initiator(in satchel.Initiator) json.RawMessage {
	typ := in.Type
	if typ == "" {
		typ = "system"
	}
	detail := []any{"request_id", in.RequestID, "addon_name", in.AddonName}
	if in.SourceFileUUID != nil {
		detail = append(detail, "source_file_uuid", *in.SourceFileUUID)
	}
	return apiview.Object("type", typ, "detail", apiview.Object(detail...))
}
