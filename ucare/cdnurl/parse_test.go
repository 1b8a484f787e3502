package cdnurl

import (
	"errors"
	"testing"
)

// The server module's sdktest.FuzzGrammarsAgree checks this grammar against
// the CDN's on every case of the CDN parser's tests; these tests only check
// that it is consistent on its own.

const uid = "22240276-2f06-41f8-9411-755c8ce926ed"

var seeds = []string{
	"crop/2000x1325/center/",
	"setfill/ece3d2/-/format/jpeg/",
	"preview/440x440/-/text_align/right/bottom/-/font/20/fff/-/text_box/fill/fcba0355/-/text/80px80p/center/Up~~load~nca~sre%20%F0%9F%91%8D/",
	"preview/-/enhance/-/sharp/-/blur/-/filter/galen/-/main_colors/",
	"overlay/b18b5179-ae5d-4a2e-9ef6-4f2b1c2c1b0a/50px50p/center/50p/",
	"/" + uid + "/-/resize/800x/-/quality/smart/photo.jpg",
	"/" + uid + "~2/nth/1/-/flip/",
	"/" + uid + "~2/archive/zip/all.zip",
	"/" + uid + "/detect_faces/",
	"/" + uid + "/gif2video/-/format/webm/",
	"json/-/flip/",
	"rotate/45/",
}

func TestParseSeeds(t *testing.T) {
	for _, s := range seeds[:6] {
		in := s
		if in[0] != '/' {
			in = "/" + uid + "/-/" + s
		}
		if _, err := Parse(in); err != nil {
			t.Errorf("Parse(%q): %v", in, err)
		}
	}
	for _, bad := range seeds[len(seeds)-2:] {
		if _, err := ParseOps(bad); err == nil {
			t.Errorf("ParseOps(%q) accepted", bad)
		}
	}
}

// FuzzParse checks that Parse and ParseOps never panic, that errors are
// *ParseError, and that the canonical form of anything accepted parses
// again to the same canonical form.
func FuzzParse(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
		f.Add("/" + uid + "/-/" + s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var pe *ParseError
		if tg, err := Parse(in); err != nil {
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T is not *ParseError", in, err)
			}
		} else {
			p := tg.Path()
			again, err := Parse(p)
			if err != nil || again.Path() != p {
				t.Fatalf("Parse(%q).Path() = %q parses to %v, %v", in, p, again, err)
			}
		}
		ops, err := ParseOps(in)
		if err != nil {
			if !errors.As(err, &pe) {
				t.Fatalf("ParseOps(%q) error %T is not *ParseError", in, err)
			}
			return
		}
		s := FormatOps(ops)
		ops2, err := ParseOps(s)
		if err != nil || FormatOps(ops2) != s {
			t.Fatalf("ParseOps(%q) → %q parses to %v, %v", in, s, ops2, err)
		}
	})
}
