package cdnurl

import "strings"

// Special values of Target.Special.
const (
	SpecialDetectFaces = "detect_faces"
	SpecialGif2Video   = "gif2video"
)

// validUUID reports whether s is a lowercase hyphenated UUID.
func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// SplitGroupID splits a group id "<uuid>~N" into its UUID and N, reporting
// whether it is well formed (lowercase UUID, N in 1..MaxGroupSize without
// leading zeros).
func SplitGroupID(id string) (uuid string, n int, ok bool) {
	u, ns, found := strings.Cut(id, "~")
	if !found || !validUUID(u) || len(ns) == 0 || len(ns) > 4 || ns[0] == '0' {
		return "", 0, false
	}
	n, isNum := atoi(ns, false)
	if !isNum || n < 1 || n > MaxGroupSize {
		return "", 0, false
	}
	return u, n, true
}

// Parse parses the path of a CDN URL (no scheme, host or query), preferably
// in its escaped form (http.Request.URL.EscapedPath()); segments are
// percent-decoded leniently, so a decoded path works too unless text
// contains '%'. Accepted forms:
//
//	/<uuid>/[-/<op>/<args>/…/][filename]
//	/<uuid>/detect_faces/                 (also detect_faces// and -/detect_faces/)
//	/<uuid>/gif2video/[-/format/mp4|webm/][-/quality/<q>/][filename] (also -/gif2video/)
//	/<uuid~N>/
//	/<uuid~N>/nth/<i>/[-/<ops>/][filename]
//	/<uuid~N>/archive/zip|tar/[filename]
//
// A last segment not followed by "/" is the download filename; a filename
// followed by "/" (as secure-URL builders emit) is recognised when it cannot
// be read as an argument of the last operation. Annotation groups
// "-/@<name>/<args>/…" may appear wherever operations may and are dropped
// (see isAnnotation). Errors are *ParseError.
// The result's Path() is the canonical form of p.
func Parse(p string) (*Target, error) {
	if len(p) > MaxPathLen {
		return nil, perr("", "path longer than %d bytes", MaxPathLen)
	}
	if !strings.HasPrefix(p, "/") {
		return nil, perr("", "path must start with /")
	}
	body := p[1:]
	trailing := strings.HasSuffix(body, "/")
	if trailing {
		body = body[:len(body)-1]
	}
	if body == "" {
		return nil, perr("", "missing file UUID or group id")
	}
	segs := strings.Split(body, "/")
	// pyuploadcare requests face detection as /<uuid>/detect_faces//.
	if trailing && len(segs) == 3 && segs[1] == SpecialDetectFaces && segs[2] == "" {
		segs = segs[:2]
	}
	for _, s := range segs {
		if s == "" {
			return nil, perr("", "empty path segment")
		}
	}
	id := decodeSeg(segs[0])
	rest := segs[1:]
	if strings.Contains(id, "~") {
		return parseGroup(id, rest, trailing)
	}
	if !validUUID(id) {
		return nil, perr("", "%s is not a lowercase file UUID or group id", q(id))
	}
	t := &Target{UUID: id, Nth: -1}
	ctx := ctxImage
	switch {
	case len(rest) >= 1 && rest[0] == SpecialDetectFaces && (len(rest) > 1 || trailing):
		if len(rest) != 1 {
			return nil, perr("", "detect_faces takes no operations or filename")
		}
		t.Special = SpecialDetectFaces
		return t, nil
	case len(rest) == 2 && rest[0] == "-" && rest[1] == SpecialDetectFaces && trailing:
		t.Special = SpecialDetectFaces
		return t, nil
	case len(rest) >= 1 && rest[0] == SpecialGif2Video && (len(rest) > 1 || trailing):
		t.Special, rest, ctx = SpecialGif2Video, rest[1:], ctxGif2Video
	case len(rest) >= 2 && rest[0] == "-" && rest[1] == SpecialGif2Video &&
		(len(rest) == 2 && trailing || len(rest) > 2 && rest[2] == "-"):
		t.Special, rest, ctx = SpecialGif2Video, rest[2:], ctxGif2Video
	}
	ops, fn, err := parseTail(rest, trailing, ctx)
	if err != nil {
		return nil, err
	}
	t.Ops, t.Filename = ops, fn
	return checkLen(t)
}

// checkLen rejects targets whose canonical path exceeds MaxPathLen (escaping
// can lengthen it), so that every parsed path's canonical form parses too.
func checkLen(t *Target) (*Target, error) {
	if len(t.Path()) > MaxPathLen {
		return nil, perr("", "canonical path longer than %d bytes", MaxPathLen)
	}
	return t, nil
}

func parseGroup(id string, rest []string, trailing bool) (*Target, error) {
	_, n, ok := SplitGroupID(id)
	if !ok {
		return nil, perr("", "%s is not a group id <uuid>~N with a lowercase UUID and N in 1..%d", q(id), MaxGroupSize)
	}
	t := &Target{GroupID: id, Nth: -1}
	if len(rest) == 0 {
		return t, nil
	}
	switch rest[0] {
	case "nth":
		if len(rest) < 2 {
			return nil, perr("", "missing member index after nth/")
		}
		is := rest[1]
		i, isNum := atoi(is, false)
		if !isNum || len(is) > 1 && is[0] == '0' {
			return nil, perr("", "member index %s is not a non-negative integer", q(is))
		}
		if i >= n {
			return nil, perr("", "member index %d out of range for a group of %d file(s)", i, n)
		}
		t.Nth = i
		ops, fn, err := parseTail(rest[2:], trailing, ctxImage)
		if err != nil {
			return nil, err
		}
		t.Ops, t.Filename = ops, fn
		return checkLen(t)
	case "archive":
		if len(rest) < 2 {
			return nil, perr("", "missing archive format after archive/ (zip or tar)")
		}
		if rest[1] != "zip" && rest[1] != "tar" {
			return nil, perr("", "archive format %s must be zip or tar", q(decodeSeg(rest[1])))
		}
		t.Archive = rest[1]
		switch len(rest) {
		case 2:
		case 3:
			fn, err := parseFilename(rest[2])
			if err != nil {
				return nil, err
			}
			t.Filename = fn
		default:
			return nil, perr("", "unexpected segments after the archive name")
		}
		return checkLen(t)
	case "-":
		return nil, perr("", "operations are not allowed directly on a group URL; select a member with nth/<i>/ first")
	}
	return nil, perr("", "unexpected segment %s after group id (expected nth/<i>/ or archive/<zip|tar>/)", q(decodeSeg(rest[0])))
}

// parseFilename validates a raw download-name segment and decodes it.
func parseFilename(raw string) (string, error) {
	fn := decodeSeg(raw)
	if strings.HasPrefix(fn, "-") {
		return "", perr("", "filename %s must not start with -", q(fn))
	}
	if fn == "." || fn == ".." {
		return "", perr("", "filename %s is not allowed", q(fn))
	}
	for i := 0; i < len(fn); i++ {
		if fn[i] < 0x20 || fn[i] == 0x7f {
			return "", perr("", "filename %s contains control characters", q(fn))
		}
	}
	return fn, nil
}

// parseTail parses what follows the file reference: "-/ops…/" and an
// optional filename. rest holds raw segments; trailing says whether the
// path ended with "/".
func parseTail(rest []string, trailing bool, ctx context) ([]Op, string, error) {
	var fnRaw string
	// The last segment is the filename unless the path ends with "/";
	// "/<uuid>/name.ext/" (no operations) is a filename too.
	hasFn := len(rest) > 0 && (!trailing || len(rest) == 1 && rest[0] != "-")
	if hasFn {
		fnRaw, rest = rest[len(rest)-1], rest[:len(rest)-1]
	}
	if len(rest) > 0 && rest[0] != "-" {
		return nil, "", perr("", "unexpected segment %s (operations start with -/, a filename is the last segment)", q(decodeSeg(rest[0])))
	}
	var fn string
	if hasFn {
		if fnRaw == "-" {
			return nil, "", perr("", "operation list must end with /")
		}
		var err error
		if fn, err = parseFilename(fnRaw); err != nil {
			return nil, "", err
		}
	}
	if len(rest) == 0 {
		return nil, fn, nil
	}
	groups, err := splitGroups(rest[1:])
	if err != nil {
		return nil, "", err
	}
	ops := make([]Op, 0, len(groups))
	for i, g := range groups {
		if isAnnotation(g) {
			continue
		}
		op, err := parseGroupOp(g, ctx)
		if err != nil && i == len(groups)-1 && trailing && len(g) >= 2 {
			// "…/-/op/args/name.ext/": the last segment may be a filename.
			if name, ferr := parseFilename(g[len(g)-1]); ferr == nil {
				if op2, err2 := parseGroupOp(g[:len(g)-1], ctx); err2 == nil {
					op, err, fn = op2, nil, name
				}
			}
		}
		if err != nil {
			return nil, "", err
		}
		ops = append(ops, op)
	}
	if err := checkOps(ops); err != nil {
		return nil, "", err
	}
	return ops, fn, nil
}

// splitGroups splits raw segments (after the leading "-") into operations.
func splitGroups(segs []string) ([][]string, error) {
	if len(segs) == 0 {
		return nil, perr("", "no operation after -/")
	}
	var groups [][]string
	start := 0
	for i := 0; i <= len(segs); i++ {
		if i < len(segs) && segs[i] != "-" {
			continue
		}
		if i == start {
			return nil, perr("", "empty operation (-/-/)")
		}
		groups = append(groups, segs[start:i])
		if len(groups) > MaxOps {
			return nil, perr("", "more than %d operations", MaxOps)
		}
		start = i + 1
	}
	return groups, nil
}

// isAnnotation reports whether a raw operation group is an annotation such
// as "@clib/<lib>/<version>/<component>" (the Uploadcare uploader tags its
// preview URLs with one): a group whose name starts with "@". Annotations
// take every segment up to the next "-/" or the filename as arguments and
// change nothing, so Parse and ParseOps drop them; they never reach the
// canonical form or a variant cache key.
func isAnnotation(g []string) bool {
	return strings.HasPrefix(decodeSeg(g[0]), "@")
}

// parseGroupOp decodes the raw segments of one operation and parses it.
func parseGroupOp(g []string, ctx context) (Op, error) {
	dec := make([]string, len(g))
	for i, s := range g {
		dec[i] = decodeSeg(s)
	}
	return parseOp(dec[0], dec[1:], ctx)
}

// checkOps enforces rules on the whole list: json, jsonp and main_colors
// must be last.
func checkOps(ops []Op) error {
	if len(ops) > MaxOps {
		return perr("", "more than %d operations", MaxOps)
	}
	for i, op := range ops[:max(len(ops)-1, 0)] {
		switch op.(type) {
		case JSON, JSONP, MainColors:
			return perr(op.Name(), "must be the last operation (found at position %d of %d)", i+1, len(ops))
		}
	}
	return nil
}

// ParseOps parses an operations string such as "resize/x800/-/crop/10x10/"
// (the form groups store as default_effects). A leading "-/" and the
// trailing "/" are optional; "" yields no operations. The string has no
// filename. Errors are *ParseError.
func ParseOps(s string) ([]Op, error) {
	if len(s) > MaxPathLen {
		return nil, perr("", "operations longer than %d bytes", MaxPathLen)
	}
	s = strings.TrimPrefix(s, "-/")
	s = strings.TrimSuffix(s, "/")
	if s == "" {
		return nil, nil
	}
	segs := strings.Split(s, "/")
	for _, seg := range segs {
		if seg == "" {
			return nil, perr("", "empty segment in operations")
		}
	}
	groups, err := splitGroups(segs)
	if err != nil {
		return nil, err
	}
	ops := make([]Op, 0, len(groups))
	for _, g := range groups {
		if isAnnotation(g) {
			continue
		}
		op, err := parseGroupOp(g, ctxImage)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	if err := checkOps(ops); err != nil {
		return nil, err
	}
	if len(FormatOps(ops)) > MaxPathLen {
		return nil, perr("", "canonical operations longer than %d bytes", MaxPathLen)
	}
	return ops, nil
}
