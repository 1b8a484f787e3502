package satchel

import (
	"path"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ValidUUID reports whether s is a lowercase RFC 4122 text UUID.
func ValidUUID(s string) bool { return uuidRe.MatchString(s) }

var groupIDRe = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})~([1-9][0-9]{0,3})$`)

// ValidGroupID reports whether s looks like "<uuid>~<N>".
func ValidGroupID(s string) bool { return groupIDRe.MatchString(s) }

// SanitizeFilename turns an uploaded file name into the name used in CDN URLs:
// the base name split at its last dot, each side reduced to [A-Za-z0-9_], an
// empty stem becoming "noroot".
func SanitizeFilename(name string) string {
	name = BaseName(name)
	stem, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		stem, ext = name[:i], name[i+1:]
	}
	keep := func(s string) string {
		var b strings.Builder
		for _, c := range s {
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
				b.WriteRune(c)
			}
		}
		return b.String()
	}
	stem, ext = keep(stem), keep(ext)
	if stem == "" {
		stem = "noroot"
	}
	if ext == "" {
		return stem
	}
	return stem + "." + ext
}

// BaseName returns the last element of a client-supplied path, with either
// slash or backslash separators, and without NUL characters.
func BaseName(name string) string {
	name = strings.ReplaceAll(name, "\x00", "")
	name = strings.ReplaceAll(name, "\\", "/")
	if strings.HasSuffix(name, "/") {
		name = strings.TrimRight(name, "/")
	}
	b := path.Base(name)
	if b == "." || b == "/" {
		return ""
	}
	if !utf8.ValidString(b) {
		b = strings.ToValidUTF8(b, "")
	}
	if len(b) > 255 {
		b = b[:255]
		b = strings.ToValidUTF8(b, "")
	}
	return b
}

// Metadata limits.
const (
	MaxMetadataKeys     = 50
	MaxMetadataKeyLen   = 64
	MaxMetadataValueLen = 512
	MaxTags             = 50
	MaxTagLen           = 100
)

var metaKeyRe = regexp.MustCompile(`^[-_.:A-Za-z0-9]+$`)

func invalid(reason Reason, field, value string, limit int64, format string, args ...any) *Error {
	e := Errorf(KindInvalid, reason, format, args...)
	e.Field, e.Value, e.Limit = field, value, limit
	return e
}

// TooManyMetadataKeys is the error for a file over MaxMetadataKeys.
func TooManyMetadataKeys() *Error {
	return invalid(ReasonMetaTooManyKeys, "metadata", "", MaxMetadataKeys, "A file can not have more than %d metadata keys.", MaxMetadataKeys)
}

// TooManyTags is the error for a file over MaxTags.
func TooManyTags() *Error {
	return invalid(ReasonTooManyTags, "tags", "", MaxTags, "A file can not have more than %d tags.", MaxTags)
}

// ValidateMetadataKey checks one metadata key.
func ValidateMetadataKey(k string) error {
	switch {
	case k == "":
		return invalid(ReasonMetaKeyEmpty, "metadata", k, 0, "Metadata key can not be empty.")
	case utf8.RuneCountInString(k) > MaxMetadataKeyLen:
		return invalid(ReasonMetaKeyTooLong, "metadata", k, MaxMetadataKeyLen, "Metadata key can not be more than %d symbols.", MaxMetadataKeyLen)
	case !metaKeyRe.MatchString(k):
		return invalid(ReasonMetaKeyForbidden, "metadata", k, 0, "Metadata key %q contains forbidden characters.", k)
	}
	return nil
}

// ValidateMetadataValue checks one metadata value.
func ValidateMetadataValue(k, v string) error {
	switch {
	case v == "":
		return invalid(ReasonMetaValueEmpty, "metadata", k, 0, "Value of the metadata key %q can not be empty.", k)
	case utf8.RuneCountInString(v) > MaxMetadataValueLen:
		return invalid(ReasonMetaValueTooLong, "metadata", k, MaxMetadataValueLen, "Value of the metadata key %q can not be more than %d symbols in length.", k, MaxMetadataValueLen)
	case strings.ContainsRune(v, 0) || !utf8.ValidString(v):
		return invalid(ReasonMetaValueForbidden, "metadata", k, 0, "Value of the metadata key %q contains forbidden characters.", k)
	}
	return nil
}

// ValidateMetadata checks a whole metadata map.
func ValidateMetadata(md map[string]string) error {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := ValidateMetadataKey(k); err != nil {
			return err
		}
		if err := ValidateMetadataValue(k, md[k]); err != nil {
			return err
		}
	}
	if len(md) > MaxMetadataKeys {
		return TooManyMetadataKeys()
	}
	return nil
}

var tagRe = regexp.MustCompile(`^[a-z0-9._-]+$`)

// ParseTags normalises a comma-separated tag list: lowercase, trimmed, no
// empties or duplicates, in first-seen order.
func ParseTags(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, t := range strings.Split(s, ",") {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || seen[t] {
			continue
		}
		if len(t) > MaxTagLen {
			return nil, invalid(ReasonTagTooLong, "tags", t, MaxTagLen, "A tag can not be more than %d characters long.", MaxTagLen)
		}
		if !tagRe.MatchString(t) {
			return nil, invalid(ReasonTagForbidden, "tags", t, 0, "Tag %q contains forbidden characters.", t)
		}
		seen[t] = true
		out = append(out, t)
	}
	if len(out) > MaxTags {
		return nil, TooManyTags()
	}
	return out, nil
}

// MimeAllowed reports whether mime matches one of the patterns ("image/*",
// "application/pdf"); an empty list allows everything.
func MimeAllowed(patterns []string, mime string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "*" || p == "*/*" || p == mime {
			return true
		}
		if strings.HasSuffix(p, "/*") && strings.HasPrefix(mime, strings.TrimSuffix(p, "*")) {
			return true
		}
	}
	return false
}
