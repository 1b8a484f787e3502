package securetoken

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	secret  = "73636b61519adede42191efe1e73f02a67c7b692e3765f90c250c230be095211"
	exp1    = int64(1633997100)
	exp2    = int64(2015971200)
	fileID  = "52da3bfc-7cd8-4861-8b05-126fef7a6994"
	groupID = "3b278cee-47bd-4276-8d7d-9cde5902b18c~1"
)

func at(unix int64) time.Time { return time.Unix(unix, 0) }

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

func TestVerifyACL(t *testing.T) {
	exact, _ := ACLToken(secret, "/"+fileID+"/", exp1, false)
	wild, _ := ACLToken(secret, "/"+fileID+"/", exp1, true)
	ops, _ := ACLToken(secret, "/"+fileID+"/-/preview/400x400/", exp1, true)
	group, _ := ACLToken(secret, "/"+groupID+"/nth/0/", exp2, false)
	now := at(exp1 - 100)
	ok := []struct{ tok, path string }{
		{exact, "/" + fileID + "/"},
		{exact, "/" + fileID},
		{wild, "/" + fileID + "/"},
		{wild, "/" + fileID + "/hello.txt"},
		{wild, "/" + fileID + "/-/resize/10x/"},
		{ops, "/" + fileID + "/-/preview/400x400/"},
		{ops, "/" + fileID + "/-/preview/400x400/hello.txt"},
		{group, "/" + groupID + "/nth/0/"},
		{group, "/3b278cee-47bd-4276-8d7d-9cde5902b18c%7e1/nth/0/"},
		{group, "/3b278cee-47bd-4276-8d7d-9cde5902b18c%7E1/nth/0/"},
	}
	for _, c := range ok {
		n := now
		if c.tok == group {
			n = at(exp2)
		}
		if err := Verify(secret, c.tok, c.path, n); err != nil {
			t.Errorf("Verify(%s, %s) = %v, want ok", c.tok, c.path, err)
		}
	}
	bad := []struct {
		tok, path string
		want      error
	}{
		{exact, "/" + fileID + "/hello.txt", ErrPathNotAllowed},
		{exact, "/" + fileID + "/-/preview/", ErrPathNotAllowed},
		{wild, "/52da3bfc-7cd8-4861-8b05-126fef7a6995/", ErrPathNotAllowed},
		{wild, "/" + fileID + "x/", ErrPathNotAllowed},
		{wild, "/" + fileID + "/../other/", ErrPathNotAllowed},
		{wild, "/" + fileID + "/%2e%2E/other/", ErrPathNotAllowed},
		{ops, "/" + fileID + "/", ErrPathNotAllowed},
		{ops, "/" + fileID + "/-/preview/4000x4000/", ErrPathNotAllowed},
		{group, "/3b278cee-47bd-4276-8d7d-9cde5902b18c~1/nth/1/", ErrPathNotAllowed},
	}
	for _, c := range bad {
		n := now
		if c.tok == group {
			n = at(exp2)
		}
		if err := Verify(secret, c.tok, c.path, n); !errors.Is(err, c.want) {
			t.Errorf("Verify(%s, %s) = %v, want %v", c.tok, c.path, err, c.want)
		}
	}
}

func TestVerifyURL(t *testing.T) {
	tok, _ := URLToken(secret, "/"+fileID+"/", exp1)
	now := at(exp1)
	if err := Verify(secret, tok, "/"+fileID+"/", now); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := Verify(secret, tok, "/"+fileID+"/hello.txt", now); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong path: %v, want ErrSignature", err)
	}
	// Builders append "/" to the signed path of a file name.
	named, _ := URLToken(secret, "/"+fileID+"/hello.txt", exp1)
	if err := Verify(secret, named, "/"+fileID+"/hello.txt/", now); err != nil {
		t.Errorf("trailing slash after filename: %v", err)
	}
	g, _ := URLToken(secret, "/"+groupID+"/nth/0/", exp2)
	if err := Verify(secret, g, "/"+groupID+"/nth/0/", at(exp2-1)); err != nil {
		t.Errorf("group URL token: %v", err)
	}
	if err := Verify(secret, g, "/3b278cee-47bd-4276-8d7d-9cde5902b18c%7E1/nth/0/", at(exp2-1)); err != nil {
		t.Errorf("group URL token, escaped tilde: %v", err)
	}
	if err := Verify(secret, g, "/"+groupID+"/nth/1/", at(exp2-1)); !errors.Is(err, ErrSignature) {
		t.Errorf("group URL token, other member: %v", err)
	}
	if err := Verify(secret, g, "/"+groupID+"/nth/0/", at(exp2+1)); !errors.Is(err, ErrExpired) {
		t.Errorf("expired group URL token: %v", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	acl, _ := ACLToken(secret, "/"+fileID+"/", exp1, true)
	url, _ := URLToken(secret, "/"+fileID+"/", exp1)
	path := "/" + fileID + "/"
	flip := func(tok string) string { // change the last hmac digit
		last := tok[len(tok)-1]
		r := byte('0')
		if last == '0' {
			r = '1'
		}
		return tok[:len(tok)-1] + string(r)
	}
	otherSecret := strings.Repeat("ab", 32)
	tests := []struct {
		name, secret, tok, path string
		now                     int64
		want                    error
	}{
		{"acl expired", secret, acl, path, exp1 + 1, ErrExpired},
		{"url expired", secret, url, path, exp1 + 1, ErrExpired},
		{"acl tampered hmac", secret, flip(acl), path, exp1, ErrSignature},
		{"url tampered hmac", secret, flip(url), path, exp1, ErrSignature},
		{"acl tampered exp", secret, strings.Replace(acl, "exp=1633997100", "exp=1933997100", 1), path, exp1, ErrSignature},
		{"acl widened", secret, strings.Replace(acl, "acl=/"+fileID+"/*", "acl=/*", 1), "/other/", exp1, ErrSignature},
		{"url tampered exp", secret, strings.Replace(url, "exp=1633997100", "exp=1933997100", 1), path, exp1, ErrSignature},
		{"url wrong path", secret, url, "/52da3bfc-7cd8-4861-8b05-126fef7a6995/", exp1, ErrSignature},
		{"wrong secret", otherSecret, acl, path, exp1, ErrSignature},
		{"empty", secret, "", path, exp1, ErrMalformed},
		{"garbage", secret, "hello", path, exp1, ErrMalformed},
		{"no hmac", secret, "exp=1633997100~acl=/x/", path, exp1, ErrMalformed},
		{"no exp", secret, "acl=/x/~hmac=" + strings.Repeat("0", 64), path, exp1, ErrMalformed},
		{"short hmac", secret, "exp=1633997100~hmac=abcd", path, exp1, ErrMalformed},
		{"non-hex hmac", secret, "exp=1633997100~hmac=" + strings.Repeat("z", 64), path, exp1, ErrMalformed},
		{"bad exp", secret, "exp=soon~hmac=" + strings.Repeat("0", 64), path, exp1, ErrMalformed},
		{"duplicate", secret, "exp=1~exp=2~hmac=" + strings.Repeat("0", 64), path, exp1, ErrMalformed},
		{"hmac not last", secret, "hmac=" + strings.Repeat("0", 64) + "~exp=1", path, exp1, ErrMalformed},
		{"unsupported field", secret, "ip=1.2.3.4~exp=1~hmac=" + strings.Repeat("0", 64), path, exp1, ErrMalformed},
		{"bad secret", "zz", acl, path, exp1, ErrMalformed},
		{"relative path", secret, acl, fileID + "/", exp1, ErrMalformed},
	}
	for _, tc := range tests {
		err := Verify(tc.secret, tc.tok, tc.path, at(tc.now))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
	// Distinct errors.
	all := []error{ErrMalformed, ErrExpired, ErrSignature, ErrPathNotAllowed}
	for i := range all {
		for j := range all {
			if i != j && errors.Is(all[i], all[j]) {
				t.Errorf("%v is %v", all[i], all[j])
			}
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

// FuzzVerify checks that Verify never panics and only returns the
// documented errors.
func FuzzVerify(f *testing.F) {
	acl, _ := ACLToken(secret, "/"+fileID+"/", exp1, true)
	url, _ := URLToken(secret, "/"+fileID+"/", exp1)
	f.Add(acl, "/"+fileID+"/x")
	f.Add(url, "/"+fileID+"/")
	f.Add("exp=1~st=0~acl=/*~hmac=00", "/")
	f.Fuzz(func(t *testing.T, tok, path string) {
		err := Verify(secret, tok, path, at(exp1))
		if err == nil {
			return
		}
		for _, e := range []error{ErrMalformed, ErrExpired, ErrSignature, ErrPathNotAllowed} {
			if errors.Is(err, e) {
				return
			}
		}
		t.Fatalf("Verify(%q, %q) = %v: not a documented error", tok, path, err)
	})
}
