package cdnurl

import (
	"strings"
)

// Operation defaults; Parse fills them in and Format omits them.
const (
	DefaultPreviewSize    = 2048
	DefaultEnhance        = 50
	DefaultFilterStrength = 100
	DefaultBlur           = 10
	DefaultSharp          = 5
	DefaultMainColors     = 4
)

// context restricts which operations may appear.
type context int

const (
	ctxImage     context = iota
	ctxGif2Video         // after /<uuid>/gif2video/: only format and quality
)

// ScaleCropTypes are the content-aware types of scale_crop.
var ScaleCropTypes = []string{
	"smart", "smart_faces_objects_points", "smart_faces_objects", "smart_faces_points",
	"smart_objects_faces_points", "smart_objects_faces", "smart_objects_points",
	"smart_points", "smart_objects", "smart_faces",
}

// FilterNames are the names accepted by the filter operation.
var FilterNames = []string{
	"adaris", "briaril", "calarel", "carris", "cynarel", "cyren", "elmet", "elonni",
	"enzana", "erydark", "fenralan", "ferand", "galen", "gavin", "gethriel", "iorill",
	"iothari", "iselva", "jadis", "lavra", "misiara", "namala", "nerion", "nethari",
	"pamaya", "sarnar", "sedis", "sewen", "sorahel", "sorlen", "tarian", "thellassan",
	"varriel", "varven", "vevera", "virkas", "yedis", "yllara", "zatvel", "zevcen",
}

// adjustRanges are the ranges of the one-integer colour adjustments.
var adjustRanges = map[string][2]int{
	"brightness": {-100, 100},
	"exposure":   {-500, 500},
	"gamma":      {0, 1000},
	"contrast":   {-100, 500},
	"saturation": {-100, 500},
	"vibrance":   {-100, 500},
	"warmth":     {-100, 100},
}

var (
	imageFormats    = []string{"jpeg", "png", "webp", "avif", "gif", "auto", "preserve"}
	videoFormats    = []string{"mp4", "webm"}
	imageQualities  = []string{"normal", "better", "best", "lighter", "lightest", "smart", "smart_retina"}
	videoQualities  = []string{"normal", "better", "best", "lighter", "lightest"}
	scaleCropTypeOK = func() map[string]bool {
		m := map[string]bool{}
		for _, t := range ScaleCropTypes {
			m[t] = true
		}
		return m
	}()
	filterOK = func() map[string]bool {
		m := map[string]bool{}
		for _, f := range FilterNames {
			m[f] = true
		}
		return m
	}()
)

// nargs checks the argument count.
func nargs(op string, args []string, min, max int) error {
	switch {
	case len(args) < min && min == max:
		return perr(op, "expects %d argument(s), got %d", min, len(args))
	case len(args) < min:
		return perr(op, "expects at least %d argument(s), got %d", min, len(args))
	case len(args) > max && max == 0:
		return perr(op, "takes no arguments, got %s", q(strings.Join(args, "/")))
	case len(args) > max:
		return perr(op, "expects at most %d argument(s), got %d", max, len(args))
	}
	return nil
}

// parseOp parses one operation from its decoded name and arguments.
func parseOp(name string, args []string, ctx context) (Op, error) {
	if name == "effect" {
		if len(args) == 0 {
			return nil, perr("effect", "missing effect name")
		}
		if args[0] == "effect" {
			return nil, perr("effect", "nested effect")
		}
		name, args = args[0], args[1:]
	}
	if ctx == ctxGif2Video {
		switch name {
		case "format":
			if err := nargs(name, args, 1, 1); err != nil {
				return nil, err
			}
			f, err := oneOf(name, "video format", args[0], videoFormats...)
			return Format{Format: f}, err
		case "quality":
			if err := nargs(name, args, 1, 1); err != nil {
				return nil, err
			}
			l, err := oneOf(name, "video quality", args[0], videoQualities...)
			return Quality{Level: l}, err
		}
		return nil, perr(name, "not supported after gif2video (only format and quality)")
	}
	if r, ok := adjustRanges[name]; ok {
		if err := nargs(name, args, 1, 1); err != nil {
			return nil, err
		}
		v, err := intArg(name, "value", args[0], r[0], r[1])
		return Adjust{Op: name, Value: v}, err
	}
	switch name {
	case "preview":
		if err := nargs(name, args, 0, 1); err != nil {
			return nil, err
		}
		if len(args) == 0 {
			return Preview{}, nil
		}
		sz, err := parseSize(name, args[0], rulePxSize, false)
		if err != nil {
			return nil, err
		}
		if sz.WSet && sz.HSet && sz.W.Value == DefaultPreviewSize && sz.H.Value == DefaultPreviewSize {
			return Preview{}, nil
		}
		return Preview{Size: &sz}, nil
	case "resize", "smart_resize":
		if err := nargs(name, args, 1, 1); err != nil {
			return nil, err
		}
		sz, err := parseSize(name, args[0], rulePxSize, name == "smart_resize")
		if err != nil {
			return nil, err
		}
		if name == "resize" {
			return Resize{Size: sz}, nil
		}
		return SmartResize{Size: sz}, nil
	case "stretch":
		if err := nargs(name, args, 1, 1); err != nil {
			return nil, err
		}
		m, err := oneOf(name, "mode", args[0], "on", "off", "fill")
		return Stretch{Mode: m}, err
	case "setfill":
		if err := nargs(name, args, 1, 1); err != nil {
			return nil, err
		}
		c, err := parseColor(name, args[0])
		return SetFill{Color: c}, err
	case "crop":
		return parseCrop(args)
	case "scale_crop":
		return parseScaleCrop(args)
	case "border_radius":
		return parseBorderRadius(args)
	case "zoom_objects":
		if err := nargs(name, args, 1, 1); err != nil {
			return nil, err
		}
		z, err := intArg(name, "zoom", args[0], 1, 100)
		return ZoomObjects{Zoom: z}, err
	case "autorotate", "progressive", "inline":
		if err := nargs(name, args, 1, 1); err != nil {
			return nil, err
		}
		on, err := parseYesNo(name, args[0])
		if err != nil {
			return nil, err
		}
		switch name {
		case "autorotate":
			return Autorotate{On: on}, nil
		case "progressive":
			return Progressive{On: on}, nil
		}
		return Inline{On: on}, nil
	case "rotate":
		if err := nargs(name, args, 1, 1); err != nil {
			return nil, err
		}
		d, err := intArg(name, "angle", args[0], -360, 360)
		if err != nil {
			return nil, err
		}
		if d%90 != 0 {
			return nil, perr(name, "angle %d is not a multiple of 90", d)
		}
		return Rotate{Degrees: ((d % 360) + 360) % 360}, nil
	case "flip", "mirror", "rasterize", "grayscale", "invert", "json", "jsonp":
		if err := nargs(name, args, 0, 0); err != nil {
			return nil, err
		}
		switch name {
		case "flip":
			return Flip{}, nil
		case "mirror":
			return Mirror{}, nil
		case "rasterize":
			return Rasterize{}, nil
		case "grayscale":
			return Grayscale{}, nil
		case "invert":
			return Invert{}, nil
		case "json":
			return JSON{}, nil
		}
		return JSONP{}, nil
	case "format":
		if err := nargs(name, args, 1, 1); err != nil {
			return nil, err
		}
		f := args[0]
		if f == "jpg" {
			f = "jpeg"
		}
		f, err := oneOf(name, "format", f, imageFormats...)
		return Format{Format: f}, err
	case "quality":
		if err := nargs(name, args, 1, 1); err != nil {
			return nil, err
		}
		l, err := oneOf(name, "quality", args[0], imageQualities...)
		return Quality{Level: l}, err
	case "strip_meta":
		if err := nargs(name, args, 1, 1); err != nil {
			return nil, err
		}
		m, err := oneOf(name, "mode", args[0], "all", "none", "sensitive")
		return StripMeta{Mode: m}, err
	case "enhance":
		if err := nargs(name, args, 0, 1); err != nil {
			return nil, err
		}
		if len(args) == 0 {
			return Enhance{Strength: DefaultEnhance}, nil
		}
		v, err := intArg(name, "strength", args[0], 0, 100)
		return Enhance{Strength: v}, err
	case "filter":
		if err := nargs(name, args, 1, 2); err != nil {
			return nil, err
		}
		if !filterOK[args[0]] {
			return nil, perr(name, "unknown filter %s", q(args[0]))
		}
		f := Filter{Filter: args[0], Strength: DefaultFilterStrength}
		if len(args) == 2 {
			v, err := intArg(name, "strength", args[1], -100, 200)
			if err != nil {
				return nil, err
			}
			f.Strength = v
		}
		return f, nil
	case "blur":
		if err := nargs(name, args, 0, 2); err != nil {
			return nil, err
		}
		b := Blur{Strength: DefaultBlur}
		if len(args) >= 1 {
			v, err := intArg(name, "strength", args[0], 0, 5000)
			if err != nil {
				return nil, err
			}
			b.Strength = v
		}
		if len(args) == 2 {
			v, err := intArg(name, "amount", args[1], -200, 100)
			if err != nil {
				return nil, err
			}
			b.Amount, b.HasAmount = v, true
		}
		return b, nil
	case "blur_region":
		return parseBlurRegion(args)
	case "sharp":
		if err := nargs(name, args, 0, 1); err != nil {
			return nil, err
		}
		if len(args) == 0 {
			return Sharp{Strength: DefaultSharp}, nil
		}
		v, err := intArg(name, "strength", args[0], 0, 20)
		return Sharp{Strength: v}, err
	case "srgb":
		if err := nargs(name, args, 1, 1); err != nil {
			return nil, err
		}
		m, err := oneOf(name, "mode", args[0], "fast", "icc", "keep_profile")
		return SRGB{Mode: m}, err
	case "max_icc_size":
		if err := nargs(name, args, 1, 1); err != nil {
			return nil, err
		}
		v, err := intArg(name, "size in KB", args[0], 0, 65536)
		return MaxICCSize{KB: v}, err
	case "overlay":
		return parseOverlay(args)
	case "rect":
		if err := nargs(name, args, 3, 3); err != nil {
			return nil, err
		}
		c, err := parseColor(name, args[0])
		if err != nil {
			return nil, err
		}
		sz, err := parseSize(name, args[1], ruleSize, true)
		if err != nil {
			return nil, err
		}
		pos, err := parsePosition(name, args[2], ruleOffset)
		if err != nil {
			return nil, err
		}
		return Rect{Color: c, Size: sz, Position: pos}, nil
	case "text":
		if err := nargs(name, args, 3, 3); err != nil {
			return nil, err
		}
		sz, err := parseSize(name, args[0], ruleSize, true)
		if err != nil {
			return nil, err
		}
		pos, err := parsePosition(name, args[1], ruleOffset)
		if err != nil {
			return nil, err
		}
		txt, err := decodeText(args[2])
		if err != nil {
			return nil, err
		}
		return Text{Size: sz, Position: pos, Text: txt}, nil
	case "text_align":
		if err := nargs(name, args, 2, 2); err != nil {
			return nil, err
		}
		h, err := oneOf(name, "horizontal alignment", args[0], "left", "center", "right")
		if err != nil {
			return nil, err
		}
		v, err := oneOf(name, "vertical alignment", args[1], "top", "center", "bottom")
		return TextAlign{H: h, V: v}, err
	case "font":
		if err := nargs(name, args, 1, 2); err != nil {
			return nil, err
		}
		sz, err := intArg(name, "size", args[0], 1, 1000)
		if err != nil {
			return nil, err
		}
		f := Font{Size: sz}
		if len(args) == 2 {
			c, err := parseColor(name, args[1])
			if err != nil {
				return nil, err
			}
			if c != (Color{A: 255}) { // black is the default
				f.Color = &c
			}
		}
		return f, nil
	case "text_box":
		if err := nargs(name, args, 1, 3); err != nil {
			return nil, err
		}
		m, err := oneOf(name, "mode", args[0], "none", "fit", "line", "fill")
		if err != nil {
			return nil, err
		}
		tb := TextBox{Mode: m}
		if len(args) >= 2 {
			c, err := parseColor(name, args[1])
			if err != nil {
				return nil, err
			}
			tb.Color = &c
		}
		if len(args) == 3 {
			p, err := intArg(name, "padding", args[2], 0, MaxPixels)
			if err != nil {
				return nil, err
			}
			tb.Padding = &p
		}
		return tb, nil
	case "main_colors":
		if err := nargs(name, args, 0, 1); err != nil {
			return nil, err
		}
		if len(args) == 0 {
			return MainColors{N: DefaultMainColors}, nil
		}
		n, err := intArg(name, "number of colours", args[0], 1, 256)
		return MainColors{N: n}, err
	case "":
		return nil, perr("", "empty operation name")
	}
	return nil, perr("", "unknown operation %s", q(name))
}

func parseCrop(args []string) (Op, error) {
	const op = "crop"
	if err := nargs(op, args, 1, 3); err != nil {
		return nil, err
	}
	if args[0] == "face" || args[0] == "image" {
		c := Crop{Object: args[0]}
		rest := args[1:]
		if len(rest) > 0 && strings.Contains(rest[0], ":") {
			r, err := parseRatio(op, rest[0])
			if err != nil {
				return nil, err
			}
			c.Ratio, rest = &r, rest[1:]
		} else if len(rest) > 0 && isSizeLike(rest[0]) {
			sz, err := parseSize(op, rest[0], ruleObjectSize, true)
			if err != nil {
				return nil, err
			}
			c.Size, rest = &sz, rest[1:]
		}
		if len(rest) > 0 {
			p, err := parsePosition(op, rest[0], ruleOffset)
			if err != nil {
				return nil, err
			}
			c.Position, rest = &p, rest[1:]
		}
		if len(rest) > 0 {
			return nil, perr(op, "unexpected argument %s after object crop position", q(rest[0]))
		}
		return c, nil
	}
	if err := nargs(op, args, 1, 2); err != nil {
		return nil, err
	}
	var c Crop
	if strings.Contains(args[0], ":") {
		r, err := parseRatio(op, args[0])
		if err != nil {
			return nil, err
		}
		c.Ratio = &r
	} else {
		sz, err := parseSize(op, args[0], ruleSize, true)
		if err != nil {
			return nil, err
		}
		c.Size = &sz
	}
	if len(args) == 2 {
		p, err := parsePosition(op, args[1], ruleOffset)
		if err != nil {
			return nil, err
		}
		// Defaults: 0,0 for sizes, center for ratios.
		if c.Size != nil && !(p.Align == "" && p.X.Value == 0 && p.Y.Value == 0) ||
			c.Ratio != nil && p.Align != AlignCenter {
			c.Position = &p
		}
	}
	return c, nil
}

func parseScaleCrop(args []string) (Op, error) {
	const op = "scale_crop"
	if err := nargs(op, args, 1, 3); err != nil {
		return nil, err
	}
	sz, err := parseSize(op, args[0], rulePxSize, true)
	if err != nil {
		return nil, err
	}
	sc := ScaleCrop{Size: sz}
	rest := args[1:]
	if len(rest) > 0 && strings.HasPrefix(rest[0], "smart") {
		if !scaleCropTypeOK[rest[0]] {
			return nil, perr(op, "type %s must be one of %s", q(rest[0]), strings.Join(ScaleCropTypes, ", "))
		}
		sc.Type, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		p, err := parsePosition(op, rest[0], rulePctOffset)
		if err != nil {
			return nil, err
		}
		sc.Position, rest = &p, rest[1:]
	}
	if len(rest) > 0 {
		return nil, perr(op, "unexpected argument %s", q(rest[0]))
	}
	return sc, nil
}

func parseRadii(op, s string) ([]Length, error) {
	parts := strings.Split(s, ",")
	if len(parts) > 4 {
		return nil, perr(op, "radii %s: at most 4 values", q(s))
	}
	out := make([]Length, len(parts))
	for i, p := range parts {
		l, err := parseLength(op, "radius", p, ruleRadius)
		if err != nil {
			return nil, err
		}
		out[i] = l
	}
	return out, nil
}

// expandRadii expands 1–4 CSS-style radii to top-left, top-right,
// bottom-right, bottom-left.
func expandRadii(r []Length) [4]Length {
	switch len(r) {
	case 1:
		return [4]Length{r[0], r[0], r[0], r[0]}
	case 2:
		return [4]Length{r[0], r[1], r[0], r[1]}
	case 3:
		return [4]Length{r[0], r[1], r[2], r[1]}
	}
	return [4]Length{r[0], r[1], r[2], r[3]}
}

// collapseRadii is the shortest CSS-style list for four radii.
func collapseRadii(e [4]Length) []Length {
	r := e[:]
	if r[3] == r[1] {
		r = r[:3]
		if r[2] == r[0] {
			r = r[:2]
			if r[1] == r[0] {
				r = r[:1]
			}
		}
	}
	return append([]Length(nil), r...)
}

func parseBorderRadius(args []string) (Op, error) {
	const op = "border_radius"
	if err := nargs(op, args, 1, 2); err != nil {
		return nil, err
	}
	h, err := parseRadii(op, args[0])
	if err != nil {
		return nil, err
	}
	he := expandRadii(h)
	br := BorderRadius{Radii: collapseRadii(he)}
	if len(args) == 2 {
		v, err := parseRadii(op, args[1])
		if err != nil {
			return nil, err
		}
		if ve := expandRadii(v); ve != he {
			br.Vertical = collapseRadii(ve)
		}
	}
	return br, nil
}

func parseBlurRegion(args []string) (Op, error) {
	const op = "blur_region"
	if err := nargs(op, args, 1, 3); err != nil {
		return nil, err
	}
	var br BlurRegion
	var rest []string
	if args[0] == "faces" {
		br.Faces = true
		rest = args[1:]
		if len(rest) > 1 {
			return nil, perr(op, "faces takes at most a strength, got %d arguments", len(rest))
		}
	} else {
		if len(args) < 2 {
			return nil, perr(op, "expects WxH/x,y/[strength/] or faces/[strength/]")
		}
		sz, err := parseSize(op, args[0], ruleSize, true)
		if err != nil {
			return nil, err
		}
		pos, err := parsePoint(op, args[1], ruleOffset)
		if err != nil {
			return nil, err
		}
		br.Size, br.Position = sz, pos
		rest = args[2:]
	}
	if len(rest) == 1 {
		v, err := intArg(op, "strength", rest[0], 1, 5000)
		if err != nil {
			return nil, err
		}
		br.Strength = v
	}
	return br, nil
}

func parseOverlay(args []string) (Op, error) {
	const op = "overlay"
	if err := nargs(op, args, 1, 4); err != nil {
		return nil, err
	}
	o := Overlay{UUID: args[0]}
	if o.UUID != "self" && !validUUID(o.UUID) {
		return nil, perr(op, "%s is neither a lowercase file UUID nor self", q(args[0]))
	}
	if len(args) >= 2 {
		sz, err := parseSize(op, args[1], ruleSize, false)
		if err != nil {
			return nil, err
		}
		o.Size = &sz
	}
	if len(args) >= 3 {
		p, err := parsePosition(op, args[2], ruleOffset)
		if err != nil {
			return nil, err
		}
		o.Position = &p
	}
	if len(args) == 4 {
		l, err := parseLength(op, "opacity", args[3], ruleOpacity)
		if err != nil {
			return nil, err
		}
		o.Opacity = &l
	}
	return o, nil
}
