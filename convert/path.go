// Package convert converts documents (LibreOffice, poppler) and videos
// (ffmpeg) for the REST API's conversion endpoints: the conversion path
// grammar, the converters and the job arguments of conversion jobs.
package convert

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Request is a parsed conversion path.
type Request struct {
	// Kind is "document" or "video".
	Kind string
	// Source is the source file's UUID.
	Source string
	// Path is the normalised path "<uuid>/<kind>/<operations>", without
	// any CDN prefix; it keys the source's variations.
	Path string
	// Format is the target format (documents: pdf by default; videos: mp4).
	Format string
	// Page is the page of a document to convert to an image (0: the first).
	Page int
	// Video operations.
	Width, Height int
	// ResizeMode is preserve_ratio (default), change_ratio, scale_crop or
	// add_padding.
	ResizeMode string
	// Quality is normal (default), better, best, lighter or lightest.
	Quality string
	// CutStart and CutLength are in seconds; CutLength < 0 runs to the end.
	CutStart, CutLength float64
	Cut                 bool
	// Thumbs is the number of thumbnails (1..50, default 1).
	Thumbs int
}

// PathError is a path the grammar refuses.
type PathError struct{ Msg string }

func (e *PathError) Error() string { return e.Msg }

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Parse parses a conversion path of kind ("document" or "video"), optionally
// prefixed by a CDN URL.
func Parse(kind, path string) (*Request, error) {
	bad := func(why string) error {
		if why == "" {
			return &PathError{fmt.Sprintf("Bad path %q. Use UUID or CDN URL", path)}
		}
		return &PathError{fmt.Sprintf("Bad path %q. %s", path, why)}
	}
	p := strings.TrimSpace(path)
	if i := strings.Index(p, "://"); i >= 0 {
		rest := p[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return nil, bad("")
		}
		p = rest[j:]
	}
	p = strings.TrimLeft(p, "/")
	id, rest, _ := strings.Cut(p, "/")
	if !uuidRe.MatchString(id) {
		return nil, bad("")
	}
	id = strings.ToLower(id)
	rest = strings.Trim(rest, "/")
	head, ops, _ := strings.Cut(rest, "/")
	if head == "" {
		return nil, bad("")
	}
	if head != kind {
		return nil, bad(fmt.Sprintf("Expected \"%s/%s/…\".", id, kind))
	}
	r := &Request{Kind: kind, Source: id}
	var norm []string
	if ops != "" {
		if !strings.HasPrefix(ops, "-/") {
			return nil, bad("Operations start with \"-/\".")
		}
		for _, op := range strings.Split(ops[2:], "/-/") {
			parts := strings.Split(strings.Trim(op, "/"), "/")
			if err := r.apply(parts); err != nil {
				return nil, bad(err.Error())
			}
			norm = append(norm, strings.Join(parts, "/"))
		}
	}
	if r.Format == "" {
		r.Format = "pdf"
		if kind == "video" {
			r.Format = "mp4"
		}
	}
	if kind == "video" {
		if r.Quality == "" {
			r.Quality = "normal"
		}
		if r.Thumbs == 0 {
			r.Thumbs = 1
		}
		if r.Width+r.Height > 0 && r.ResizeMode == "" {
			r.ResizeMode = "preserve_ratio"
		}
	}
	r.Path = id + "/" + kind + "/"
	for _, n := range norm {
		r.Path += "-/" + n + "/"
	}
	return r, nil
}

var (
	thumbsRe = regexp.MustCompile(`^thumbs~(\d+)$`)
	sizeRe   = regexp.MustCompile(`^(\d*)x(\d*)$`)
)

func (r *Request) apply(parts []string) error {
	name, args := parts[0], parts[1:]
	if m := thumbsRe.FindStringSubmatch(name); m != nil && r.Kind == "video" && len(args) == 0 {
		n, _ := strconv.Atoi(m[1])
		if n < 1 || n > 50 {
			return problemf("thumbs~N takes 1 to 50 thumbnails.")
		}
		r.Thumbs = n
		return nil
	}
	switch {
	case name == "format" && len(args) == 1:
		r.Format = strings.ToLower(args[0])
		args[0] = r.Format // normalised in Path too
		if r.Kind == "video" && r.Format != "mp4" && r.Format != "webm" && r.Format != "ogg" {
			return problemf("Video format %q is not mp4, webm or ogg.", args[0])
		}
		if r.Kind == "document" && !outFormats[r.Format] {
			return problemf("Document format %q is not supported.", args[0])
		}
	case name == "page" && len(args) == 1 && r.Kind == "document":
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 1 {
			return problemf("Page %q is not a page number.", args[0])
		}
		r.Page = n
	case name == "size" && (len(args) == 1 || len(args) == 2) && r.Kind == "video":
		m := sizeRe.FindStringSubmatch(args[0])
		if m == nil || m[1]+m[2] == "" {
			return problemf("Size %q is not WIDTHxHEIGHT.", args[0])
		}
		r.Width, _ = strconv.Atoi(m[1])
		r.Height, _ = strconv.Atoi(m[2])
		if (m[1] != "" && r.Width < 2) || (m[2] != "" && r.Height < 2) || r.Width > 7680 || r.Height > 7680 {
			return problemf("Size %q is out of range.", args[0])
		}
		if len(args) == 2 {
			switch args[1] {
			case "preserve_ratio", "change_ratio", "scale_crop", "add_padding":
				r.ResizeMode = args[1]
			default:
				return problemf("Resize mode %q is not supported.", args[1])
			}
			if args[1] != "preserve_ratio" && (r.Width == 0 || r.Height == 0) {
				return problemf("Resize mode %s needs both width and height.", args[1])
			}
		}
	case name == "quality" && len(args) == 1 && r.Kind == "video":
		if _, ok := qualities[args[0]]; !ok {
			return problemf("Quality %q is not supported.", args[0])
		}
		r.Quality = args[0]
	case name == "cut" && len(args) == 2 && r.Kind == "video":
		s, ok := parseTime(args[0])
		if !ok {
			return problemf("Cut start %q is not a time.", args[0])
		}
		l := -1.0
		if args[1] != "end" {
			if l, ok = parseTime(args[1]); !ok || l <= 0 {
				return problemf("Cut length %q is not a time.", args[1])
			}
		}
		r.Cut, r.CutStart, r.CutLength = true, s, l
	default:
		return problemf("Operation %q is not supported.", strings.Join(parts, "/"))
	}
	return nil
}

// parseTime reads HHH:MM:SS.sss, MM:SS.sss or SSSS.sss.
func parseTime(s string) (float64, bool) {
	fields := strings.Split(s, ":")
	if len(fields) > 3 || s == "" {
		return 0, false
	}
	var t float64
	for i, f := range fields {
		var v float64
		var err error
		if i == len(fields)-1 {
			v, err = strconv.ParseFloat(f, 64)
		} else {
			var n int
			n, err = strconv.Atoi(f)
			v = float64(n)
		}
		if err != nil || v < 0 {
			return 0, false
		}
		t = t*60 + v
	}
	return t, true
}

// problem is a sentence shown to API clients among a request's problems,
// keyed by the path that caused it.
type problem string

func (p problem) Error() string { return string(p) }

func problemf(format string, args ...any) error { return problem(fmt.Sprintf(format, args...)) }
