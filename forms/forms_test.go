package forms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/forms"
	"github.com/satchel-project/satchel/server"
)

// env is a real Satchel with two projects: ours (the demo project) and
// another one whose files must never validate for ours.
type env struct {
	base   string
	client *forms.Client
	other  string // the other project's public key
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	s, err := server.New(ctx, server.Config{DataDir: t.TempDir(), DemoPublicKey: "formspub", DemoSecretKey: "formssecret"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	if err := s.Store.CreateProject(ctx, &satchel.Project{Name: "other", PublicKey: "otherpub", SecretKey: "othersecret", Autostore: true}); err != nil {
		t.Fatal(err)
	}
	return &env{base: ts.URL, other: "otherpub", client: &forms.Client{BaseURL: ts.URL, PublicKey: "formspub", SecretKey: "formssecret"}}
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload sends one file through /base/ unstored, as the widget does.
func (e *env) upload(t *testing.T, pub, name string, data []byte) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("UPLOADCARE_PUB_KEY", pub)
	mw.WriteField("UPLOADCARE_STORE", "0")
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	resp, err := http.Post(e.base+"/base/", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out["file"] == "" {
		t.Fatalf("upload: %d %v %v", resp.StatusCode, out, err)
	}
	return out["file"]
}

func (e *env) group(t *testing.T, pub string, ids ...string) string {
	t.Helper()
	form := url.Values{"pub_key": {pub}}
	for i, id := range ids {
		form.Set("files["+strconv.Itoa(i)+"]", id)
	}
	resp, err := http.PostForm(e.base+"/group/", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var g struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&g); err != nil || g.ID == "" {
		t.Fatalf("group: %d %v", resp.StatusCode, err)
	}
	return g.ID
}

// rest calls the REST API with the demo project's keys.
func (e *env) rest(t *testing.T, method, p string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, e.base+p, nil)
	req.Header.Set("Accept", "application/vnd.uploadcare-v0.7+json")
	req.Header.Set("Authorization", "Uploadcare.Simple formspub:formssecret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d %s", method, p, resp.StatusCode, b)
	}
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

func wantInvalid(t *testing.T, err error, what string) {
	t.Helper()
	var ve *forms.ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("%s: want a validation error, got %v", what, err)
	}
}

func TestCleanFileAndSave(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	img := e.upload(t, "formspub", "photo.png", pngBytes(t, 40, 30))
	field := forms.Field{Name: "photo", ImagesOnly: true, Crop: "1:1", Required: true}
	for _, raw := range []string{
		img,
		" " + img + "/ ",
		e.base + "/" + img + "/",
		e.base + "/" + img + "/-/crop/1:1/center/",
		"https://cdn.example.com/" + img + "/-/crop/1:1/center/photo.png",
	} {
		v, err := e.client.Clean(ctx, field, raw)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if v.UUID != img || len(v.Files) != 1 || !v.Files[0].IsImage || v.Files[0].Stored {
			t.Fatalf("%q: %+v", raw, v)
		}
		if strings.Contains(raw, "crop") {
			if v.Operations != "crop/1:1/" || v.CDNURL != e.base+"/"+img+"/-/crop/1:1/" {
				t.Errorf("%q: ops %q url %q", raw, v.Operations, v.CDNURL)
			}
		} else if v.CDNURL != e.base+"/"+img+"/" {
			t.Errorf("%q: url %q", raw, v.CDNURL)
		}
	}
	v, err := e.client.Clean(ctx, field, e.base+"/"+img+"/-/crop/1:1/center/")
	if err != nil {
		t.Fatal(err)
	}
	// The canonical URL is served by the CDN.
	resp, err := http.Get(v.CDNURL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CDN %s: %v %v", v.CDNURL, resp, err)
	}
	resp.Body.Close()
	if got := e.rest(t, "GET", "/files/"+img+"/")["datetime_stored"]; got != nil {
		t.Fatalf("stored before save: %v", got)
	}
	if err := e.client.Save(ctx, v); err != nil {
		t.Fatal(err)
	}
	if got := e.rest(t, "GET", "/files/"+img+"/")["datetime_stored"]; got == nil || !v.Files[0].Stored {
		t.Fatal("not stored after save")
	}
	// Empty values.
	if _, err := e.client.Clean(ctx, field, "  "); err == nil {
		t.Error("required field took an empty value")
	}
	if v, err := e.client.Clean(ctx, forms.Field{Name: "opt"}, ""); v != nil || err != nil {
		t.Errorf("optional empty: %v %v", v, err)
	}
}

func TestCleanRejectsForgedAndBadValues(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mine := e.upload(t, "formspub", "a.txt", []byte("mine"))
	theirs := e.upload(t, "otherpub", "b.png", pngBytes(t, 8, 8))
	theirGroup := e.group(t, "otherpub", theirs)
	deleted := e.upload(t, "formspub", "gone.txt", []byte("gone"))
	e.rest(t, "DELETE", "/files/"+deleted+"/storage/")
	file := forms.Field{Name: "file"}
	group := forms.Field{Name: "files", Group: true}
	cases := []struct {
		f   forms.Field
		raw string
	}{
		{file, theirs},                      // another project's file
		{file, e.base + "/" + theirs + "/"}, // … as a URL
		{group, theirGroup},                 // another project's group
		{file, "00000000-0000-4000-8000-000000000000"},
		{file, deleted}, // deleted
		{file, "not-a-uuid"},
		{file, strings.ToUpper(mine)}, // not the canonical form
		{file, mine + "/../" + mine},
		{file, mine + "/-/nosuchop/1/"}, // unknown operation
		{file, mine + "/-/resize/10x/"}, // operations on a non-image
		{file, mine + "?x=1"},
		{file, e.base + "/" + mine + "/?token=x"},
		{file, "javascript:alert(1)"},
		{file, "ftp://" + mine},
		{file, mine + "~1"}, // a group in a file field
		{file, mine + "/detect_faces/"},
		{group, mine}, // a file in a group field
		{group, mine + "~0"},
		{group, e.base + "/" + theirGroup + "/nth/0/"},
		{forms.Field{Name: "img", ImagesOnly: true}, mine},
		{forms.Field{Name: "small", MaxSize: 2}, mine},
		{forms.Field{Name: "pdf", Types: []string{"application/pdf", "image/*"}}, mine},
		{file, strings.Repeat("a", 5000)},
	}
	for _, c := range cases {
		v, err := e.client.Clean(ctx, c.f, c.raw)
		if v != nil {
			t.Errorf("%s %q accepted: %+v", c.f.Name, c.raw, v)
		}
		wantInvalid(t, err, c.f.Name+" "+c.raw)
	}
	// The same rules let the right values through.
	if _, err := e.client.Clean(ctx, forms.Field{Name: "txt", Types: []string{"text/*"}, MaxSize: 4}, mine); err != nil {
		t.Errorf("text file within the rules: %v", err)
	}
	// Wrong keys are a configuration problem, not a user's.
	bad := *e.client
	bad.SecretKey = "wrong"
	_, err := bad.Clean(ctx, file, mine)
	var ve *forms.ValidationError
	if err == nil || errors.As(err, &ve) {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestCleanGroupAndSave(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.upload(t, "formspub", "a.png", pngBytes(t, 10, 10))
	b := e.upload(t, "formspub", "b.png", pngBytes(t, 12, 9))
	txt := e.upload(t, "formspub", "c.txt", []byte("text"))
	images := e.group(t, "formspub", a, b)
	mixed := e.group(t, "formspub", a, txt)
	imageGroup := forms.Field{Name: "gallery", Group: true, ImagesOnly: true}
	for _, raw := range []string{images, e.base + "/" + images + "/", "https://cdn.example.com/" + images} {
		v, err := e.client.Clean(ctx, imageGroup, raw)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if v.GroupID != images || v.CDNURL != e.base+"/"+images+"/" || len(v.Files) != 2 || v.Files[0].UUID != a || v.Files[1].UUID != b {
			t.Fatalf("%q: %+v", raw, v)
		}
	}
	_, err := e.client.Clean(ctx, imageGroup, mixed)
	wantInvalid(t, err, "image group with a text file")
	_, err = e.client.Clean(ctx, forms.Field{Name: "few", Group: true, MaxFiles: 1}, images)
	wantInvalid(t, err, "group over MaxFiles")
	// A group whose N does not match is not the group.
	_, err = e.client.Clean(ctx, imageGroup, strings.TrimSuffix(images, "~2")+"~3")
	wantInvalid(t, err, "group with the wrong count")

	v, err := e.client.Clean(ctx, forms.Field{Name: "files", Group: true}, mixed)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.client.Save(ctx, v); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a, txt} {
		if e.rest(t, "GET", "/files/"+id+"/")["datetime_stored"] == nil {
			t.Errorf("%s not stored", id)
		}
	}
	if e.rest(t, "GET", "/files/"+b+"/")["datetime_stored"] != nil {
		t.Error("a file outside the saved group was stored")
	}
	// A group with a deleted member is refused.
	e.rest(t, "DELETE", "/files/"+b+"/storage/")
	_, err = e.client.Clean(ctx, imageGroup, images)
	wantInvalid(t, err, "group with a deleted file")
}

func TestWidget(t *testing.T) {
	c := &forms.Client{BaseURL: "http://127.0.0.1:8080/", PublicKey: `pub"key`, SecretKey: "s"}
	html := string(c.Widget(forms.Field{Name: "photo", ImagesOnly: true, Crop: "4:3", MaxSize: 1000}, `x"><script>`))
	for _, want := range []string{
		`<input type="hidden" name="photo" id="satchel-field-photo" value="x&#34;&gt;&lt;script&gt;">`,
		`pub-key="pub&#34;key"`, `base-url="http://127.0.0.1:8080/"`, `input="satchel-field-photo"`,
		`store="0"`, ` images-only`, `crop="4:3"`, `max-size="1000"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("widget lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, "<script>") {
		t.Error("value not escaped")
	}
	if js := string(c.Widget(forms.Field{Name: "f"}, "javascript:alert(1)")); strings.Contains(js, `href="javascript`) {
		t.Errorf("a posted javascript: value became a link: %s", js)
	}
	if u := string(c.Widget(forms.Field{Name: "f"}, "http://127.0.0.1:8080/x/")); !strings.Contains(u, `<a href="http://127.0.0.1:8080/x/">`) {
		t.Errorf("no link to the current file: %s", u)
	}
	g := string(c.Widget(forms.Field{Name: "files", Group: true}, ""))
	if !strings.Contains(g, " multiple group") || strings.Contains(g, "satchel-current") {
		t.Errorf("group widget: %s", g)
	}
	if s := string(c.Script()); s != `<script src="http://127.0.0.1:8080/uploader/uploader.js"></script>` {
		t.Errorf("script: %s", s)
	}
}
