package cdnurl

import (
	"net/url"
	"strconv"
	"strings"
)

// FormatOps renders operations in canonical form: "op/args/-/op/args/" (no
// leading "-/", a trailing "/", "" for none). The variant cache keys on it,
// so Parse normalises semantically equal spellings to one form:
//
//   - numbers: decimal without sign '+' or leading zeros; pixels are
//     integers, percentages are written "Np" (never "%"), shortest decimal
//     ("12.50%" → "12.5p"); a zero length is written "0" (pixels) where
//     pixels are allowed.
//   - colours: lowercase hex, shortest of 3 digits (each channel a doubled
//     nibble, opaque), 6 digits (opaque) or 8 digits (with alpha):
//     "FFFFFF" → "fff", "ff000080" stays.
//   - defaults are omitted: "preview/2048x2048/" → "preview/",
//     "enhance/50/" → "enhance/", "sharp/5/" → "sharp/", "blur/10/" →
//     "blur/" (kept when an amount follows), "filter/<f>/100/" →
//     "filter/<f>/", "main_colors/4/" → "main_colors/", "font/<n>/000/" →
//     "font/<n>/", "crop/WxH/0,0/" → "crop/WxH/", "crop/A:B/center/" →
//     "crop/A:B/".
//   - "-/effect/<name>/…" is written "<name>/…"; "format/jpg/" → "format/jpeg/";
//     rotate angles become 0, 90, 180 or 270 ("rotate/-90/" → "rotate/270/").
//   - border_radius: the shortest CSS-style list of 1–4 radii ("10,10" →
//     "10", "1,2,1,2" → "1,2"); vertical radii equal to the horizontal ones
//     are dropped.
//   - text: "~" → "~~", "/" → "~s", newline → "~n", then every byte outside
//     [A-Za-z0-9._~-] as uppercase %XX; a text of "-", "." or ".." is
//     percent-encoded entirely.
//
// Format expects the value types Parse produces (Resize, not *Resize);
// any other Op is written as its Name() alone.
//
// (It is not called Format because ops.go's output-format operation type
// already has that name.)
func FormatOps(ops []Op) string {
	var b strings.Builder
	for i, op := range ops {
		if i > 0 {
			b.WriteString("-/")
		}
		writeOp(&b, op)
	}
	return b.String()
}

// Path renders the canonical URL path of t (see Parse for the forms and
// FormatOps for the operations). The filename is path-escaped.
func (t *Target) Path() string {
	var b strings.Builder
	b.WriteByte('/')
	if t.GroupID != "" {
		b.WriteString(t.GroupID)
		b.WriteByte('/')
		if t.Archive != "" {
			b.WriteString("archive/")
			b.WriteString(t.Archive)
			b.WriteByte('/')
			b.WriteString(url.PathEscape(t.Filename))
			return b.String()
		}
		if t.Nth < 0 {
			return b.String()
		}
		b.WriteString("nth/")
		b.WriteString(strconv.Itoa(t.Nth))
		b.WriteByte('/')
	} else {
		b.WriteString(t.UUID)
		b.WriteByte('/')
		switch t.Special {
		case SpecialDetectFaces:
			b.WriteString("detect_faces/")
			return b.String()
		case SpecialGif2Video:
			b.WriteString("gif2video/")
		}
	}
	if len(t.Ops) > 0 {
		b.WriteString("-/")
		b.WriteString(FormatOps(t.Ops))
	}
	b.WriteString(url.PathEscape(t.Filename))
	return b.String()
}

// String returns Path().
func (t *Target) String() string { return t.Path() }

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func fmtLength(l Length) string {
	if l.Percent {
		return fmtNum(l.Value) + "p"
	}
	return fmtNum(l.Value)
}

func fmtSize(s Size) string {
	var w, h string
	if s.WSet {
		w = fmtLength(s.W)
	}
	if s.HSet {
		h = fmtLength(s.H)
	}
	return w + "x" + h
}

func fmtPosition(p Position) string {
	if p.Align != "" {
		return string(p.Align)
	}
	return fmtLength(p.X) + "," + fmtLength(p.Y)
}

const hexDigits = "0123456789abcdef"

func fmtColor(c Color) string {
	if c.A == 255 && c.R%17 == 0 && c.G%17 == 0 && c.B%17 == 0 {
		return string([]byte{hexDigits[c.R/17], hexDigits[c.G/17], hexDigits[c.B/17]})
	}
	n := 3
	if c.A != 255 {
		n = 4
	}
	out := make([]byte, 0, 2*n)
	for _, v := range []uint8{c.R, c.G, c.B, c.A}[:n] {
		out = append(out, hexDigits[v>>4], hexDigits[v&15])
	}
	return string(out)
}

func fmtYesNo(on bool) string {
	if on {
		return "yes"
	}
	return "no"
}

func fmtRadii(r []Length) string {
	parts := make([]string, len(r))
	for i, l := range r {
		parts[i] = fmtLength(l)
	}
	return strings.Join(parts, ",")
}

// escapeText applies the text escaping of the text operation.
func escapeText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '~':
			b.WriteString("~~")
		case c == '/':
			b.WriteString("~s")
		case c == '\n':
			b.WriteString("~n")
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		}
	}
	switch out := b.String(); out {
	case "-":
		return "%2D"
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	default:
		return out
	}
}

// writeOp writes one operation with its trailing "/".
func writeOp(b *strings.Builder, op Op) {
	var args []string
	switch o := op.(type) {
	case Preview:
		if o.Size != nil {
			args = append(args, fmtSize(*o.Size))
		}
	case Resize:
		args = append(args, fmtSize(o.Size))
	case SmartResize:
		args = append(args, fmtSize(o.Size))
	case Stretch:
		args = append(args, o.Mode)
	case SetFill:
		args = append(args, fmtColor(o.Color))
	case Crop:
		if o.Object != "" {
			args = append(args, o.Object)
		}
		switch {
		case o.Ratio != nil:
			args = append(args, fmtNum(o.Ratio.A)+":"+fmtNum(o.Ratio.B))
		case o.Size != nil:
			args = append(args, fmtSize(*o.Size))
		}
		if o.Position != nil {
			args = append(args, fmtPosition(*o.Position))
		}
	case ScaleCrop:
		args = append(args, fmtSize(o.Size))
		if o.Type != "" {
			args = append(args, o.Type)
		}
		if o.Position != nil {
			args = append(args, fmtPosition(*o.Position))
		}
	case BorderRadius:
		args = append(args, fmtRadii(o.Radii))
		if len(o.Vertical) > 0 {
			args = append(args, fmtRadii(o.Vertical))
		}
	case ZoomObjects:
		args = append(args, strconv.Itoa(o.Zoom))
	case Autorotate:
		args = append(args, fmtYesNo(o.On))
	case Rotate:
		args = append(args, strconv.Itoa(o.Degrees))
	case Format:
		args = append(args, o.Format)
	case Quality:
		args = append(args, o.Level)
	case Progressive:
		args = append(args, fmtYesNo(o.On))
	case StripMeta:
		args = append(args, o.Mode)
	case Inline:
		args = append(args, fmtYesNo(o.On))
	case Adjust:
		args = append(args, strconv.Itoa(o.Value))
	case Enhance:
		if o.Strength != DefaultEnhance {
			args = append(args, strconv.Itoa(o.Strength))
		}
	case Filter:
		args = append(args, o.Filter)
		if o.Strength != DefaultFilterStrength {
			args = append(args, strconv.Itoa(o.Strength))
		}
	case Blur:
		if o.HasAmount || o.Strength != DefaultBlur {
			args = append(args, strconv.Itoa(o.Strength))
		}
		if o.HasAmount {
			args = append(args, strconv.Itoa(o.Amount))
		}
	case BlurRegion:
		if o.Faces {
			args = append(args, "faces")
		} else {
			args = append(args, fmtSize(o.Size), fmtPosition(o.Position))
		}
		if o.Strength != 0 {
			args = append(args, strconv.Itoa(o.Strength))
		}
	case Sharp:
		if o.Strength != DefaultSharp {
			args = append(args, strconv.Itoa(o.Strength))
		}
	case SRGB:
		args = append(args, o.Mode)
	case MaxICCSize:
		args = append(args, strconv.Itoa(o.KB))
	case Overlay:
		args = append(args, o.UUID)
		if o.Size != nil {
			args = append(args, fmtSize(*o.Size))
			if o.Position != nil {
				args = append(args, fmtPosition(*o.Position))
				if o.Opacity != nil {
					args = append(args, fmtLength(*o.Opacity))
				}
			}
		}
	case Rect:
		args = append(args, fmtColor(o.Color), fmtSize(o.Size), fmtPosition(o.Position))
	case Text:
		args = append(args, fmtSize(o.Size), fmtPosition(o.Position), escapeText(o.Text))
	case TextAlign:
		args = append(args, o.H, o.V)
	case Font:
		args = append(args, strconv.Itoa(o.Size))
		if o.Color != nil && *o.Color != (Color{A: 255}) {
			args = append(args, fmtColor(*o.Color))
		}
	case TextBox:
		args = append(args, o.Mode)
		if o.Color != nil {
			args = append(args, fmtColor(*o.Color))
			if o.Padding != nil {
				args = append(args, strconv.Itoa(*o.Padding))
			}
		}
	case MainColors:
		if o.N != DefaultMainColors {
			args = append(args, strconv.Itoa(o.N))
		}
	}
	b.WriteString(op.Name())
	b.WriteByte('/')
	for _, a := range args {
		b.WriteString(a)
		b.WriteByte('/')
	}
}
