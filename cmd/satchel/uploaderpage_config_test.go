package main

import "testing"

func TestParseServeUploaderPage(t *testing.T) {
	c, err := parseServe(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.UploaderPage {
		t.Fatal("the upload page is off by default")
	}
	t.Setenv("SATCHEL_UPLOADER_PAGE", "0")
	if c, err = parseServe(nil); err != nil || c.UploaderPage {
		t.Fatalf("SATCHEL_UPLOADER_PAGE=0: %v %v", c.UploaderPage, err)
	}
	if c, err = parseServe([]string{"--uploader-page=true"}); err != nil || !c.UploaderPage {
		t.Fatalf("--uploader-page=true over the env: %v %v", c.UploaderPage, err)
	}
}
