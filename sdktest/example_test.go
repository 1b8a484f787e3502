package sdktest

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/satchel-project/satchel/ucare"
)

// The examples of the SDK that talk to a Satchel: they run against the node
// TestMain starts at satchelURL (such as "http://127.0.0.1:8080" for
// `satchel serve`), whose demo project has the keys demopublickey /
// demosecretkey.

func Example_upload() {
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

func Example_clientUpload() {
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

func Example_listFiles() {
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

func Example_uploadFromURLAndWait() {
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

func Example_createGroup() {
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

func Example_createWebhook() {
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
