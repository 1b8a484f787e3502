// Package securetoken verifies the Akamai-style delivery tokens the CDN
// accepts in the "token" query parameter. The tokens are built (and their
// format described) by the SDK's akamai package, which the verifier shares
// for the key, the HMAC and the URL escaping.
package securetoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/satchel-project/satchel/ucare/akamai"
)

// Verification errors; Verify wraps them with detail, test with errors.Is.
var (
	// ErrMalformed: the token (or secret) cannot be parsed.
	ErrMalformed = errors.New("securetoken: malformed token")
	// ErrExpired: the token's exp is in the past (or its st in the future).
	ErrExpired = errors.New("securetoken: token expired")
	// ErrSignature: the HMAC does not match (tampered token, wrong secret
	// or, for URL tokens, a different path).
	ErrSignature = errors.New("securetoken: signature mismatch")
	// ErrPathNotAllowed: the ACL of a valid token does not cover the path.
	ErrPathNotAllowed = errors.New("securetoken: path not covered by the token's ACL")
)

// MaxTokenLen bounds the token length Verify accepts.
const MaxTokenLen = 4096

type field struct{ k, v string }

// normTilde writes "~" (raw or %7E) as "%7e" for ACL comparisons.
func normTilde(s string) string {
	s = strings.ReplaceAll(s, "~", "%7e")
	return strings.ReplaceAll(s, "%7E", "%7e")
}

// tokenField reports whether a "~"-separated piece split into key k (ok:
// it had a "=") starts a token field.
func tokenField(k string, ok bool) bool {
	switch k {
	case "exp", "st", "acl", "hmac":
		return ok
	}
	return false
}

// hasDotSegment reports whether p has a "." or ".." segment, raw or
// percent-encoded, which could escape an ACL prefix.
func hasDotSegment(p string) bool {
	for _, s := range strings.Split(p, "/") {
		s = strings.ReplaceAll(strings.ToLower(s), "%2e", ".")
		if s == "." || s == ".." {
			return true
		}
	}
	return false
}

// Verify checks a token (the "token" query parameter) for requestPath, the
// escaped URL path of the request (http.Request.URL.EscapedPath(), no
// query), at time now. It accepts the tokens akamai.ACLToken and
// akamai.URLToken build:
//
//   - fields split on "~" as k=v; exp and hmac are required, hmac last, an
//     optional st (start time) is honoured; other fields are refused. A
//     piece after an acl field that is no field is the rest of the ACL whose
//     "%7e" a client decoded to "~" (signed, as built, with "%7e").
//   - the HMAC-SHA256 over the other fields (plus "url=<akamai.EscapeURL(path)>"
//     for URL tokens) is compared in constant time → ErrSignature.
//   - now after exp (or before st) → ErrExpired.
//   - ACL tokens: the path, "~" written "%7e", must equal the ACL or, when
//     the ACL ends in "*", start with the ACL minus "*"; a path without its
//     trailing "/" also matches ("/uuid" for ACL "/uuid/") → ErrPathNotAllowed.
//   - URL tokens also accept the path without a trailing "/", since secure
//     URL builders append "/" to the signed path ("…/hello.txt/?token="),
//     and with "%7e" written "~".
//
// Errors wrap ErrMalformed, ErrSignature, ErrExpired or ErrPathNotAllowed.
func Verify(secretHex, token, requestPath string, now time.Time) error {
	k, err := akamai.Key(secretHex)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if token == "" || len(token) > MaxTokenLen {
		return malformed("empty or oversized token")
	}
	if !strings.HasPrefix(requestPath, "/") {
		return malformed("request path must start with /")
	}
	var fields []field
	seen := map[string]bool{}
	for _, part := range strings.Split(token, "~") {
		kk, v, ok := strings.Cut(part, "=")
		if n := len(fields); n > 0 && fields[n-1].k == "acl" && !tokenField(kk, ok) {
			// An ACL's "~" is signed as "%7e", but HTTP clients that
			// normalise URLs (Python's requests and httpx) send it as a
			// raw "~", the field separator: the piece after it that is
			// no field continues the ACL.
			fields[n-1].v += "%7e" + part
			continue
		}
		if !ok || kk == "" {
			return malformed("field " + strconv.Quote(part) + " is not k=v")
		}
		switch kk {
		case "exp", "st", "acl", "hmac":
		default:
			return malformed("unsupported field " + strconv.Quote(kk))
		}
		if seen[kk] {
			return malformed("duplicate field " + kk)
		}
		seen[kk] = true
		fields = append(fields, field{kk, v})
	}
	last := fields[len(fields)-1]
	if last.k != "hmac" {
		return malformed("hmac must be the last field")
	}
	if !seen["exp"] {
		return malformed("missing exp")
	}
	got, err := hex.DecodeString(last.v)
	if err != nil || len(got) != sha256.Size {
		return malformed("hmac must be 64 hex digits")
	}
	var exp, st int64
	var acl string
	parts := make([]string, 0, len(fields))
	for _, f := range fields[:len(fields)-1] {
		switch f.k {
		case "exp", "st":
			n, err := strconv.ParseInt(f.v, 10, 64)
			if err != nil || n < 0 || f.v[0] == '+' {
				return malformed(f.k + " is not a Unix time")
			}
			if f.k == "exp" {
				exp = n
			} else {
				st = n
			}
		case "acl":
			if f.v == "" || f.v[0] != '/' {
				return malformed("acl must start with /")
			}
			acl = f.v
		}
		parts = append(parts, f.k+"="+f.v)
	}
	msg := strings.Join(parts, "~")
	if seen["acl"] {
		if !hmac.Equal(akamai.Sign(k, msg), got) {
			return ErrSignature
		}
	} else {
		ok := false
		for _, p := range urlCandidates(requestPath) {
			ok = hmac.Equal(akamai.Sign(k, akamai.URLMessage(msg, p)), got) || ok
		}
		if !ok {
			return ErrSignature
		}
	}
	if t := now.Unix(); t > exp || seen["st"] && t < st {
		return ErrExpired
	}
	if seen["acl"] && !aclAllows(acl, requestPath) {
		return ErrPathNotAllowed
	}
	return nil
}

// urlCandidates are the spellings of a request path a URL token may have
// signed: as requested, without its trailing "/" (builders append one to
// the signed path), and with "%7e"/"%7E" written as "~".
func urlCandidates(p string) []string {
	var out []string
	add := func(s string) {
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	for _, s := range []string{p, strings.ReplaceAll(strings.ReplaceAll(p, "%7e", "~"), "%7E", "~")} {
		add(s)
		if t, cut := strings.CutSuffix(s, "/"); cut && t != "" {
			add(t)
		}
	}
	return out
}

func malformed(msg string) error { return fmt.Errorf("%w: %s", ErrMalformed, msg) }

// aclAllows reports whether acl (exact, or a prefix ending in "*") covers path.
func aclAllows(acl, path string) bool {
	if hasDotSegment(path) {
		return false
	}
	acl, path = normTilde(acl), normTilde(path)
	alts := []string{path}
	if !strings.HasSuffix(path, "/") {
		alts = append(alts, path+"/")
	}
	prefix, wild := strings.CutSuffix(acl, "*")
	if strings.Contains(prefix, "*") {
		return false // only a trailing wildcard is supported
	}
	for _, p := range alts {
		if p == acl || wild && strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}
