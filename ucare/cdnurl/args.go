package cdnurl

import (
	"fmt"
	"strconv"
	"strings"
)

// Input bounds enforced by Parse and ParseOps.
const (
	// MaxPathLen is the longest path (or ops string) accepted, in bytes.
	MaxPathLen = 8 << 10
	// MaxOps is the largest number of operations in one URL.
	MaxOps = 64
	// MaxPixels bounds every pixel dimension, offset and padding.
	MaxPixels = 100000
	// MaxGroupSize is the largest N of a group id "<uuid>~N".
	MaxGroupSize = 1000
)

// ParseError describes why a CDN path or operation is invalid. Op is the
// operation concerned ("" for errors in the path structure); Msg says what is
// wrong. The CDN answers it as 400 with Error() as the body.
type ParseError struct {
	Op  string
	Msg string
}

// Error implements error.
func (e *ParseError) Error() string {
	if e.Op == "" {
		return "invalid CDN URL: " + e.Msg
	}
	return "invalid operation " + e.Op + ": " + e.Msg
}

func perr(op, format string, a ...any) *ParseError {
	return &ParseError{Op: op, Msg: fmt.Sprintf(format, a...)}
}

// q quotes user input for error messages, truncating long values.
func q(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}

// decodeSeg percent-decodes a path segment leniently: a valid %XX becomes
// its byte, any other '%' is kept literally. '+' is not a space.
func decodeSeg(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, h<<4|l)
				i += 2
				continue
			}
		}
		b = append(b, c)
	}
	return string(b)
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// atoi parses a strict decimal integer: optional '-' (when neg), 1–9 digits.
func atoi(s string, neg bool) (int, bool) {
	d := s
	if neg && strings.HasPrefix(d, "-") {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 9 {
		return 0, false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// intArg parses an integer argument within [min, max].
func intArg(op, what, s string, min, max int) (int, error) {
	n, ok := atoi(s, min < 0)
	if !ok {
		return 0, perr(op, "%s %s is not an integer in %d..%d", what, q(s), min, max)
	}
	if n < min || n > max {
		return 0, perr(op, "%s %d is out of range %d..%d", what, n, min, max)
	}
	return n, nil
}

// parseDecimal parses "D{1,6}" optionally followed by ".D{1,3}".
func parseDecimal(s string) (float64, bool) {
	ip, fp, hasDot := strings.Cut(s, ".")
	if len(ip) == 0 || len(ip) > 6 || (hasDot && (len(fp) == 0 || len(fp) > 3)) {
		return 0, false
	}
	for _, part := range []string{ip, fp} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, false
			}
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// lengthRule says which forms and ranges a Length argument accepts.
type lengthRule struct {
	px, pct      bool
	pxMin, pxMax int
	pctMax       float64
	positive     bool // percent must be > 0
}

var (
	rulePxSize     = lengthRule{px: true, pxMin: 1, pxMax: MaxPixels}
	ruleSize       = lengthRule{px: true, pct: true, pxMin: 1, pxMax: MaxPixels, pctMax: 100, positive: true}
	ruleObjectSize = lengthRule{px: true, pct: true, pxMin: 1, pxMax: MaxPixels, pctMax: 1000, positive: true}
	ruleOffset     = lengthRule{px: true, pct: true, pxMin: -MaxPixels, pxMax: MaxPixels, pctMax: 100}
	rulePctOffset  = lengthRule{pct: true, pctMax: 100}
	ruleRadius     = lengthRule{px: true, pct: true, pxMin: 0, pxMax: MaxPixels, pctMax: 100}
	ruleOpacity    = lengthRule{pct: true, pctMax: 100}
)

// parseLength parses "N" (pixels) or "Np"/"N%" (percent) under r. Zero
// lengths are normalised to pixels when pixels are allowed.
func parseLength(op, what, s string, r lengthRule) (Length, error) {
	if num, ok := strings.CutSuffix(s, "p"); ok || strings.HasSuffix(s, "%") {
		if !ok {
			num = strings.TrimSuffix(s, "%")
		}
		if !r.pct {
			return Length{}, perr(op, "%s %s: percentages are not allowed here", what, q(s))
		}
		v, ok := parseDecimal(num)
		if !ok {
			return Length{}, perr(op, "%s %s is not a percentage", what, q(s))
		}
		if v > r.pctMax || (r.positive && v == 0) {
			lo := "0"
			if r.positive {
				lo = ">0"
			}
			return Length{}, perr(op, "%s %s is out of range %s..%sp", what, q(s), lo, fmtNum(r.pctMax))
		}
		if v == 0 && r.px {
			return Length{}, nil
		}
		return Length{Value: v, Percent: true}, nil
	}
	if !r.px {
		return Length{}, perr(op, "%s %s must be a percentage like 50p", what, q(s))
	}
	n, ok := atoi(s, r.pxMin < 0)
	if !ok {
		return Length{}, perr(op, "%s %s is not a pixel value or percentage", what, q(s))
	}
	if n < r.pxMin || n > r.pxMax {
		return Length{}, perr(op, "%s %d is out of range %d..%d px", what, n, r.pxMin, r.pxMax)
	}
	return Length{Value: float64(n)}, nil
}

// parseSize parses "WxH", "Wx" or "xH" (both sides required when both).
func parseSize(op, s string, r lengthRule, both bool) (Size, error) {
	w, h, ok := strings.Cut(s, "x")
	if !ok || strings.Contains(h, "x") {
		return Size{}, perr(op, "size %s must look like WxH", q(s))
	}
	if w == "" && h == "" || both && (w == "" || h == "") {
		if both {
			return Size{}, perr(op, "size %s needs both width and height", q(s))
		}
		return Size{}, perr(op, "size %s needs a width or a height", q(s))
	}
	var sz Size
	var err error
	if w != "" {
		if sz.W, err = parseLength(op, "width", w, r); err != nil {
			return Size{}, err
		}
		sz.WSet = true
	}
	if h != "" {
		if sz.H, err = parseLength(op, "height", h, r); err != nil {
			return Size{}, err
		}
		sz.HSet = true
	}
	return sz, nil
}

func isSizeLike(s string) bool { return strings.Contains(s, "x") }

func parseAlign(s string) (Align, bool) {
	switch a := Align(s); a {
	case AlignCenter, AlignTop, AlignBottom, AlignLeft, AlignRight:
		return a, true
	}
	return "", false
}

// parsePoint parses "x,y".
func parsePoint(op, s string, r lengthRule) (Position, error) {
	xs, ys, ok := strings.Cut(s, ",")
	if !ok || strings.Contains(ys, ",") {
		return Position{}, perr(op, "position %s must be an alignment keyword (center, top, bottom, left, right) or x,y", q(s))
	}
	x, err := parseLength(op, "x offset", xs, r)
	if err != nil {
		return Position{}, err
	}
	y, err := parseLength(op, "y offset", ys, r)
	if err != nil {
		return Position{}, err
	}
	return Position{X: x, Y: y}, nil
}

// parsePosition parses an alignment keyword or an "x,y" point.
func parsePosition(op, s string, r lengthRule) (Position, error) {
	if a, ok := parseAlign(s); ok {
		return Position{Align: a}, nil
	}
	return parsePoint(op, s, r)
}

// parseColor parses 3, 6 or 8 hex digits (RGB, RRGGBB, RRGGBBAA).
func parseColor(op, s string) (Color, error) {
	bad := perr(op, "colour %s must be 3, 6 or 8 hex digits", q(s))
	if len(s) != 3 && len(s) != 6 && len(s) != 8 {
		return Color{}, bad
	}
	v := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		d, ok := unhex(s[i])
		if !ok {
			return Color{}, bad
		}
		v[i] = d
	}
	if len(s) == 3 {
		return Color{R: v[0] * 17, G: v[1] * 17, B: v[2] * 17, A: 255}, nil
	}
	c := Color{R: v[0]<<4 | v[1], G: v[2]<<4 | v[3], B: v[4]<<4 | v[5], A: 255}
	if len(s) == 8 {
		c.A = v[6]<<4 | v[7]
	}
	return c, nil
}

func parseYesNo(op, s string) (bool, error) {
	switch s {
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, perr(op, "value %s must be yes or no", q(s))
}

// oneOf checks s against the allowed values.
func oneOf(op, what, s string, allowed ...string) (string, error) {
	for _, a := range allowed {
		if s == a {
			return s, nil
		}
	}
	return "", perr(op, "%s %s must be one of %s", what, q(s), strings.Join(allowed, ", "))
}

// parseRatio parses "A:B" with positive decimals.
func parseRatio(op, s string) (Ratio, error) {
	as, bs, ok := strings.Cut(s, ":")
	a, okA := parseDecimal(as)
	b, okB := parseDecimal(bs)
	if !ok || !okA || !okB {
		return Ratio{}, perr(op, "aspect ratio %s must look like A:B", q(s))
	}
	if a <= 0 || b <= 0 || a > MaxPixels || b > MaxPixels {
		return Ratio{}, perr(op, "aspect ratio %s: both terms must be in >0..%d", q(s), MaxPixels)
	}
	return Ratio{A: a, B: b}, nil
}

// decodeText undoes the text escaping after percent-decoding:
// "~~" → "~", "~s" → "/", "~n" → newline.
func decodeText(s string) (string, error) {
	if strings.IndexByte(s, '~') < 0 {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '~' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", perr("text", "text ends with a lone ~ (write ~~ for a tilde)")
		}
		i++
		switch s[i] {
		case '~':
			b.WriteByte('~')
		case 's':
			b.WriteByte('/')
		case 'n':
			b.WriteByte('\n')
		default:
			return "", perr("text", "unknown escape %s in text (use ~~, ~s or ~n)", q(s[i-1:i+1]))
		}
	}
	return b.String(), nil
}
