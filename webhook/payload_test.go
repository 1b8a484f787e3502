package webhook_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/apiview"
	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/webhook"
)

// The vector of webhooks.md §2 (uploadcare-ruby's verifier spec).
const (
	vectorSecret    = "12345X"
	vectorBody      = `{"payload_hash":"1844671900","data":{"uuid":"f08d7c8a-2971-42e0-ab01-780d9039b40b","image_info":{"color_mode":"RGB","format":"JPEG","height":168,"width":300,"orientation":null,"dpi":null,"geo_location":null,"datetime_original":null,"sequence":false},"video_info":null,"content_info":{"mime":{"mime":"image/jpeg","type":"image","subtype":"jpeg"},"video":null,"image":{"color_mode":"RGB","format":"JPEG","height":168,"width":300,"orientation":null,"dpi":null,"geo_location":null,"datetime_original":null,"sequence":false}},"mime_type":"image/jpeg","original_filename":"download.jpeg","size":10603,"is_image":true,"is_ready":true,"datetime_removed":null,"datetime_stored":null,"datetime_uploaded":null,"original_file_url":"https://ucarecdn.com/f08d7c8a-2971-42e0-ab01-780d9039b40b/download.jpeg","url":"","source":null,"variations":null,"rekognition_info":null},"hook":{"id":889783,"project_id":123681,"target":"https://6f48-188-232-175-230.ngrok.io/posts","event":"file.uploaded","is_active":true,"created_at":"2021-11-18T06:17:42.730459Z","updated_at":"2021-11-18T06:17:42.730459Z"},"file":"https://ucarecdn.com/f08d7c8a-2971-42e0-ab01-780d9039b40b/download.jpeg"}`
	vectorSignature = "v1=9b31c7dd83fdbf4a2e12b19d7f2b9d87d547672a325b9492457292db4f513c70"
)

func TestSign(t *testing.T) {
	if got := webhook.Sign(vectorSecret, []byte(vectorBody)); got != vectorSignature {
		t.Fatalf("Sign = %s, want %s", got, vectorSignature)
	}
	if !webhook.Verify(vectorSecret, []byte(vectorBody), vectorSignature) {
		t.Fatal("Verify rejects the vector")
	}
	if webhook.Verify("other", []byte(vectorBody), vectorSignature) || webhook.Verify(vectorSecret, []byte(vectorBody+" "), vectorSignature) {
		t.Fatal("Verify accepts a wrong secret or body")
	}
}

var bases = apiview.Bases{CDN: "https://cdn.example", API: "https://api.example"}

func sampleFile() *satchel.File {
	up := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	return &satchel.File{
		UUID: "f5c4ee6e-f41a-4ff2-a86e-a3e92bcc334d", ProjectID: 7, Size: 42, MimeType: "image/png",
		OriginalFilename: "a b.png", Filename: "ab.png", IsImage: true, IsReady: true, Uploaded: up, Stored: &up,
		Metadata: map[string]string{"k": "v"}, Tags: []string{},
		ContentInfo: &satchel.ContentInfo{Mime: satchel.MimeInfo{Mime: "image/png", Type: "image", Subtype: "png"},
			Image: &satchel.ImageInfo{Width: 3, Height: 4, Format: "PNG"}},
	}
}

func sampleHook(version, event string) (*satchel.Webhook, *satchel.Project) {
	c := time.Date(2022, 9, 27, 15, 26, 4, 789882000, time.UTC)
	return &satchel.Webhook{ID: 1283756, ProjectID: 7, Event: event, TargetURL: "https://hooks.example/x", IsActive: true,
			SigningSecret: "topsecret", Version: version, Created: c, Updated: c},
		&satchel.Project{ID: 7, PublicKey: "pubkey123"}
}

func topKeys(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestPayloadV07(t *testing.T) {
	reqID, src := "972654bd-a2ad-485a-bd27-c86126c1ed8c", "11111111-2222-3333-4444-555555555555"
	f := sampleFile()
	e := app.FileEvent(f, satchel.EventFileUploaded, satchel.Initiator{Type: "api", RequestID: &reqID, SourceFileUUID: &src}, nil)
	f.Size = 99 // the event carries a snapshot
	w, p := sampleHook("0.7", satchel.EventFileUploaded)
	body, err := webhook.Payload(w, p, e, bases)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), "topsecret") {
		t.Fatalf("secret leaked: %s", body)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil || compact.String() != string(body) {
		t.Fatalf("not compact JSON: %s %v", body, err)
	}
	if got := strings.Join(topKeys(t, body), ","); got != "initiator,hook,data,file" {
		t.Fatalf("keys: %s", got)
	}
	var v struct {
		Initiator struct {
			Type   string         `json:"type"`
			Detail map[string]any `json:"detail"`
		} `json:"initiator"`
		Hook map[string]any `json:"hook"`
		Data map[string]any `json:"data"`
		File string         `json:"file"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if v.Initiator.Type != "api" || v.Initiator.Detail["request_id"] != reqID || v.Initiator.Detail["addon_name"] != nil ||
		v.Initiator.Detail["source_file_uuid"] != src {
		t.Fatalf("initiator: %+v", v.Initiator)
	}
	wantHook := map[string]any{"id": 1283756.0, "project_id": 7.0, "project_pub_key": "pubkey123", "target": "https://hooks.example/x",
		"event": "file.uploaded", "is_active": true, "version": "0.7", "created_at": "2022-09-27T15:26:04.789882Z", "updated_at": "2022-09-27T15:26:04.789882Z"}
	if len(v.Hook) != len(wantHook) {
		t.Fatalf("hook: %v", v.Hook)
	}
	for k, want := range wantHook {
		if v.Hook[k] != want {
			t.Fatalf("hook.%s = %v, want %v", k, v.Hook[k], want)
		}
	}
	if v.Data["uuid"] != f.UUID || v.Data["size"] != 42.0 || v.Data["appdata"] == nil || v.Data["metadata"].(map[string]any)["k"] != "v" ||
		v.Data["content_info"] == nil || v.Data["original_file_url"] != "https://cdn.example/"+f.UUID+"/ab.png" {
		t.Fatalf("data: %v", v.Data)
	}
	if v.File != "https://cdn.example/"+f.UUID+"/ab.png" {
		t.Fatalf("file: %s", v.File)
	}
}

func TestPayloadInfoUpdated(t *testing.T) {
	f := sampleFile()
	e := app.FileEvent(f, satchel.EventFileInfoUpdated, satchel.Initiator{Type: "api"}, map[string]any{"metadata": map[string]string{"k": "old"}})
	w, p := sampleHook("0.7", satchel.EventFileInfoUpdated)
	body, err := webhook.Payload(w, p, e, bases)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(topKeys(t, body), ","); got != "initiator,hook,data,file,previous_values" {
		t.Fatalf("keys: %s", got)
	}
	var v struct {
		PreviousValues map[string]map[string]string `json:"previous_values"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.PreviousValues["metadata"]["k"] != "old" {
		t.Fatalf("previous_values: %s %v", body, err)
	}
	// Newly added: null.
	e = app.FileEvent(f, satchel.EventFileInfoUpdated, satchel.Initiator{Type: "addon"}, map[string]any{"appdata": nil})
	body, _ = webhook.Payload(w, p, e, bases)
	if !strings.Contains(string(body), `"previous_values":{"appdata":null}`) {
		t.Fatalf("null previous value: %s", body)
	}
}

func TestPayloadV06(t *testing.T) {
	f := sampleFile()
	e := app.FileEvent(f, satchel.EventFileUploaded, satchel.Initiator{Type: "api"}, nil)
	w, p := sampleHook("0.6", satchel.EventFileUploaded)
	body, err := webhook.Payload(w, p, e, bases)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(topKeys(t, body), ","); got != "hook,data,file" {
		t.Fatalf("keys: %s", got)
	}
	var v struct {
		Hook map[string]any `json:"hook"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if v.Hook["version"] != "0.6" || v.Hook["id"] != 1283756.0 || v.Hook["target"] != "https://hooks.example/x" {
		t.Fatalf("hook: %v", v.Hook)
	}
	if _, ok := v.Data["image_info"]; !ok {
		t.Fatalf("data not in 0.6 shape: %v", v.Data)
	}
	if _, ok := v.Data["metadata"]; ok {
		t.Fatalf("0.6 data has metadata: %v", v.Data)
	}
	if _, ok := v.Data["appdata"]; ok {
		t.Fatalf("0.6 data has appdata: %v", v.Data)
	}
}

func TestPayloadErrors(t *testing.T) {
	w, p := sampleHook("0.7", satchel.EventFileUploaded)
	for _, payload := range []string{`not json`, `{}`, `{"file":null}`} {
		e := &satchel.Event{ID: "e", Type: satchel.EventFileUploaded, Payload: []byte(payload)}
		if _, err := webhook.Payload(w, p, e, bases); err == nil {
			t.Errorf("payload %s accepted", payload)
		}
	}
}
