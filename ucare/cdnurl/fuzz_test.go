package cdnurl

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that errors are *ParseError,
// and that the canonical path of anything it accepts parses again to the
// same canonical path (and likewise ParseOps/FormatOps).
func FuzzParse(f *testing.F) {
	for _, s := range builderFixtures {
		f.Add("/" + uid + "/-/" + s)
		f.Add(s)
	}
	for _, p := range builderPaths {
		f.Add(p)
	}
	for _, c := range pathCases {
		f.Add(c.in)
	}
	for _, c := range opCases {
		f.Add("/" + uid + "/-/" + c.in)
	}
	for _, c := range annotationCases {
		f.Add(c.in)
	}
	f.Add("resize/10x/-/@clib/a/1/b/")
	f.Fuzz(func(t *testing.T, in string) {
		tg, err := Parse(in)
		var pe *ParseError
		if err != nil {
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T is not *ParseError", in, err)
			}
		} else {
			p := tg.Path()
			again, err := Parse(p)
			if err != nil {
				t.Fatalf("Parse(%q).Path() = %q does not parse: %v", in, p, err)
			}
			if p2 := again.Path(); p2 != p {
				t.Fatalf("not idempotent: %q → %q → %q", in, p, p2)
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
		if err != nil {
			t.Fatalf("ParseOps(%q) → %q does not parse: %v", in, s, err)
		}
		if s2 := FormatOps(ops2); s2 != s {
			t.Fatalf("ops not idempotent: %q → %q → %q", in, s, s2)
		}
	})
}
