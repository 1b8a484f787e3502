package sdktest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/server"
	"github.com/satchel-project/satchel/ucare"
)

func uploadSome(t *testing.T, c *ucare.Client, n int, store ucare.StoreMode) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		f, err := c.Upload(context.Background(), strings.NewReader(fmt.Sprintf("file %d", i)), &ucare.UploadOptions{Filename: fmt.Sprintf("f%d.txt", i), Store: store})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = f.UUID
	}
	return ids
}

func TestListFiles(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	ctx := context.Background()
	c := n.client(t, nil)
	stored := uploadSome(t, c, 5, ucare.StoreTrue)
	temp := uploadSome(t, c, 2, ucare.StoreFalse)
	for _, auth := range []ucare.AuthScheme{ucare.AuthSigned, ucare.AuthSimple} {
		ft := newFaulty(nil)
		c := n.client(t, func(cfg *ucare.Config) { cfg.Auth = auth; cfg.HTTPClient = &http.Client{Transport: ft} })
		var got []string
		for f, err := range c.ListFiles(ctx, &ucare.ListFilesOptions{Limit: 2}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, f.UUID)
		}
		if want := append(slices.Clone(stored), temp...); !slices.Equal(got, want) {
			t.Fatalf("auth %d: listed %v, want %v", auth, got, want)
		}
		if pages := ft.count("GET /files/"); pages != 4 {
			t.Fatalf("auth %d: %d page requests, want 4", auth, pages)
		}
	}
	yes, no := true, false
	count := func(o *ucare.ListFilesOptions) []string {
		var ids []string
		for f, err := range c.ListFiles(ctx, o) {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, f.UUID)
		}
		return ids
	}
	if got := count(&ucare.ListFilesOptions{Stored: &yes, Limit: 3}); !slices.Equal(got, stored) {
		t.Fatalf("stored: %v", got)
	}
	if got := count(&ucare.ListFilesOptions{Stored: &no}); !slices.Equal(got, temp) {
		t.Fatalf("temporary: %v", got)
	}
	desc := count(&ucare.ListFilesOptions{Ordering: "-datetime_uploaded", Limit: 3})
	if len(desc) != 7 || desc[0] != temp[1] || desc[6] != stored[0] {
		t.Fatalf("descending: %v", desc)
	}
	// Stopping early stops paging.
	for f, err := range c.ListFiles(ctx, &ucare.ListFilesOptions{Limit: 1}) {
		if err != nil || f.UUID != stored[0] {
			t.Fatalf("first: %v %v", f, err)
		}
		break
	}
	first, err := c.FileInfo(ctx, stored[2], nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := count(&ucare.ListFilesOptions{From: *first.DatetimeUploaded}); !slices.Equal(got, append(slices.Clone(stored[3:]), temp...)) {
		t.Fatalf("from: %v", got)
	}
	page, err := c.FilesPage(ctx, &ucare.ListFilesOptions{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 7 || page.PerPage != 5 || page.Totals == nil || page.Totals.Stored != 5 || page.Totals.Unstored != 2 || page.Next == "" {
		t.Fatalf("page: %+v", page)
	}
	next, err := c.NextFilesPage(ctx, page)
	if err != nil || len(next.Results) != 2 {
		t.Fatalf("next page: %+v %v", next, err)
	}
	if last, err := c.NextFilesPage(ctx, next); last != nil || err != nil {
		t.Fatalf("past the last page: %v %v", last, err)
	}
	// Removed files.
	if _, err := c.DeleteFile(ctx, temp[0]); err != nil {
		t.Fatal(err)
	}
	if got := count(&ucare.ListFilesOptions{Removed: true}); !slices.Equal(got, temp[:1]) {
		t.Fatalf("removed: %v", got)
	}
}

func TestStoreDeleteBatch(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	ctx := context.Background()
	ft := newFaulty(nil)
	c := n.client(t, func(c *ucare.Config) { c.HTTPClient = &http.Client{Transport: ft} })
	ids := uploadSome(t, c, 3, ucare.StoreFalse)

	f, err := c.StoreFile(ctx, ids[0])
	if err != nil || !f.IsStored() {
		t.Fatalf("store: %+v %v", f, err)
	}
	f, err = c.DeleteFile(ctx, c.CDNURL(ids[0], nil)) // a CDN URL works too
	if err != nil || !f.IsRemoved() || f.IsStored() || f.OriginalFileURL != nil {
		t.Fatalf("delete: %+v %v", f, err)
	}
	// 150 references: two requests (100 + 50), unknown ones reported.
	refs := []string{ids[1], ids[2]}
	for i := 0; len(refs) < 150; i++ {
		refs = append(refs, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
	}
	res, err := c.StoreFiles(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 2 || len(res.Problems) != 148 {
		t.Fatalf("batch store: %d files, %d problems", len(res.Files), len(res.Problems))
	}
	if got := ft.count("PUT /files/storage/"); got != 2 {
		t.Fatalf("%d batch requests, want 2", got)
	}
	for _, id := range ids[1:] {
		if f, _ := c.FileInfo(ctx, id, nil); !f.IsStored() {
			t.Fatalf("%s not stored", id)
		}
	}
	res, err = c.DeleteFiles(ctx, ids[1:])
	if err != nil || len(res.Files) != 2 || len(res.Problems) != 0 {
		t.Fatalf("batch delete: %+v %v", res, err)
	}
	if f, _ := c.FileInfo(ctx, ids[2], nil); !f.IsRemoved() {
		t.Fatal("not removed")
	}
	if _, err := c.FileInfo(ctx, "00000000-0000-4000-8000-000000000000", nil); !ucare.IsNotFound(err) {
		t.Fatalf("unknown file: %v", err)
	}
	if _, err := c.FileInfo(ctx, "nonsense", nil); err == nil {
		t.Fatal("a reference without UUID was accepted")
	}
}

func TestCopies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := newNode(t, nil, func(p *satchel.Project) { p.Storages = map[string]string{"disk": "file://" + dir} })
	ctx := context.Background()
	c := n.client(t, nil)
	src, err := c.Upload(ctx, strings.NewReader("copy me"), &ucare.UploadOptions{Filename: "orig.txt"})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := c.CopyFileLocal(ctx, src.UUID, &ucare.LocalCopyOptions{Store: true, Metadata: map[string]string{"copy": "yes"}})
	if err != nil {
		t.Fatal(err)
	}
	if cp.UUID == src.UUID || cp.Metadata["copy"] != "yes" {
		t.Fatalf("local copy: %+v", cp)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !cp.IsReady && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		cp, _ = c.FileInfo(ctx, cp.UUID, nil)
	}
	if string(download(t, c, cp.UUID)) != "copy me" {
		t.Fatal("local copy content")
	}
	res, created, err := c.CopyFileRemote(ctx, src.UUID, "disk", &ucare.RemoteCopyOptions{Pattern: "out/${filename}${ext}"})
	if err != nil || !created || !strings.HasSuffix(res, "/out/orig.txt") {
		t.Fatalf("remote copy: %q %v %v", res, created, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "out", "orig.txt")); err != nil || string(b) != "copy me" {
		t.Fatalf("remote copy content: %q %v", b, err)
	}
	_, created, err = c.CopyFileRemote(ctx, src.UUID, "disk", &ucare.RemoteCopyOptions{Pattern: "out/${filename}${ext}"})
	if err != nil || created {
		t.Fatalf("repeated remote copy: created=%v %v", created, err)
	}
	_, _, err = c.CopyFileRemote(ctx, src.UUID, "nowhere", nil)
	var ir *ucare.InvalidRequestError
	if !errors.As(err, &ir) || !strings.Contains(ir.Message, "no storage") {
		t.Fatalf("unknown storage: %v", err)
	}
}

func TestMetadataAndTags(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	ctx := context.Background()
	c := n.client(t, nil)
	id := uploadSome(t, c, 1, ucare.StoreTrue)[0]
	if md, err := c.FileMetadata(ctx, id); err != nil || len(md) != 0 {
		t.Fatalf("empty metadata: %v %v", md, err)
	}
	if v, err := c.SetFileMetadataKey(ctx, id, "sub.system:a-b_c", "value one"); err != nil || v != "value one" {
		t.Fatalf("set: %q %v", v, err)
	}
	c.SetFileMetadataKey(ctx, id, "other", "2")
	if v, err := c.FileMetadataKey(ctx, id, "sub.system:a-b_c"); err != nil || v != "value one" {
		t.Fatalf("get: %q %v", v, err)
	}
	if md, _ := c.FileMetadata(ctx, id); len(md) != 2 || md["other"] != "2" {
		t.Fatalf("all: %v", md)
	}
	if err := c.DeleteFileMetadataKey(ctx, id, "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FileMetadataKey(ctx, id, "other"); !ucare.IsNotFound(err) {
		t.Fatalf("deleted key: %v", err)
	}
	if _, err := c.SetFileMetadataKey(ctx, id, "bad key", "v"); err == nil {
		t.Fatal("bad key accepted")
	}

	ch, err := c.SetFileTags(ctx, id, []string{"Red", "blue"})
	if err != nil || !slices.Equal(sorted(ch.Tags), []string{"blue", "red"}) || len(ch.Added) != 2 {
		t.Fatalf("set tags: %+v %v", ch, err)
	}
	ch, err = c.UpdateFileTags(ctx, id, []string{"green"}, []string{"red"})
	if err != nil || !slices.Equal(sorted(ch.Tags), []string{"blue", "green"}) || !slices.Equal(ch.Deleted, []string{"red"}) {
		t.Fatalf("update tags: %+v %v", ch, err)
	}
	if tags, err := c.FileTags(ctx, id); err != nil || !slices.Equal(sorted(tags), []string{"blue", "green"}) {
		t.Fatalf("tags: %v %v", tags, err)
	}
	if ch, err := c.SetFileTags(ctx, id, nil); err != nil || len(ch.Tags) != 0 {
		t.Fatalf("clear tags: %+v %v", ch, err)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func TestGroups(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	ctx := context.Background()
	c := n.client(t, nil)
	ids := uploadSome(t, c, 3, ucare.StoreFalse)
	g, err := c.CreateGroup(ctx, []string{ids[0], ids[1] + "/-/resize/100x/", c.CDNURL(ids[2], nil)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(g.ID, "~3") || g.FilesCount != 3 || len(g.Files) != 3 || *g.Files[1].DefaultEffects != "resize/100x/" {
		t.Fatalf("created: %+v", g)
	}
	info, err := c.GroupInfo(ctx, g.ID)
	if err != nil || info.ID != g.ID || len(info.Files) != 3 || info.Files[2].UUID != ids[2] {
		t.Fatalf("info: %+v %v", info, err)
	}
	if pub, err := c.UploadGroupInfo(ctx, g.ID); err != nil || pub.FilesCount != 3 {
		t.Fatalf("upload API info: %+v %v", pub, err)
	}
	g2, _ := c.CreateGroup(ctx, ids[:1])
	g3, _ := c.CreateGroup(ctx, ids[1:])
	var listed []string
	for gr, err := range c.ListGroups(ctx, &ucare.ListGroupsOptions{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, gr.ID)
	}
	if !slices.Equal(listed, []string{g.ID, g2.ID, g3.ID}) {
		t.Fatalf("listed %v", listed)
	}
	var desc []string
	for gr, err := range c.ListGroups(ctx, &ucare.ListGroupsOptions{Ordering: "-datetime_created"}) {
		if err != nil {
			t.Fatal(err)
		}
		desc = append(desc, gr.ID)
	}
	if !slices.Equal(desc, []string{g3.ID, g2.ID, g.ID}) {
		t.Fatalf("descending %v", desc)
	}
	res, err := c.StoreGroup(ctx, g.ID)
	if err != nil || len(res.Files) != 3 {
		t.Fatalf("store group: %+v %v", res, err)
	}
	for _, id := range ids {
		if f, _ := c.FileInfo(ctx, id, nil); !f.IsStored() {
			t.Fatalf("%s not stored", id)
		}
	}
	if err := c.DeleteGroup(ctx, g2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GroupInfo(ctx, g2.ID); !ucare.IsNotFound(err) {
		t.Fatalf("deleted group: %v", err)
	}
	if _, err := c.CreateGroup(ctx, []string{"00000000-0000-4000-8000-000000000000"}); err == nil {
		t.Fatal("a group of unknown files was created")
	}
	if got, want := c.GroupMemberURL(g.ID, 1, ucare.NewTransformation().Resize(50, 0)), n.URL+"/"+g.ID+"/nth/1/-/resize/50x/"; got != want {
		t.Fatalf("member URL %s, want %s", got, want)
	}
}

func TestProjectAndWebhooks(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	ctx := context.Background()
	for _, auth := range []ucare.AuthScheme{ucare.AuthSigned, ucare.AuthSimple} {
		c := n.client(t, func(c *ucare.Config) { c.Auth = auth })
		p, err := c.Project(ctx)
		if err != nil || p.PubKey != testPub {
			t.Fatalf("auth %d: project %+v %v", auth, p, err)
		}
	}
	c := n.client(t, nil)
	secret := "s3cret"
	w, err := c.CreateWebhook(ctx, ucare.WebhookOptions{TargetURL: "https://example.com/hook", Event: ucare.EventFileUploaded, SigningSecret: &secret})
	if err != nil || w.ID == 0 || !w.IsActive || w.Event != ucare.EventFileUploaded || w.SigningSecret == nil || *w.SigningSecret != secret {
		t.Fatalf("create: %+v %v", w, err)
	}
	_, err = c.CreateWebhook(ctx, ucare.WebhookOptions{TargetURL: "https://example.com/hook", Event: ucare.EventFileUploaded})
	var dup *ucare.WebhookIsNotUnique
	var ir *ucare.InvalidRequestError
	if !errors.As(err, &dup) || !errors.As(err, &ir) || ir.StatusCode != 400 {
		t.Fatalf("duplicate: %v", err)
	}
	off := false
	w2, err := c.UpdateWebhook(ctx, w.ID, ucare.WebhookOptions{IsActive: &off, Event: ucare.EventFileStored})
	if err != nil || w2.IsActive || w2.Event != ucare.EventFileStored || w2.TargetURL != w.TargetURL {
		t.Fatalf("update: %+v %v", w2, err)
	}
	w3, err := c.CreateWebhook(ctx, ucare.WebhookOptions{TargetURL: "https://example.com/other", Event: ucare.EventFileDeleted})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.Webhooks(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %v %v", list, err)
	}
	if err := c.DeleteWebhook(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.UnsubscribeWebhook(ctx, w3.TargetURL); err != nil {
		t.Fatal(err)
	}
	if list, _ := c.Webhooks(ctx); len(list) != 0 {
		t.Fatalf("left: %v", list)
	}
	if err := c.DeleteWebhook(ctx, w.ID); !ucare.IsNotFound(err) {
		t.Fatalf("deleting again: %v", err)
	}
}

func TestRESTAuthErrors(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	ctx := context.Background()
	for _, auth := range []ucare.AuthScheme{ucare.AuthSigned, ucare.AuthSimple} {
		c := n.client(t, func(c *ucare.Config) { c.Auth = auth; c.SecretKey = "wrong" })
		_, err := c.Project(ctx)
		var ae *ucare.AuthenticationError
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized {
			t.Fatalf("auth %d: wrong secret: %v", auth, err)
		}
	}
	nosecret := n.client(t, func(c *ucare.Config) { c.SecretKey = "" })
	if _, err := nosecret.Project(ctx); !errors.Is(err, ucare.ErrSecretKeyRequired) {
		t.Fatalf("no secret: %v", err)
	}
	// Upload API calls need no secret.
	if _, err := nosecret.Upload(ctx, strings.NewReader("x"), nil); err != nil {
		t.Fatal(err)
	}
}

func TestAPIVersions(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	ctx := context.Background()
	c6 := n.client(t, func(c *ucare.Config) { c.APIVersion = "0.6" })
	id := uploadSome(t, c6, 1, ucare.StoreTrue)[0]
	f, err := c6.FileInfo(ctx, id, nil)
	if err != nil || f.UUID != id || f.ContentInfo != nil {
		t.Fatalf("0.6 file: %+v %v", f, err)
	}
	// Metadata is a 0.7 feature.
	if _, err := c6.FileMetadata(ctx, id); !ucare.IsNotFound(err) {
		t.Fatalf("0.6 metadata: %v", err)
	}
	c5 := n.client(t, func(c *ucare.Config) { c.APIVersion = "v0.5" })
	if _, err := c5.FileInfo(ctx, id, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ucare.NewClient(ucare.Config{PublicKey: "p", APIVersion: "0.4"}); err == nil {
		t.Fatal("version 0.4 accepted")
	}
}

func TestThrottling(t *testing.T) {
	t.Parallel()
	n := newNode(t, func(c *server.Config) { c.RateLimit = 1; c.RateBurst = 1 }, nil)
	ctx := context.Background()
	patient := n.client(t, nil)
	start := time.Now()
	for range 3 {
		if _, err := patient.Project(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if time.Since(start) < time.Second {
		t.Fatalf("three calls at 1/s took %v: Retry-After not honoured", time.Since(start))
	}
	impatient := n.client(t, func(c *ucare.Config) { c.RetryThrottled = -1 })
	var err error
	for range 3 {
		if _, err = impatient.Project(ctx); err != nil {
			break
		}
	}
	var te *ucare.ThrottledRequestError
	if !errors.As(err, &te) || te.RetryAfter < time.Second {
		t.Fatalf("want a ThrottledRequestError with Retry-After, got %v", err)
	}
	// The Upload API throttles too.
	for range 3 {
		if _, err = impatient.UploadInfo(ctx, "00000000-0000-4000-8000-000000000000"); errors.As(err, &te) {
			break
		}
	}
	if !errors.As(err, &te) || te.Code != "RequestThrottledError" {
		t.Fatalf("upload API throttling: %v", err)
	}
}

func TestNetworkRetryAndTimeout(t *testing.T) {
	t.Parallel()
	n := newNode(t, nil, nil)
	ctx := context.Background()
	ft := newFaulty(func(r *http.Request, seen int) bool { return r.URL.Path == "/project/" && seen <= 2 })
	c := n.client(t, func(c *ucare.Config) { c.HTTPClient = &http.Client{Transport: ft}; c.RetryBackoff = time.Millisecond })
	if _, err := c.Project(ctx); err != nil {
		t.Fatalf("retried request: %v", err)
	}
	if got := ft.count("GET /project/"); got != 3 {
		t.Fatalf("%d attempts, want 3", got)
	}
	ft2 := newFaulty(func(r *http.Request, seen int) bool { return true })
	c2 := n.client(t, func(c *ucare.Config) {
		c.HTTPClient = &http.Client{Transport: ft2}
		c.RetryBackoff = time.Millisecond
		c.RetryNetwork = -1
	})
	_, err := c2.Project(ctx)
	var ce *ucare.APIConnectionError
	if !errors.As(err, &ce) || ft2.count("GET /project/") != 1 {
		t.Fatalf("no retries: %v after %d attempts", err, ft2.count("GET /project/"))
	}
	// A server that answers too slowly.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	c3, _ := ucare.NewClient(ucare.Config{PublicKey: "p", SecretKey: "s", APIBase: slow.URL, Timeout: 100 * time.Millisecond, RetryNetwork: -1})
	_, err = c3.Project(ctx)
	var te *ucare.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("slow server: %v", err)
	}
}
