package sdktest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel/ucare"
)

// needTools skips without the converter programs, except in CI (CI=true),
// where they are installed (scripts/deps.sh) and missing ones fail.
func ptr[T any](v T) *T { return &v }

func needTools(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed (scripts/deps.sh installs it)", n)
			}
			t.Skipf("%s is not installed (scripts/deps.sh installs it)", n)
		}
	}
}

// TestConvertVideoSDK converts a generated clip with the SDK's typed path,
// waits with its poller and checks the result and thumbnails.
func TestConvertVideoSDK(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.mp4")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15:duration=2",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", clip).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	n := newNode(t, nil, nil)
	c := n.client(t, nil)
	ctx := context.Background()
	f, err := c.UploadFile(ctx, clip, &ucare.UploadOptions{Store: ucare.StoreTrue})
	if err != nil {
		t.Fatal(err)
	}
	path, err := ucare.VideoConversion{File: f.UUID, Format: "webm", Width: 160, Height: 120, ResizeMode: "change_ratio", Quality: "lighter", Thumbs: 4}.Path()
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.ConvertVideos(ctx, []string{path}, &ucare.ConvertOptions{Store: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Jobs) != 1 || res.Jobs[0].OriginalSource != path || !strings.HasSuffix(res.Jobs[0].ThumbnailsGroupUUID, "~4") {
		t.Fatalf("result: %+v", res)
	}
	st, err := c.WaitVideoConversion(ctx, res.Jobs[0].Token, &ucare.WaitOptions{PollInterval: 100 * time.Millisecond, Timeout: 3 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.FileInfo(ctx, st.Result.UUID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.MimeType != "video/webm" || info.ContentInfo == nil || info.ContentInfo.Video == nil ||
		info.ContentInfo.Video.Video[0].Width != 160 || info.ContentInfo.Video.Video[0].Height != 120 {
		t.Fatalf("result file: %+v", info)
	}
	g, err := c.GroupInfo(ctx, st.Result.ThumbnailsGroupUUID)
	if err != nil || g.FilesCount != 4 {
		t.Fatalf("thumbnails: %v %+v", err, g)
	}
	src, err := c.FileInfo(ctx, f.UUID, nil)
	if err != nil || src.Variations[path] != st.Result.UUID {
		t.Fatalf("variations: %v %+v", err, src)
	}
}

// TestConvertDocumentSDK converts a generated two-page document to PNG
// pages saved in a group, found again with DocumentConvertedGroup.
func TestConvertDocumentSDK(t *testing.T) {
	needTools(t, "soffice", "pdfinfo", "pdftoppm")
	n := newNode(t, nil, nil)
	c := n.client(t, nil)
	ctx := context.Background()
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.text">
<office:automatic-styles><style:style style:name="B" style:family="paragraph"><style:paragraph-properties fo:break-before="page"/></style:style></office:automatic-styles>
<office:body><office:text><text:p>One</text:p><text:p text:style-name="B">Two</text:p></office:text></office:body></office:document>`
	f, err := c.Upload(ctx, strings.NewReader(doc), &ucare.UploadOptions{Filename: "two.fodt", Store: ucare.StoreTrue})
	if err != nil {
		t.Fatal(err)
	}
	path, err := ucare.DocumentConversion{File: f.UUID, Format: "png"}.Path()
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.ConvertDocuments(ctx, []string{path}, &ucare.ConvertOptions{SaveInGroup: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Jobs) != 1 || res.Jobs[0].OriginalSource != path {
		t.Fatalf("result: %+v", res)
	}
	st, err := c.WaitDocumentConversion(ctx, res.Jobs[0].Token, &ucare.WaitOptions{PollInterval: 100 * time.Millisecond, Timeout: 3 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	gid, err := c.DocumentConvertedGroup(ctx, f.UUID, "png")
	if err != nil || !strings.HasSuffix(gid, "~2") {
		t.Fatalf("converted group: %q %v", gid, err)
	}
	g, err := c.GroupInfo(ctx, gid)
	if err != nil || g.FilesCount != 2 || g.Files[0].UUID != st.Result.UUID {
		t.Fatalf("group: %v %+v", err, g)
	}
	var buf bytes.Buffer
	if _, err := c.Download(ctx, n.URL+"/"+g.Files[1].UUID+"/", &buf); err != nil || !bytes.HasPrefix(buf.Bytes(), []byte("\x89PNG")) {
		t.Fatalf("page 2: %v %q", err, buf.Bytes()[:min(8, buf.Len())])
	}
	_, err = c.WaitDocumentConversion(ctx, 42, &ucare.WaitOptions{Timeout: 5 * time.Second})
	if err == nil {
		t.Fatal("an unknown token was waited for")
	}
}
