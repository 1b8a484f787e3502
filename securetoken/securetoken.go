// Package securetoken builds and verifies the Akamai-style delivery tokens
// that pyuploadcare's AkamaiSecureUrlBuilderWithAclToken and
// AkamaiSecureUrlBuilderWithUrlToken put in the "token" query parameter of
// CDN URLs (HMAC-SHA256, key = hex-decoded project secret).
//
// ACL token:  exp=<exp>~acl=<acl>~hmac=<hex>, signing "exp=<exp>~acl=<acl>",
// where acl = "/" + path without leading/trailing "/" (and "~" written
// "%7e") + "/" (or "/*" for a wildcard).
//
// URL token: exp=<exp>~hmac=<hex>, signing "exp=<exp>~url=<escaped path>",
// the path escaped like Python's quote_plus(path, safe=",") with lowercase
// %xx and "~" as "%7e".
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

func key(secretHex string) ([]byte, error) {
	k, err := hex.DecodeString(secretHex)
	if err != nil || len(k) == 0 {
		return nil, errors.New("securetoken: secret must be a non-empty hex string")
	}
	return k, nil
}

func sign(k []byte, msg string) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// handlePath returns the path of a handle: the path of a full URL
// ("https://host/p?q" → "/p"), else the handle itself, without query or
// fragment.
func handlePath(h string) string {
	if i := strings.Index(h, "://"); i >= 0 {
		rest := h[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			h = rest[j:]
		} else {
			h = ""
		}
	}
	if i := strings.IndexAny(h, "?#"); i >= 0 {
		h = h[:i]
	}
	return h
}

// ACL returns the ACL a token for path carries: "/" + path trimmed of
// slashes with "~" as "%7e" + "/" (or "/*" when wildcard).
func ACL(path string, wildcard bool) string {
	p := strings.ReplaceAll(strings.Trim(handlePath(path), "/"), "~", "%7e")
	if wildcard {
		return "/" + p + "/*"
	}
	return "/" + p + "/"
}

// ACLToken returns an ACL token for path (a path such as
// "/<uuid>/-/resize/640x/", a bare "<uuid>" or a full CDN URL) valid until
// the Unix time exp. With wildcard the ACL is "/<path>/*", covering every
// path below it.
func ACLToken(secretHex string, path string, exp int64, wildcard bool) (string, error) {
	k, err := key(secretHex)
	if err != nil {
		return "", err
	}
	if strings.Trim(handlePath(path), "/") == "" {
		return "", errors.New("securetoken: empty path")
	}
	if exp <= 0 {
		return "", errors.New("securetoken: exp must be positive")
	}
	msg := "exp=" + strconv.FormatInt(exp, 10) + "~acl=" + ACL(path, wildcard)
	return msg + "~hmac=" + hex.EncodeToString(sign(k, msg)), nil
}

// EscapeURL escapes a path for the URL-token message: Python's
// quote_plus(path, safe=",") (letters, digits, "_.-," kept, space → "+",
// everything else %xx) with lowercase hex, "~" included as "%7e".
func EscapeURL(path string) string {
	const hexLower = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '_', c == '.', c == '-', c == ',':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hexLower[c>>4])
			b.WriteByte(hexLower[c&15])
		}
	}
	return b.String()
}

// urlPath is the path a URL token signs: the handle's path with a leading "/".
func urlPath(path string) string {
	p := handlePath(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// URLToken returns a URL token for exactly path (a leading "/" is added when
// missing; pass the path as it will be requested, e.g. "/<uuid>/") valid
// until the Unix time exp.
func URLToken(secretHex string, path string, exp int64) (string, error) {
	k, err := key(secretHex)
	if err != nil {
		return "", err
	}
	p := urlPath(path)
	if p == "/" {
		return "", errors.New("securetoken: empty path")
	}
	if exp <= 0 {
		return "", errors.New("securetoken: exp must be positive")
	}
	e := strconv.FormatInt(exp, 10)
	return "exp=" + e + "~hmac=" + hex.EncodeToString(sign(k, "exp="+e+"~url="+EscapeURL(p))), nil
}

type field struct{ k, v string }

// normTilde writes "~" (raw or %7E) as "%7e" for ACL comparisons.
func normTilde(s string) string {
	s = strings.ReplaceAll(s, "~", "%7e")
	return strings.ReplaceAll(s, "%7E", "%7e")
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
// query), at time now. It accepts the tokens ACLToken and URLToken build:
//
//   - fields split on "~" as k=v; exp and hmac are required, hmac last, an
//     optional st (start time) is honoured; other fields are refused.
//   - the HMAC-SHA256 over the other fields (plus "url=<EscapeURL(path)>"
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
	k, err := key(secretHex)
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
		if !hmac.Equal(sign(k, msg), got) {
			return ErrSignature
		}
	} else {
		ok := false
		for _, p := range urlCandidates(requestPath) {
			ok = hmac.Equal(sign(k, msg+"~url="+EscapeURL(p)), got) || ok
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
