// Package cdnurl is the typed grammar of CDN URLs: a file or group reference
// followed by image operations. Parse turns a path into values of the types
// below and Format turns them back into the canonical path, so the CDN, the
// SDK's transformation builder and the variant cache key share one
// implementation (Format(Parse(p)) is the normalised form of p).
//
// It lives in the SDK module so that the SDK needs no server code; the
// server imports it from there, so there is one grammar for both.
package cdnurl

// Length is a pixel count or a percentage of a reference size.
type Length struct {
	Value   float64
	Percent bool
}

// Size is "WxH"; a zero Length with Set=false means the side was omitted ("Wx", "xH").
type Size struct {
	W, H       Length
	WSet, HSet bool
}

// Ratio is an aspect ratio "A:B".
type Ratio struct{ A, B float64 }

// Align is a keyword alignment.
type Align string

// Alignment keywords.
const (
	AlignCenter Align = "center"
	AlignTop    Align = "top"
	AlignBottom Align = "bottom"
	AlignLeft   Align = "left"
	AlignRight  Align = "right"
)

// Position is either a keyword alignment or an x,y offset (px or %).
type Position struct {
	Align Align // empty when X,Y are used
	X, Y  Length
}

// Color is RGBA; hex input of 3, 6 or 8 digits.
type Color struct{ R, G, B, A uint8 }

// Op is one image operation. Every concrete operation type below implements it.
type Op interface {
	// Name is the operation's name in URLs ("resize", "crop"…).
	Name() string
}

// Preview fits the image inside a box (default 2048x2048) without upscaling.
type Preview struct {
	Size *Size // nil: default box
}

// Resize scales to an exact size; with one side omitted the ratio is kept.
type Resize struct{ Size Size }

// SmartResize fills the box keeping the ratio, cropping content-aware.
type SmartResize struct{ Size Size }

// Stretch sets the upscale policy for following resize/scale_crop: "on", "off", "fill".
type Stretch struct{ Mode string }

// SetFill sets the background colour for following operations.
type SetFill struct{ Color Color }

// Crop cuts a region: by Size (px or %) or Ratio, at Position (default 0,0
// for sizes, center for ratios). Object is "", "face" or "image" (object crops).
type Crop struct {
	Object   string
	Size     *Size
	Ratio    *Ratio
	Position *Position
}

// ScaleCrop covers the box then crops: at Position, or by Type ("smart", "smart_faces"…).
type ScaleCrop struct {
	Size     Size
	Type     string
	Position *Position
}

// BorderRadius rounds corners; 1–4 radii, optional vertical radii.
type BorderRadius struct {
	Radii    []Length
	Vertical []Length
}

// ZoomObjects zooms on the main objects, 1..100.
type ZoomObjects struct{ Zoom int }

// Autorotate turns EXIF-based rotation on or off.
type Autorotate struct{ On bool }

// Rotate turns counter-clockwise by a multiple of 90 degrees.
type Rotate struct{ Degrees int }

// Flip mirrors vertically.
type Flip struct{}

// Mirror mirrors horizontally.
type Mirror struct{}

// Format selects the output format: jpeg, png, webp, avif, gif, auto, preserve.
type Format struct{ Format string }

// Quality selects the encoder quality level: normal, better, best, lighter,
// lightest, smart, smart_retina.
type Quality struct{ Level string }

// Progressive turns progressive JPEG on or off.
type Progressive struct{ On bool }

// StripMeta chooses which metadata to strip: all, none, sensitive.
type StripMeta struct{ Mode string }

// Inline overrides Content-Disposition.
type Inline struct{ On bool }

// Rasterize renders vector images (SVG) to pixels.
type Rasterize struct{}

// Adjust is a colour adjustment with one integer argument: brightness,
// exposure, gamma, contrast, saturation, vibrance, warmth. Set is false
// when the URL gave no argument (enhance, sharp, blur have their defaults).
type Adjust struct {
	Op    string
	Value int
}

// Enhance auto-enhances, strength 0..100 (default 50).
type Enhance struct{ Strength int }

// Grayscale drops colour.
type Grayscale struct{}

// Invert inverts colours.
type Invert struct{}

// Filter applies a named filter with strength -100..200 (default 100).
type Filter struct {
	Filter   string
	Strength int
}

// Blur blurs with strength 0..5000 (default 10); negative Amount sharpens (unsharp mask).
type Blur struct {
	Strength  int
	Amount    int
	HasAmount bool
}

// BlurRegion blurs a rectangle (or the faces when Faces).
type BlurRegion struct {
	Faces    bool
	Size     Size
	Position Position
	Strength int // 0: default
}

// Sharp sharpens 0..20 (default 5).
type Sharp struct{ Strength int }

// SRGB chooses colour-profile handling: fast, icc, keep_profile.
type SRGB struct{ Mode string }

// MaxICCSize is the threshold in KB for srgb/icc.
type MaxICCSize struct{ KB int }

// Overlay draws another file (UUID, or "self") as a layer.
type Overlay struct {
	UUID     string // "self" for the image itself
	Size     *Size
	Position *Position
	Opacity  *Length // percent
}

// Rect draws a solid rectangle.
type Rect struct {
	Color    Color
	Size     Size
	Position Position
}

// Text draws text; TextAlign/Font/TextBox set the state it uses.
type Text struct {
	Size     Size
	Position Position
	Text     string // decoded
}

// TextAlign sets horizontal and vertical text alignment.
type TextAlign struct{ H, V string }

// Font sets text size and colour.
type Font struct {
	Size  int
	Color *Color
}

// TextBox sets the text background mode (none, fit, line, fill), colour and padding.
type TextBox struct {
	Mode    string
	Color   *Color
	Padding *int
}

// JSON answers the image's information as JSON (must be last).
type JSON struct{}

// MainColors answers the N main colours (default 4) as JSON (must be last).
type MainColors struct{ N int }

// JSONP answers the image's information as JSON wrapped in
// uploadcare_callback(...) (must be last).
type JSONP struct{}

func (Preview) Name() string      { return "preview" }
func (Resize) Name() string       { return "resize" }
func (SmartResize) Name() string  { return "smart_resize" }
func (Stretch) Name() string      { return "stretch" }
func (SetFill) Name() string      { return "setfill" }
func (Crop) Name() string         { return "crop" }
func (ScaleCrop) Name() string    { return "scale_crop" }
func (BorderRadius) Name() string { return "border_radius" }
func (ZoomObjects) Name() string  { return "zoom_objects" }
func (Autorotate) Name() string   { return "autorotate" }
func (Rotate) Name() string       { return "rotate" }
func (Flip) Name() string         { return "flip" }
func (Mirror) Name() string       { return "mirror" }
func (Format) Name() string       { return "format" }
func (Quality) Name() string      { return "quality" }
func (Progressive) Name() string  { return "progressive" }
func (StripMeta) Name() string    { return "strip_meta" }
func (Inline) Name() string       { return "inline" }
func (Rasterize) Name() string    { return "rasterize" }
func (a Adjust) Name() string     { return a.Op }
func (Enhance) Name() string      { return "enhance" }
func (Grayscale) Name() string    { return "grayscale" }
func (Invert) Name() string       { return "invert" }
func (Filter) Name() string       { return "filter" }
func (Blur) Name() string         { return "blur" }
func (BlurRegion) Name() string   { return "blur_region" }
func (Sharp) Name() string        { return "sharp" }
func (SRGB) Name() string         { return "srgb" }
func (MaxICCSize) Name() string   { return "max_icc_size" }
func (Overlay) Name() string      { return "overlay" }
func (Rect) Name() string         { return "rect" }
func (Text) Name() string         { return "text" }
func (TextAlign) Name() string    { return "text_align" }
func (Font) Name() string         { return "font" }
func (TextBox) Name() string      { return "text_box" }
func (JSON) Name() string         { return "json" }
func (MainColors) Name() string   { return "main_colors" }
func (JSONP) Name() string        { return "jsonp" }

// Target is what a CDN path refers to.
type Target struct {
	// UUID of a file, or GroupID ("<uuid>~N") of a group.
	UUID    string
	GroupID string
	// Nth is the member index for group "nth/i/" paths (-1 otherwise).
	Nth int
	// Archive is "zip" or "tar" for group archive paths.
	Archive string
	// Ops in URL order.
	Ops []Op
	// Filename is the optional trailing download name.
	Filename string
	// Special is "detect_faces" or "gif2video" for those non "-/" forms.
	Special string
}
