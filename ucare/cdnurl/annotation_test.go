package cdnurl

import (
	"strings"
	"testing"
)

// annotationCases are CDN paths carrying "-/@…/" annotation groups, as the
// Uploadcare uploader's image editor and uc-img elements emit them, with
// the canonical path each must parse to.
var annotationCases = []struct{ in, want string }{
	{"/" + uid + "/-/resize/10x/-/@clib/blocks/1.2.0/uc-cloud-image-editor/", "/" + uid + "/-/resize/10x/"},
	{"/" + uid + "/-/@clib/blocks/1.2.0/uc-img/", "/" + uid + "/"},
	{"/" + uid + "/-/format/auto/-/progressive/yes/-/brightness/50/-/quality/normal/-/stretch/off/-/resize/800x/-/@clib/blocks/1.2.0/uc-cloud-image-editor/",
		"/" + uid + "/-/format/auto/-/progressive/yes/-/brightness/50/-/quality/normal/-/stretch/off/-/resize/800x/"},
	{"/" + uid + "/-/@clib/uc-img/1.0/uc-img/-/preview/100x100/", "/" + uid + "/-/preview/100x100/"},
	{"/" + uid + "/-/resize/10x/-/@clib/a/1/b/photo.jpg", "/" + uid + "/-/resize/10x/photo.jpg"},
	{"/" + uid + "/-/@finfo/", "/" + uid + "/"},
	{"/" + uid + "/-/%40clib/a/", "/" + uid + "/"},
	{"/" + uid + "/-/json/-/@clib/a/1/b/", "/" + uid + "/-/json/"},
	{"/" + uid + "/gif2video/-/format/mp4/-/@clib/a/1/b/", "/" + uid + "/gif2video/-/format/mp4/"},
	{"/" + gid + "/nth/1/-/@clib/a/1/b/-/resize/256x/", "/" + gid + "/nth/1/-/resize/256x/"},
}

func TestAnnotationGroupsDropped(t *testing.T) {
	for _, c := range annotationCases {
		tg, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := tg.Path(); got != c.want {
			t.Errorf("Parse(%q).Path() = %q, want %q", c.in, got, c.want)
		}
		plain, err := Parse(c.want)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.want, err)
		}
		if FormatOps(tg.Ops) != FormatOps(plain.Ops) {
			t.Errorf("Parse(%q) ops %q, want %q", c.in, FormatOps(tg.Ops), FormatOps(plain.Ops))
		}
	}
	// The variant cache keys on FormatOps: an annotated list shares it.
	ops, err := ParseOps("resize/10x/-/@clib/a/1/b/")
	if err != nil || FormatOps(ops) != "resize/10x/" {
		t.Errorf("ParseOps with annotation = %q, %v", FormatOps(ops), err)
	}
	ops, err = ParseOps("-/@clib/a/1/b/")
	if err != nil || len(ops) != 0 {
		t.Errorf("ParseOps of an annotation alone = %q, %v", FormatOps(ops), err)
	}
	// Annotations do not relax the grammar around them.
	for _, in := range []string{
		"/" + uid + "/-/@clib/a/-/-/resize/10x/",
		"/" + uid + "/-/json/-/@clib/a/-/preview/",
		"/" + uid + "/-/resize/banana/-/@clib/a/",
		"/" + gid + "/-/@clib/a/",
		"/" + uid + "/@clib/a/",
	} {
		if tg, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %q, want an error", in, tg.Path())
		}
	}
	if _, err := Parse("/" + uid + "/-/clib/a/"); err == nil || !strings.Contains(err.Error(), "unknown operation") {
		t.Errorf("an operation without @ is still checked: %v", err)
	}
}
