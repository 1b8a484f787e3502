package sniff

import (
	"bytes"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

func encode(t *testing.T, enc func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := enc(&b, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSniff(t *testing.T) {
	jpg := encode(t, func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) })
	pngb := encode(t, func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) })
	gifb := encode(t, func(b *bytes.Buffer, m image.Image) error { return gif.Encode(b, m, nil) })
	zip := []byte("PK\x03\x04\x14\x00\x00\x00\x00\x00")
	cases := []struct {
		name     string
		head     []byte
		file     string
		declared string
		want     string
	}{
		{"jpeg", jpg, "x.bin", "", "image/jpeg"},
		{"png", pngb, "", "text/plain", "image/png"},
		{"gif", gifb, "a.png", "", "image/gif"},
		{"zip", zip, "a.zip", "", "application/zip"},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), "doc", "", "application/pdf"},
		{"svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"></svg>`), "a.txt", "", "image/svg+xml"},
		{"text by extension", []byte("just some words\nand more\n"), "notes.TXT", "", "text/plain"},
		{"text declared", []byte("just some words\nand more\n"), "notes", "text/plain; charset=utf-8", "text/plain"},
		{"text neither named nor declared", []byte("hello"), "tmpx57i2oot", "application/octet-stream", "application/octet-stream"},
		{"text of an unknown extension", []byte("0123456789\n"), "Test_ABA_20210909.aba", "", "application/octet-stream"},
		{"text as csv by name", []byte("just some words\n"), "data.CSV", "", "text/csv"},
		{"markdown by name", []byte("# Title\n"), `C:\docs\read.me.md`, "application/octet-stream", "text/markdown"},
		{"dot file is no extension", []byte("x=1\n"), ".csv", "", "application/octet-stream"},
		{"binary", []byte{0x00, 0x01, 0x02, 0x03, 0xFE, 0xFF, 0x10, 0x00}, "a.csv", "text/csv", "application/octet-stream"},
		{"long head", append(bytes.Repeat([]byte("a"), Len), 0, 1, 2), "a.txt", "", "text/plain"},
		{"empty", nil, "", "", "application/octet-stream"},
		{"empty text file", nil, "empty.txt", "", "text/plain"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Sniff(c.head, c.file, c.declared); got != c.want {
				t.Errorf("Sniff = %q, want %q", got, c.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Text/Plain; charset=utf-8": "text/plain",
		" image/PNG ":               "image/png",
		"":                          "application/octet-stream",
		"image":                     "application/octet-stream",
		"/png":                      "application/octet-stream",
		"image/":                    "application/octet-stream",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
