package akamai

import (
	"strconv"
	"testing"
)

const (
	secret  = "73636b61519adede42191efe1e73f02a67c7b692e3765f90c250c230be095211"
	exp1    = int64(1633997100)
	exp2    = int64(2015971200)
	fileID  = "52da3bfc-7cd8-4861-8b05-126fef7a6994"
	groupID = "3b278cee-47bd-4276-8d7d-9cde5902b18c~1"
)

func TestACLTokenVectors(t *testing.T) {
	tests := []struct {
		path     string
		exp      int64
		wildcard bool
		acl      string
		hmac     string
	}{
		{"/" + fileID + "/", exp1, false, "/" + fileID + "/",
			"81852547d9dbd9eefd24bee2cada6eab02244b9013533bc8511511923098df72"},
		{"/" + fileID + "/", exp1, true, "/" + fileID + "/*",
			"b2c7526a29d0588b121aa78bc2b2c9399bfb6e1cad3d95397efed722fdbc5a78"},
		{"/" + fileID + "/-/resize/640x/other/transformations/", exp1, false,
			"/" + fileID + "/-/resize/640x/other/transformations/",
			"a3ae2b3e3adfcb5d41ca753598e19d17264ac87d2b0b828ccdac5136e63f2f1a"},
		{"/" + groupID + "/nth/0/", exp2, false,
			"/3b278cee-47bd-4276-8d7d-9cde5902b18c%7e1/nth/0/",
			"9df9a86460fab102dd0ecb4a36980a1f932b6ce5cf4bdc0307906451fcf8978e"},
		// Handles without slashes or as full URLs sign the same ACL.
		{fileID, exp1, false, "/" + fileID + "/",
			"81852547d9dbd9eefd24bee2cada6eab02244b9013533bc8511511923098df72"},
		{"https://cdn.example.com/" + fileID + "/?x=1", exp1, true, "/" + fileID + "/*",
			"b2c7526a29d0588b121aa78bc2b2c9399bfb6e1cad3d95397efed722fdbc5a78"},
	}
	for _, tc := range tests {
		tok, err := ACLToken(secret, tc.path, tc.exp, tc.wildcard)
		if err != nil {
			t.Fatalf("ACLToken(%q): %v", tc.path, err)
		}
		want := "exp=" + itoa(tc.exp) + "~acl=" + tc.acl + "~hmac=" + tc.hmac
		if tok != want {
			t.Errorf("ACLToken(%q, %v)\n got %s\nwant %s", tc.path, tc.wildcard, tok, want)
		}
	}
}

func TestURLTokenVectors(t *testing.T) {
	tests := []struct {
		path string
		exp  int64
		hmac string
	}{
		{"/" + fileID + "/", exp1, "25c485fd7f85c19704013673c80d2a86df1b4241fb44cdfa7b7762cb27ef3f57"},
		{"/" + groupID + "/nth/0/", exp2, "3d18d965fbf5d93e434c11ca209e2a7068b50b00962ebf7a19eae357a098bdd2"},
		{fileID + "/", exp1, "25c485fd7f85c19704013673c80d2a86df1b4241fb44cdfa7b7762cb27ef3f57"},
	}
	for _, tc := range tests {
		tok, err := URLToken(secret, tc.path, tc.exp)
		if err != nil {
			t.Fatalf("URLToken(%q): %v", tc.path, err)
		}
		if want := "exp=" + itoa(tc.exp) + "~hmac=" + tc.hmac; tok != want {
			t.Errorf("URLToken(%q)\n got %s\nwant %s", tc.path, tok, want)
		}
	}
}

func TestEscapeURL(t *testing.T) {
	tests := map[string]string{
		"/" + fileID + "/":         "%2f" + fileID + "%2f",
		"/" + groupID + "/nth/0/":  "%2f3b278cee-47bd-4276-8d7d-9cde5902b18c%7e1%2fnth%2f0%2f",
		"/a b,c:d/é_.-":            "%2fa+b,c%3ad%2f%c3%a9_.-",
		"/x/-/crop/50p,50p/%20y?z": "%2fx%2f-%2fcrop%2f50p,50p%2f%2520y%3fz",
	}
	for in, want := range tests {
		if got := EscapeURL(in); got != want {
			t.Errorf("EscapeURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBuilderErrors(t *testing.T) {
	if _, err := ACLToken("nothex", "/x/", 1, false); err == nil {
		t.Error("ACLToken accepted a non-hex secret")
	}
	if _, err := ACLToken(secret, "/", 1, false); err == nil {
		t.Error("ACLToken accepted an empty path")
	}
	if _, err := URLToken(secret, "", 1); err == nil {
		t.Error("URLToken accepted an empty path")
	}
	if _, err := URLToken(secret, "/x/", 0); err == nil {
		t.Error("URLToken accepted exp 0")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
