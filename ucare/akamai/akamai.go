// Package akamai builds the Akamai-style delivery tokens that
// pyuploadcare's AkamaiSecureUrlBuilderWithAclToken and
// AkamaiSecureUrlBuilderWithUrlToken put in the "token" query parameter of
// CDN URLs (HMAC-SHA256, key = hex-decoded secret). The SDK's secure URL
// builders and the Satchel CDN's verifier share this one implementation.
//
// ACL token: exp=<exp>~acl=<acl>~hmac=<hex>, signing "exp=<exp>~acl=<acl>",
// where acl = "/" + path without leading/trailing "/" (and "~" written
// "%7e") + "/" (or "/*" for a wildcard).
//
// URL token: exp=<exp>~hmac=<hex>, signing "exp=<exp>~url=<escaped path>",
// the path escaped like Python's quote_plus(path, safe=",") with lowercase
// %xx and "~" as "%7e".
package akamai

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
)

// Key decodes a hex secret into the HMAC key; an empty or non-hex secret is
// an error.
func Key(secretHex string) ([]byte, error) {
	k, err := hex.DecodeString(secretHex)
	if err != nil || len(k) == 0 {
		return nil, errors.New("akamai: secret must be a non-empty hex string")
	}
	return k, nil
}

// Sign returns HMAC-SHA256(key, msg).
func Sign(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// Path returns the path of a handle: the path of a full URL
// ("https://host/p?q" → "/p"), else the handle itself, without query or
// fragment.
func Path(h string) string {
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
	p := strings.ReplaceAll(strings.Trim(Path(path), "/"), "~", "%7e")
	if wildcard {
		return "/" + p + "/*"
	}
	return "/" + p + "/"
}

// ACLToken returns an ACL token for path (a path such as
// "/<uuid>/-/resize/640x/", a bare "<uuid>" or a full CDN URL) valid until
// the Unix time exp. With wildcard the ACL is "/<path>/*", covering every
// path below it.
func ACLToken(secretHex, path string, exp int64, wildcard bool) (string, error) {
	k, err := Key(secretHex)
	if err != nil {
		return "", err
	}
	if strings.Trim(Path(path), "/") == "" {
		return "", errors.New("akamai: empty path")
	}
	if exp <= 0 {
		return "", errors.New("akamai: exp must be positive")
	}
	msg := "exp=" + strconv.FormatInt(exp, 10) + "~acl=" + ACL(path, wildcard)
	return msg + "~hmac=" + hex.EncodeToString(Sign(k, msg)), nil
}

// URLToken returns a URL token for exactly path (a leading "/" is added when
// missing; pass the path as it will be requested, e.g. "/<uuid>/") valid
// until the Unix time exp.
func URLToken(secretHex, path string, exp int64) (string, error) {
	k, err := Key(secretHex)
	if err != nil {
		return "", err
	}
	p := Path(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if p == "/" {
		return "", errors.New("akamai: empty path")
	}
	if exp <= 0 {
		return "", errors.New("akamai: exp must be positive")
	}
	e := strconv.FormatInt(exp, 10)
	return "exp=" + e + "~hmac=" + hex.EncodeToString(Sign(k, URLMessage("exp="+e, p))), nil
}

// URLMessage is what a URL token signs: its other fields (e.g. "exp=…")
// followed by "~url=" and the escaped path.
func URLMessage(fields, path string) string {
	return fields + "~url=" + EscapeURL(path)
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
