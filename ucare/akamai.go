package ucare

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
)

// The Akamai-style delivery tokens of AkamaiACLURLBuilder and
// AkamaiURLTokenBuilder (HMAC-SHA256, key = hex-decoded secret):
//
//	ACL token: exp=<exp>~acl=<acl>~hmac=<hex>, signing "exp=<exp>~acl=<acl>",
//	           acl = "/" + path trimmed of "/" (with "~" as "%7e") + "/" (or "/*").
//	URL token: exp=<exp>~hmac=<hex>, signing "exp=<exp>~url=<escaped path>",
//	           the path escaped like Python's quote_plus(path, safe=",").
//
// These are the tokens the Satchel CDN verifies; the server module's tests
// check every builder's URLs against its verifier.

func tokenKey(secretHex string) ([]byte, error) {
	k, err := hex.DecodeString(secretHex)
	if err != nil || len(k) == 0 {
		return nil, errors.New("secret must be a non-empty hex string")
	}
	return k, nil
}

func tokenHMAC(k []byte, msg string) string {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// tokenPath returns the path of a handle: the path of a full URL
// ("https://host/p?q" → "/p"), else the handle itself, without query or
// fragment.
func tokenPath(h string) string {
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

// aclToken returns an ACL token for path valid until the Unix time exp;
// with wildcard the ACL covers every path below it.
func aclToken(secretHex, path string, exp int64, wildcard bool) (string, error) {
	k, err := tokenKey(secretHex)
	if err != nil {
		return "", err
	}
	p := strings.Trim(tokenPath(path), "/")
	if p == "" {
		return "", errors.New("empty path")
	}
	if exp <= 0 {
		return "", errors.New("exp must be positive")
	}
	acl := "/" + strings.ReplaceAll(p, "~", "%7e") + "/"
	if wildcard {
		acl += "*"
	}
	msg := "exp=" + strconv.FormatInt(exp, 10) + "~acl=" + acl
	return msg + "~hmac=" + tokenHMAC(k, msg), nil
}

// urlToken returns a URL token for exactly path (a leading "/" is added
// when missing) valid until the Unix time exp.
func urlToken(secretHex, path string, exp int64) (string, error) {
	k, err := tokenKey(secretHex)
	if err != nil {
		return "", err
	}
	p := tokenPath(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if p == "/" {
		return "", errors.New("empty path")
	}
	if exp <= 0 {
		return "", errors.New("exp must be positive")
	}
	e := strconv.FormatInt(exp, 10)
	return "exp=" + e + "~hmac=" + tokenHMAC(k, "exp="+e+"~url="+escapeTokenURL(p)), nil
}

// escapeTokenURL escapes a path for the URL-token message: Python's
// quote_plus(path, safe=",") (letters, digits, "_.-," kept, space → "+",
// everything else %xx) with lowercase hex, "~" included as "%7e".
func escapeTokenURL(path string) string {
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
