package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uploadcare/uploadcare-go/ucare"
	"github.com/uploadcare/uploadcare-go/upload"
)

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// download fetches the original bytes back through the CDN path.
func download(t testing.TB, base, uuid string) []byte {
	t.Helper()
	resp, err := http.Get(base + "/" + uuid + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET original: %d", resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoClientDirectUploadAndInfo(t *testing.T) {
	s := startServer(t, nil)
	svc := upload.NewService(ucClient(t, s.URL, false))
	ctx := context.Background()
	data := pngBytes(t, 40, 30)
	id, err := svc.File(ctx, upload.FileParams{Data: bytes.NewReader(data), Name: "pic (1).png", ContentType: "image/png", ToStore: ucare.String(upload.ToStoreFalse)})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	info, err := svc.FileInfo(ctx, id)
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	if info.ID != id || info.Size != uint64(len(data)) || !info.IsImage || !info.IsReady || info.IsStored {
		t.Fatalf("info = %+v", info)
	}
	if info.MimeType != "image/png" || info.OriginalFileName != "pic (1).png" || info.FileName != "pic1.png" {
		t.Fatalf("names/type = %q %q %q", info.MimeType, info.OriginalFileName, info.FileName)
	}
	if info.ImageInfo == nil || info.ImageInfo.Width != 40 || info.ImageInfo.Height != 30 || info.ImageInfo.Format != "PNG" {
		t.Fatalf("image info = %+v", info.ImageInfo)
	}
	if got := download(t, s.URL, id); !bytes.Equal(got, data) {
		t.Fatal("downloaded bytes differ")
	}
}

func TestGoClientMultipart30MB(t *testing.T) {
	s := startServer(t, nil)
	svc := upload.NewService(ucClient(t, s.URL, false))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	data := randomBytes(t, 30*1000*1000)
	mp, err := svc.Multipart(ctx, upload.MultipartParams{FileName: "/home/me/big.bin", Size: int64(len(data)), ContentType: "application/octet-stream", Data: bytes.NewReader(data), ToStore: ucare.String(upload.ToStoreTrue)})
	if err != nil {
		t.Fatalf("multipart start: %v", err)
	}
	var info upload.FileInfo
	select {
	case info = <-mp.Done():
	case err := <-mp.Error():
		t.Fatalf("multipart: %v", err)
	case <-ctx.Done():
		t.Fatal("multipart timed out")
	}
	if info.Size != uint64(len(data)) || !info.IsStored || !info.IsReady || info.OriginalFileName != "big.bin" {
		t.Fatalf("complete info = %+v", info)
	}
	got := download(t, s.URL, info.ID)
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatal("downloaded bytes differ from the uploaded ones")
	}
}

func TestGoClientFromURL(t *testing.T) {
	data := pngBytes(t, 64, 48)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Disposition", `attachment; filename="remote.png"`)
		w.Write(data)
	}))
	defer src.Close()
	s := startServer(t, nil)
	svc := upload.NewService(ucClient(t, s.URL, false))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := svc.FromURL(ctx, upload.FromURLParams{URL: src.URL + "/img", SaveURLDuplicates: ucare.String("1")})
	if err != nil {
		t.Fatalf("from_url: %v", err)
	}
	if _, ok := res.Info(); ok {
		t.Fatal("first fetch should answer with a token")
	}
	var info upload.FileInfo
	select {
	case info = <-res.Done():
	case err := <-res.Error():
		t.Fatalf("from_url status: %v", err)
	case <-ctx.Done():
		t.Fatal("timed out")
	}
	if info.Size != uint64(len(data)) || info.OriginalFileName != "remote.png" || !info.IsImage || info.ImageInfo == nil || info.ImageInfo.Width != 64 {
		t.Fatalf("fetched info = %+v", info)
	}
	if got := download(t, s.URL, info.ID); !bytes.Equal(got, data) {
		t.Fatal("fetched bytes differ")
	}
	// A second request with duplicate checking answers with the same file at once.
	res2, err := svc.FromURL(ctx, upload.FromURLParams{URL: src.URL + "/img", CheckURLDuplicates: ucare.String("1")})
	if err != nil {
		t.Fatalf("from_url dup: %v", err)
	}
	dup, ok := res2.Info()
	if !ok || dup.ID != info.ID {
		t.Fatalf("duplicate check: ok=%v id=%s want %s", ok, dup.ID, info.ID)
	}
}

func TestGoClientSignedUpload(t *testing.T) {
	s := startServer(t, nil)
	// Require signatures for the demo project.
	p, err := s.Store.ProjectByPublicKey(context.Background(), testPub)
	if err != nil {
		t.Fatal(err)
	}
	p.SignedUploads = true
	if err := s.Store.UpdateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	time.Sleep(6 * time.Second) // the project cache refreshes within 5 s

	signed := upload.NewService(ucClient(t, s.URL, true))
	if _, err := signed.File(context.Background(), upload.FileParams{Data: strings.NewReader("hello"), Name: "a.txt", ContentType: "text/plain"}); err != nil {
		t.Fatalf("signed upload: %v", err)
	}
	unsigned := upload.NewService(ucClient(t, s.URL, false))
	_, err = unsigned.File(context.Background(), upload.FileParams{Data: strings.NewReader("hello"), Name: "a.txt", ContentType: "text/plain"})
	if err == nil || !strings.Contains(err.Error(), "`signature` is required.") {
		t.Fatalf("unsigned upload to a signing project: %v", err)
	}
}

func TestGoClientGroups(t *testing.T) {
	s := startServer(t, nil)
	svc := upload.NewService(ucClient(t, s.URL, false))
	ctx := context.Background()
	var ids []string
	for i := 0; i < 3; i++ {
		id, err := svc.File(ctx, upload.FileParams{Data: bytes.NewReader(pngBytes(t, 10+i, 10)), Name: fmt.Sprintf("%d.png", i), ContentType: "image/png"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	members := []string{ids[0], ids[1] + "/-/resize/x800/", "https://cdn.example.com/" + ids[2] + "/-/crop/10x10/-/preview/"}
	g, err := svc.CreateGroup(ctx, members)
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	if !strings.HasSuffix(g.ID, "~3") || g.FileCount != 3 || len(g.Files) != 3 {
		t.Fatalf("group = %+v", g)
	}
	if g.Files[1].DefaultEffects != "resize/x800/" || g.Files[2].DefaultEffects != "crop/10x10/-/preview/" || g.Files[0].ID != ids[0] {
		t.Fatalf("members = %+v", g.Files)
	}
	info, err := svc.GroupInfo(ctx, g.ID)
	if err != nil {
		t.Fatalf("group info: %v", err)
	}
	if info.ID != g.ID || len(info.Files) != 3 || info.Files[2].ID != ids[2] {
		t.Fatalf("group info = %+v", info)
	}
	if !strings.HasPrefix(info.CDNLink, "http") || !strings.HasSuffix(info.CDNLink, "/"+g.ID+"/") {
		t.Fatalf("cdn_url = %q", info.CDNLink)
	}
	if _, err := svc.CreateGroup(ctx, []string{"00000000-0000-4000-8000-000000000000"}); err == nil || !strings.Contains(err.Error(), "Some files not found.") {
		t.Fatalf("group with unknown file: %v", err)
	}
}
