// Package sniff detects the MIME type of uploaded content from its first
// bytes, in pure Go, so that the services that accept uploads build without
// cgo. Describing images and videos (libvips, ffprobe) is package inspect's.
package sniff

import (
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// Len is how many leading bytes Sniff wants.
const Len = 3072

// Sniff detects the MIME type from the first bytes of the content (up to
// Len of them are used). The original filename and the type the client
// declared for the content (the form part's Content-Type, the multipart
// start's content_type, a fetched URL's Content-Type; "" if none) are
// consulted only for content that the bytes alone leave as plain text: a
// known text extension names its format (CSV, Markdown…), and plain text
// that neither the extension nor the declared type calls text is reported
// as "application/octet-stream", as Uploadcare does (pyuploadcare's
// integration tests upload "hello" as an extensionless temporary file
// declared application/octet-stream and expect that type back). The result
// has no parameters ("text/plain", not "text/plain; charset=utf-8") and is
// never empty.
func Sniff(head []byte, name, declared string) string {
	if len(head) > Len {
		head = head[:Len]
	}
	m := Normalize(mimetype.Detect(head).String())
	if m != "text/plain" {
		return m
	}
	ext := extension(name)
	if t, ok := textTypes[ext]; ok {
		return t
	}
	if plainTextExtensions[ext] || strings.HasPrefix(Normalize(declared), "text/") {
		return m
	}
	return "application/octet-stream"
}

// plainTextExtensions are the extensions that make plain-text content
// text/plain.
var plainTextExtensions = map[string]bool{
	".txt": true, ".text": true, ".log": true, ".asc": true, ".conf": true, ".cfg": true, ".ini": true,
	".properties": true, ".env": true, ".sql": true, ".sh": true, ".py": true, ".go": true, ".c": true,
	".h": true, ".java": true, ".rb": true, ".pl": true, ".php": true, ".ts": true, ".toml": true,
	".tex": true, ".rst": true, ".diff": true, ".patch": true, ".po": true, ".lst": true, ".nfo": true,
}

// textTypes are the text formats Sniff recognises by extension when the
// content is plain text.
var textTypes = map[string]string{
	".csv":      "text/csv",
	".tsv":      "text/tab-separated-values",
	".md":       "text/markdown",
	".markdown": "text/markdown",
	".json":     "application/json",
	".xml":      "text/xml",
	".html":     "text/html",
	".htm":      "text/html",
	".css":      "text/css",
	".js":       "text/javascript",
	".mjs":      "text/javascript",
	".ics":      "text/calendar",
	".vcf":      "text/vcard",
	".srt":      "application/x-subrip",
	".vtt":      "text/vtt",
	".yaml":     "application/yaml",
	".yml":      "application/yaml",
	".rtf":      "text/rtf",
}

// extension returns the lower-cased extension of a file name, "" if none.
func extension(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return ""
	}
	return strings.ToLower(name[i:])
}

// Normalize drops parameters and case from a MIME type; an empty or
// malformed type becomes application/octet-stream.
func Normalize(m string) string {
	m, _, _ = strings.Cut(m, ";")
	m = strings.ToLower(strings.TrimSpace(m))
	typ, sub, ok := strings.Cut(m, "/")
	if !ok || typ == "" || sub == "" {
		return "application/octet-stream"
	}
	return m
}
