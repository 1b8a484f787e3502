package ucare_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/satchel-project/satchel/cdnurl"
	"github.com/satchel-project/satchel/ucare"
)

// The examples talk to a Satchel the tests start at satchelURL (such as
// "http://127.0.0.1:8080" for `satchel serve`), whose demo project has the
// keys demopublickey / demosecretkey.

// Uploading a file and reading it back through the REST API.
func Example() {
	ctx := context.Background()
	client, err := ucare.NewClient(ucare.Config{
		PublicKey:  "demopublickey",
		SecretKey:  "demosecretkey",
		UploadBase: satchelURL,
		APIBase:    satchelURL,
		CDNBase:    satchelURL,
	})
	if err != nil {
		log.Fatal(err)
	}
	f, err := client.Upload(ctx, strings.NewReader("hello, world\n"), &ucare.UploadOptions{
		Filename: "hello.txt",
		Store:    ucare.StoreTrue,
		Metadata: map[string]string{"origin": "example"},
	})
	if err != nil {
		log.Fatal(err)
	}
	info, err := client.FileInfo(ctx, f.UUID, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.OriginalFilename, info.Size, info.MimeType, info.IsStored(), info.Metadata["origin"])
	fmt.Println(client.CDNURL(f.UUID, nil) == satchelURL+"/"+f.UUID+"/")
	// Output:
	// hello.txt 13 text/plain true example
	// true
}

func exampleClient() *ucare.Client {
	c, err := ucare.NewClient(ucare.Config{
		PublicKey: "demopublickey", SecretKey: "demosecretkey",
		UploadBase: satchelURL, APIBase: satchelURL, CDNBase: satchelURL,
	})
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// Uploads report their progress; files from 10 MiB go up as multipart
// uploads with parts in parallel.
func ExampleClient_Upload() {
	client := exampleClient()
	data := strings.NewReader(strings.Repeat("x", 12<<20))
	var last ucare.Progress
	f, err := client.Upload(context.Background(), data, &ucare.UploadOptions{
		Filename: "big.bin",
		Progress: func(p ucare.Progress) { last = p },
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.OriginalFilename, f.Size, last.Done == last.Total)
	// Output: big.bin 12582912 true
}

// A multipart upload that failed can be resumed: only the missing parts go
// up again.
func ExampleMultipartUploadError() {
	client := exampleClient()
	fh, err := os.Open("video.mp4")
	if err != nil {
		log.Fatal(err)
	}
	defer fh.Close()
	f, err := client.Upload(context.Background(), fh, nil)
	var me *ucare.MultipartUploadError
	for tries := 0; errors.As(err, &me) && tries < 3; tries++ {
		log.Printf("%v; resuming", err)
		f, err = me.Upload.Resume(context.Background(), fh, nil)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.UUID)
}

// ListFiles iterates over every page of the file list.
func ExampleClient_ListFiles() {
	client := exampleClient()
	ctx := context.Background()
	for i := range 3 {
		name := fmt.Sprintf("list-example-%d.txt", i)
		if _, err := client.Upload(ctx, strings.NewReader(name), &ucare.UploadOptions{Filename: name, Store: ucare.StoreTrue}); err != nil {
			log.Fatal(err)
		}
	}
	stored := true
	for f, err := range client.ListFiles(ctx, &ucare.ListFilesOptions{Stored: &stored, Limit: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		if strings.HasPrefix(f.OriginalFilename, "list-example-") {
			fmt.Println(f.OriginalFilename)
		}
	}
	// Output:
	// list-example-0.txt
	// list-example-1.txt
	// list-example-2.txt
}

// Uploading from a URL and waiting for the file.
func ExampleClient_UploadFromURLAndWait() {
	client := exampleClient()
	f, err := client.UploadFromURLAndWait(context.Background(), sourceURL, &ucare.FromURLOptions{
		Store:   ucare.StoreTrue,
		Timeout: time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.OriginalFilename, f.Size)
	// Output: greeting.txt 19
}

// Groups are made of files, optionally with CDN operations per member.
func ExampleClient_CreateGroup() {
	client := exampleClient()
	ctx := context.Background()
	var members []string
	for _, s := range []string{"first", "second"} {
		f, err := client.Upload(ctx, strings.NewReader(s), nil)
		if err != nil {
			log.Fatal(err)
		}
		members = append(members, f.UUID)
	}
	members[1] += "/-/resize/200x/"
	g, err := client.CreateGroup(ctx, members)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.FilesCount, strings.HasSuffix(g.ID, "~2"), *g.Files[1].DefaultEffects)
	// Store every member (batch store, 100 per request).
	res, err := client.StoreGroup(ctx, g.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.Files), "stored")
	// Output:
	// 2 true resize/200x/
	// 2 stored
}

// Subscribing twice to the same event gives a *WebhookIsNotUnique.
func ExampleClient_CreateWebhook() {
	client := exampleClient()
	ctx := context.Background()
	opts := ucare.WebhookOptions{TargetURL: "https://example.com/uploads", Event: ucare.EventFileUploaded}
	w, err := client.CreateWebhook(ctx, opts)
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.CreateWebhook(ctx, opts)
	var dup *ucare.WebhookIsNotUnique
	fmt.Println(w.Event, w.IsActive, errors.As(err, &dup))
	if err := client.DeleteWebhook(ctx, w.ID); err != nil {
		log.Fatal(err)
	}
	// Output: file.uploaded true true
}

// The transformation builder makes the CDN's own operations.
func ExampleTransformation() {
	client, _ := ucare.NewClient(ucare.Config{PublicKey: "demopublickey", CDNBase: "https://cdn.example.com"})
	t := ucare.NewTransformation().
		ScaleCrop(400, 300, ucare.Aligned(cdnurl.AlignCenter)).
		Quality("smart").
		Format("webp")
	if err := t.Err(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(client.CDNURL("22240276-2f06-41f8-9411-755c8ce926ed", t))
	// Output: https://cdn.example.com/22240276-2f06-41f8-9411-755c8ce926ed/-/scale_crop/400x300/center/-/quality/smart/-/format/webp/
}

// Secure URLs with an Akamai ACL token.
func ExampleAkamaiACLURLBuilder() {
	b := &ucare.AkamaiACLURLBuilder{
		CDNBase: "https://cdn.example.com",
		Secret:  "73636b61519adede42191efe1e73f02a67c7b692e3765f90c250c230be095211",
		Window:  5 * time.Minute,
		Now:     func() time.Time { return time.Unix(1633996800, 0) },
	}
	u, err := b.SecureURL("52da3bfc-7cd8-4861-8b05-126fef7a6994")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u)
	// Output: https://cdn.example.com/52da3bfc-7cd8-4861-8b05-126fef7a6994/?token=exp=1633997100~acl=/52da3bfc-7cd8-4861-8b05-126fef7a6994/~hmac=81852547d9dbd9eefd24bee2cada6eab02244b9013533bc8511511923098df72
}

// Typed conversion paths for ConvertDocuments and ConvertVideos.
func ExampleVideoConversion_Path() {
	p, err := ucare.VideoConversion{
		File: "740e1b8c-1ad8-4324-b7ec-112c79d8eac2", Format: "webm",
		Width: 640, Height: 480, ResizeMode: "add_padding", Thumbs: 2,
	}.Path()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p)
	d, _ := ucare.DocumentConversion{File: "a6efd840-076f-4227-9073-bbaef16cfe35", Format: "jpg", Page: 2}.Path()
	fmt.Println(d)
	// Output:
	// 740e1b8c-1ad8-4324-b7ec-112c79d8eac2/video/-/format/webm/-/size/640x480/add_padding/-/thumbs~2/
	// a6efd840-076f-4227-9073-bbaef16cfe35/document/-/format/jpg/-/page/2/
}

// Converting a document and waiting for the result (Satchel does not convert
// documents yet; this runs against Uploadcare).
func ExampleClient_ConvertDocuments() {
	client := exampleClient()
	ctx := context.Background()
	p, _ := ucare.DocumentConversion{File: "a6efd840-076f-4227-9073-bbaef16cfe35", Format: "pdf"}.Path()
	res, err := client.ConvertDocuments(ctx, []string{p}, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, job := range res.Jobs {
		st, err := client.WaitDocumentConversion(ctx, job.Token, &ucare.WaitOptions{Timeout: 5 * time.Minute})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(client.CDNURL(st.Result.UUID, nil))
	}
}
