package securetoken

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/satchel-project/satchel/ucare/akamai"
)

const (
	secret  = "73636b61519adede42191efe1e73f02a67c7b692e3765f90c250c230be095211"
	exp1    = int64(1633997100)
	exp2    = int64(2015971200)
	fileID  = "52da3bfc-7cd8-4861-8b05-126fef7a6994"
	groupID = "3b278cee-47bd-4276-8d7d-9cde5902b18c~1"
)

func at(unix int64) time.Time { return time.Unix(unix, 0) }

func TestVerifyACL(t *testing.T) {
	exact, _ := akamai.ACLToken(secret, "/"+fileID+"/", exp1, false)
	wild, _ := akamai.ACLToken(secret, "/"+fileID+"/", exp1, true)
	ops, _ := akamai.ACLToken(secret, "/"+fileID+"/-/preview/400x400/", exp1, true)
	group, _ := akamai.ACLToken(secret, "/"+groupID+"/nth/0/", exp2, false)
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

// TestVerifyACLTildeDecoded: Python's requests and httpx send a group ACL's
// "%7e" as "~", the field separator; the token still verifies, for the
// paths its ACL covers only, and tampering still fails.
func TestVerifyACLTildeDecoded(t *testing.T) {
	exact, _ := akamai.ACLToken(secret, "/"+groupID+"/nth/0/", exp2, false)
	wild, _ := akamai.ACLToken(secret, "/"+groupID+"/", exp2, true)
	decoded := func(tok string) string { return strings.ReplaceAll(tok, "%7e", "~") }
	if decoded(exact) == exact || !strings.Contains(exact, "%7e") {
		t.Fatalf("group token without %%7e: %s", exact)
	}
	now := at(exp2)
	for _, c := range []struct {
		tok, path string
		want      error
	}{
		{decoded(exact), "/" + groupID + "/nth/0/", nil},
		{decoded(wild), "/" + groupID + "/nth/1/-/resize/4x/", nil},
		{decoded(exact), "/" + groupID + "/nth/1/", ErrPathNotAllowed},
		{decoded(wild), "/3b278cee-47bd-4276-8d7d-9cde5902b18c~2/nth/0/", ErrPathNotAllowed},
		{strings.Replace(decoded(exact), "~1/nth/0/", "~1/nth/1/", 1), "/" + groupID + "/nth/1/", ErrSignature},
		{strings.Replace(decoded(exact), "~hmac=", "~1/~hmac=", 1), "/" + groupID + "/nth/0/", ErrSignature},
	} {
		if err := Verify(secret, c.tok, c.path, now); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("Verify(%s, %s) = %v, want %v", c.tok, c.path, err, c.want)
		}
	}
}

func TestVerifyURL(t *testing.T) {
	tok, _ := akamai.URLToken(secret, "/"+fileID+"/", exp1)
	now := at(exp1)
	if err := Verify(secret, tok, "/"+fileID+"/", now); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := Verify(secret, tok, "/"+fileID+"/hello.txt", now); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong path: %v, want ErrSignature", err)
	}
	// Builders append "/" to the signed path of a file name.
	named, _ := akamai.URLToken(secret, "/"+fileID+"/hello.txt", exp1)
	if err := Verify(secret, named, "/"+fileID+"/hello.txt/", now); err != nil {
		t.Errorf("trailing slash after filename: %v", err)
	}
	g, _ := akamai.URLToken(secret, "/"+groupID+"/nth/0/", exp2)
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
	acl, _ := akamai.ACLToken(secret, "/"+fileID+"/", exp1, true)
	url, _ := akamai.URLToken(secret, "/"+fileID+"/", exp1)
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

// FuzzVerify checks that Verify never panics and only returns the
// documented errors.
func FuzzVerify(f *testing.F) {
	acl, _ := akamai.ACLToken(secret, "/"+fileID+"/", exp1, true)
	url, _ := akamai.URLToken(secret, "/"+fileID+"/", exp1)
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
