package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/satchel-project/satchel/addons"
	"github.com/satchel-project/satchel/server"
)

// rekognitionPeer answers Amazon Rekognition's JSON 1.1 protocol
// (X-Amz-Target, SigV4-signed requests, "__type" errors) for DetectLabels
// and DetectModerationLabels.
type rekognitionPeer struct {
	t        *testing.T
	image    []byte
	throttle atomic.Int32 // ThrottlingException this many times first
	calls    atomic.Int32
}

func (p *rekognitionPeer) fail(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func (p *rekognitionPeer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.calls.Add(1)
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDSATCHELTEST/") {
		p.fail(w, 400, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	if p.throttle.Add(-1) >= 0 {
		p.fail(w, 400, "ThrottlingException", "Rate exceeded")
		return
	}
	var in struct{ Image struct{ Bytes []byte } }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || !bytes.Equal(in.Image.Bytes, p.image) {
		p.fail(w, 400, "InvalidImageFormatException", "Request has invalid image format")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch r.Header.Get("X-Amz-Target") {
	case "RekognitionService.DetectLabels":
		io.WriteString(w, `{"LabelModelVersion":"3.0","Labels":[{"Confidence":93.41,"Instances":[{"BoundingBox":{"Height":0.5,"Left":0.1,"Top":0.2,"Width":0.25},"Confidence":90.5}],"Name":"Dog","Parents":[{"Name":"Animal"}],"Aliases":[],"Categories":[{"Name":"Animals and Pets"}]}],"OrientationCorrection":"ROTATE_0"}`)
	case "RekognitionService.DetectModerationLabels":
		io.WriteString(w, `{"ModerationModelVersion":"7.0","ModerationLabels":[{"Confidence":88.2,"Name":"Weapons","ParentName":"Violence","TaxonomyLevel":2}]}`)
	default:
		p.fail(w, 400, "UnknownOperationException", "unknown operation")
	}
}

func awsTestEnv(t *testing.T, key string) {
	t.Setenv("AWS_ACCESS_KEY_ID", key)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
}

func TestAddonRekognitionLocalPeerSpeakingRekognitionJSON(t *testing.T) {
	awsTestEnv(t, "AKIDSATCHELTEST")
	img := pngBytes(t, 16, 16)
	peer := &rekognitionPeer{t: t, image: img}
	peer.throttle.Store(1) // the first call is throttled: the job retries it
	ep := httptest.NewServer(peer)
	defer ep.Close()
	s := startServer(t, func(c *server.Config) {
		c.StorageURL = "" // the AWS_* variables set here are for Rekognition, not the S3 test server
		c.Addons.AWSRegion, c.Addons.RekognitionEndpoint = "us-east-1", ep.URL
	})
	id := uploadData(t, s.URL, "dog.png", "image/png", img)

	req := executeAddon(t, s.URL, addons.RekognitionLabels, `{"target":"`+id+`"}`)
	if st := waitAddon(t, s.URL, addons.RekognitionLabels, req); st["status"] != "done" {
		t.Fatalf("labels status %v", st)
	}
	if n := peer.calls.Load(); n != 2 {
		t.Fatalf("peer calls %d, want 2 (throttled once)", n)
	}
	req = executeAddon(t, s.URL, addons.RekognitionModeration, `{"target":"`+id+`"}`)
	if st := waitAddon(t, s.URL, addons.RekognitionModeration, req); st["status"] != "done" {
		t.Fatalf("moderation status %v", st)
	}
	_, ad := appdata(t, s.URL, id)
	labels := ad[addons.RekognitionLabels].(map[string]any)
	got, _ := json.Marshal(labels["data"])
	want := `{"LabelModelVersion":"3.0","Labels":[{"Confidence":93.41,"Instances":[{"BoundingBox":{"Height":0.5,"Left":0.1,"Top":0.2,"Width":0.25},"Confidence":90.5}],"Name":"Dog","Parents":[{"Name":"Animal"}]}]}`
	if string(got) != want || labels["version"] != "2016-06-27" {
		t.Fatalf("labels appdata %s (version %v)", got, labels["version"])
	}
	mod := ad[addons.RekognitionModeration].(map[string]any)
	got, _ = json.Marshal(mod["data"])
	if string(got) != `{"ModerationLabels":[{"Confidence":88.2,"Name":"Weapons","ParentName":"Violence"}],"ModerationModelVersion":"7.0"}` {
		t.Fatalf("moderation appdata %s", got)
	}
}

func TestAddonRekognitionLocalPeerBadCredentials(t *testing.T) {
	awsTestEnv(t, "AKIDWRONG")
	peer := &rekognitionPeer{t: t}
	ep := httptest.NewServer(peer)
	defer ep.Close()
	s := startServer(t, func(c *server.Config) {
		c.StorageURL = "" // the AWS_* variables set here are for Rekognition, not the S3 test server
		c.Addons.AWSRegion, c.Addons.RekognitionEndpoint = "us-east-1", ep.URL
	})
	id := uploadData(t, s.URL, "a.png", "image/png", pngBytes(t, 8, 8))
	if st := waitAddon(t, s.URL, addons.RekognitionLabels, executeAddon(t, s.URL, addons.RekognitionLabels, `{"target":"`+id+`"}`)); st["status"] != "error" {
		t.Fatalf("status %v", st)
	}
	if n := peer.calls.Load(); n != 1 {
		t.Fatalf("bad credentials retried: %d calls", n)
	}
	if _, ad := appdata(t, s.URL, id); len(ad) != 0 {
		t.Fatalf("appdata %v", ad)
	}
}

func TestAddonRekognitionWithoutCredentialsNotConfigured(t *testing.T) {
	awsTestEnv(t, "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	s := startServer(t, func(c *server.Config) { c.StorageURL, c.Addons.AWSRegion = "", "us-east-1" })
	id := uploadData(t, s.URL, "a.png", "image/png", pngBytes(t, 8, 8))
	code, _, body := rawREST(t, "POST", s.URL+"/addons/"+addons.RekognitionLabels+"/execute/", v7, "application/json", `{"target":"`+id+`"}`)
	if code != 400 || !strings.Contains(body, "not configured") {
		t.Fatalf("%d %s", code, body)
	}
}

// removeBGPeer answers remove.bg's API: a multipart upload with X-Api-Key,
// a PNG with X-Type, or {"errors":[…]}.
type removeBGPeer struct {
	t      *testing.T
	result []byte
	status atomic.Int32 // answer this status once, when set
	calls  atomic.Int32
	mu     sync.Mutex
	fields map[string]string
}

func (p *removeBGPeer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.calls.Add(1)
	errorJSON := func(code int, title string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"title": title}}})
	}
	if r.Header.Get("X-Api-Key") != "rbg-key" {
		errorJSON(403, "API Key invalid")
		return
	}
	if st := p.status.Swap(0); st != 0 {
		errorJSON(int(st), "Insufficient credits")
		return
	}
	if err := r.ParseMultipartForm(10 << 20); err != nil {
		errorJSON(400, "bad form")
		return
	}
	f, _, err := r.FormFile("image_file")
	if err != nil {
		errorJSON(400, "No image given")
		return
	}
	f.Close()
	p.mu.Lock()
	p.fields = map[string]string{}
	for k, v := range r.MultipartForm.Value {
		p.fields[k] = v[0]
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("X-Type", "person")
	w.Write(p.result)
}

func TestAddonRemoveBGLocalPeerSpeakingRemoveBGAPI(t *testing.T) {
	peer := &removeBGPeer{t: t, result: pngBytes(t, 12, 10)}
	peer.status.Store(429) // rate limited once: retried
	ep := httptest.NewServer(peer)
	defer ep.Close()
	s := startServer(t, func(c *server.Config) { c.Addons.RemoveBGKey, c.Addons.RemoveBGEndpoint = "rbg-key", ep.URL })
	id := uploadData(t, s.URL, "portrait.jpg.png", "image/png", pngBytes(t, 20, 20))
	params := `{"crop":true,"crop_margin":"10px","scale":"50%","add_shadow":false,"type_level":"2","type":"person","semitransparency":true,"channels":"rgba","roi":"0% 0% 100% 100%","position":"center"}`
	req := executeAddon(t, s.URL, addons.RemoveBG, `{"target":"`+id+`","params":`+params+`}`)
	st := waitAddon(t, s.URL, addons.RemoveBG, req)
	res, _ := st["result"].(map[string]any)
	newID, _ := res["file_id"].(string)
	if st["status"] != "done" || newID == "" {
		t.Fatalf("status %v", st)
	}
	peer.mu.Lock()
	fields := peer.fields
	peer.mu.Unlock()
	want := map[string]string{"crop": "true", "crop_margin": "10px", "scale": "50%", "add_shadow": "false", "type_level": "2", "type": "person",
		"semitransparency": "true", "channels": "rgba", "roi": "0% 0% 100% 100%", "position": "center", "format": "png", "size": "auto"}
	for k, v := range want {
		if fields[k] != v {
			t.Fatalf("field %s = %q, want %q (all %v)", k, fields[k], v, fields)
		}
	}
	nf, _ := appdata(t, s.URL, newID)
	if nf["mime_type"] != "image/png" || nf["size"] != float64(len(peer.result)) {
		t.Fatalf("result file %v", nf)
	}
	_, ad := appdata(t, s.URL, id)
	if d := ad[addons.RemoveBG].(map[string]any)["data"].(map[string]any); d["foreground_type"] != "person" {
		t.Fatalf("appdata %v", ad)
	}
	// Bad parameters are refused before anything runs.
	code, _, body := rawREST(t, "POST", s.URL+"/addons/remove_bg/execute/", v7, "application/json", `{"target":"`+id+`","params":{"type":"cat"}}`)
	if code != 400 || !strings.Contains(body, "type") {
		t.Fatalf("bad type: %d %s", code, body)
	}
	// An error answer (402, no credits) ends the execution.
	peer.status.Store(402)
	if st := waitAddon(t, s.URL, addons.RemoveBG, executeAddon(t, s.URL, addons.RemoveBG, `{"target":"`+id+`"}`)); st["status"] != "error" {
		t.Fatalf("402: status %v", st)
	}
}
