package ucare_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/satchel-project/satchel/ucare"
	"github.com/satchel-project/satchel/ucare/cdnurl"
)

// The examples that talk to a running Satchel are run by the server
// module's tests (package sdktest); the ones here need no server, or (no
// Output) are only compiled.

// exampleClient is a client for `satchel serve` on its default address,
// whose demo project has the keys demopublickey / demosecretkey.
func exampleClient() *ucare.Client {
	c, err := ucare.NewClient(ucare.Config{
		PublicKey: "demopublickey", SecretKey: "demosecretkey",
		UploadBase: "http://127.0.0.1:8080", APIBase: "http://127.0.0.1:8080", CDNBase: "http://127.0.0.1:8080",
	})
	if err != nil {
		log.Fatal(err)
	}
	return c
}

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
