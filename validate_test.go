package satchel

import (
	"strings"
	"testing"
)

func TestSanitizeFilename(t *testing.T) {
	for in, want := range map[string]string{
		"instellar_logo_main (1).png": "instellar_logo_main1.png",
		"IMG-0412_123.JPG":            "IMG0412_123.JPG",
		"1631871920988..jpg":          "1631871920988.jpg",
		"Резюме.pdf":                  "noroot.pdf",
		"/var/folders/x/big_file.txt": "big_file.txt",
		`C:\Users\me\photo.jpeg`:      "photo.jpeg",
		"../../etc/passwd":            "passwd",
		"noext":                       "noext",
		"":                            "noroot",
		"a\x00b.txt":                  "ab.txt",
		"archive.tar.gz":              "archivetar.gz",
	} {
		if got := SanitizeFilename(in); got != want {
			t.Errorf("SanitizeFilename(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateMetadata(t *testing.T) {
	cases := []struct {
		md     map[string]string
		reason Reason
	}{
		{map[string]string{"subsystem": "uploader", "a.b:c-d_e": "x"}, ""},
		{map[string]string{"": "x"}, ReasonMetaKeyEmpty},
		{map[string]string{strings.Repeat("k", 65): "x"}, ReasonMetaKeyTooLong},
		{map[string]string{"bad key": "x"}, ReasonMetaKeyForbidden},
		{map[string]string{"k": ""}, ReasonMetaValueEmpty},
		{map[string]string{"k": strings.Repeat("v", 513)}, ReasonMetaValueTooLong},
		{map[string]string{"k": "a\x00b"}, ReasonMetaValueForbidden},
	}
	for _, c := range cases {
		err := ValidateMetadata(c.md)
		if c.reason == "" {
			if err != nil {
				t.Errorf("%v: unexpected %v", c.md, err)
			}
			continue
		}
		if err == nil || AsError(err).Reason != c.reason {
			t.Errorf("%v: got %v, want %s", c.md, err, c.reason)
		}
	}
	many := map[string]string{}
	for i := 0; i < 51; i++ {
		many[strings.Repeat("k", i+1)] = "v"
	}
	if err := ValidateMetadata(many); err == nil || AsError(err).Reason != ReasonMetaTooManyKeys {
		t.Errorf("51 keys: got %v", err)
	}
}

func TestParseTags(t *testing.T) {
	got, err := ParseTags(" Cat, dog,,cat , a.b-c_d ")
	if err != nil || strings.Join(got, "|") != "cat|dog|a.b-c_d" {
		t.Fatalf("got %v %v", got, err)
	}
	if _, err := ParseTags("bad tag"); err == nil {
		t.Fatal("space in tag accepted")
	}
	if _, err := ParseTags(strings.Repeat("t", 101)); err == nil {
		t.Fatal("long tag accepted")
	}
}

func TestMimeAllowed(t *testing.T) {
	if !MimeAllowed(nil, "x/y") || !MimeAllowed([]string{"image/*"}, "image/png") || MimeAllowed([]string{"image/*"}, "text/plain") || !MimeAllowed([]string{"application/pdf"}, "application/pdf") {
		t.Fatal("MimeAllowed wrong")
	}
}
