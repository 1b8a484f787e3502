// Package apiview renders domain objects in the REST API's shapes, per API
// version. The REST handlers and webhook payloads share it, so a file looks the
// same in GET /files/{uuid}/ and in the webhook that announced it.
package apiview

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
)

// Versions of the REST API.
const (
	V05 = "0.5"
	V06 = "0.6"
	V07 = "0.7"
)

// Bases are the absolute roots links are built on (no trailing slash).
type Bases struct {
	CDN string
	API string
}

// Time renders a datetime as the APIs do: UTC, microseconds, "Z".
func Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func timePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := Time(*t)
	return &s
}

// FileOptions adds optional parts to a file object.
type FileOptions struct {
	// Appdata includes "appdata" (0.7, include=appdata).
	Appdata bool
	// Rekognition includes "rekognition_info" (0.6, add_fields=rekognition_info).
	Rekognition bool
	// DefaultEffects is set for group members.
	DefaultEffects *string
}

// fileBase holds the fields every version has, in the API's order.
type fileBase struct {
	DatetimeRemoved  *string `json:"datetime_removed"`
	DatetimeStored   *string `json:"datetime_stored"`
	DatetimeUploaded string  `json:"datetime_uploaded"`
	IsImage          bool    `json:"is_image"`
	IsReady          bool    `json:"is_ready"`
	MimeType         string  `json:"mime_type"`
	OriginalFileURL  *string `json:"original_file_url"`
	OriginalFilename string  `json:"original_filename"`
	Size             int64   `json:"size"`
	URL              string  `json:"url"`
	UUID             string  `json:"uuid"`
	// OriginalProtected and DatetimeExpires are Satchel's own, set through
	// the JSON:API v1 dialect; absent for files without them, so the
	// Uploadcare shape of every other file is unchanged.
	OriginalProtected bool    `json:"original_protected,omitempty"`
	DatetimeExpires   *string `json:"datetime_expires,omitempty"`
}

type fileV07 struct {
	fileBase
	Variations     *map[string]string   `json:"variations"`
	ContentInfo    *satchel.ContentInfo `json:"content_info"`
	Metadata       map[string]string    `json:"metadata"`
	Tags           []string             `json:"tags"`
	Appdata        *map[string]any      `json:"appdata,omitempty"`
	Source         *string              `json:"source"`
	DefaultEffects *string              `json:"default_effects,omitempty"`
}

type fileV06 struct {
	fileBase
	Variations      *map[string]string  `json:"variations"`
	ImageInfo       *satchel.ImageInfo  `json:"image_info"`
	VideoInfo       *LegacyVideoInfo    `json:"video_info"`
	RekognitionInfo *map[string]float64 `json:"rekognition_info,omitempty"`
	Source          *string             `json:"source"`
	DefaultEffects  *string             `json:"default_effects,omitempty"`
}

type fileV05 struct {
	fileBase
	ImageInfo       *satchel.ImageInfo  `json:"image_info"`
	RekognitionInfo *map[string]float64 `json:"rekognition_info,omitempty"`
	Source          *string             `json:"source"`
	DefaultEffects  *string             `json:"default_effects,omitempty"`
}

// variations are the conversions made of a file (null when none).
func variations(f *satchel.File) *map[string]string {
	if len(f.Variations) == 0 {
		return nil
	}
	return &f.Variations
}

// File renders a file object for version v. A file with its JSON columns
// undecoded (f.JSON) is rendered as the same file decoded would be.
func File(f *satchel.File, v string, b Bases, o FileOptions) json.RawMessage {
	return appendFile(nil, f, v, b, o)
}

// appendFile appends the file object File renders to buf.
func appendFile(buf []byte, f *satchel.File, v string, b Bases, o FileOptions) []byte {
	if f.JSON != nil && v == V07 && !o.Appdata {
		return appendFileV07JSON(buf, f, b, o)
	}
	if f.JSON != nil && v != V07 {
		if img, ok := storedImageInfo(f.JSON.ContentInfo); ok {
			return appendFileLegacyJSON(buf, f, v, b, o, img)
		}
	}
	base := fileBase{
		DatetimeRemoved: timePtr(f.Removed), DatetimeStored: timePtr(storedTime(f)), DatetimeUploaded: Time(f.Uploaded),
		IsImage: f.IsImage, IsReady: f.IsReady, MimeType: f.MimeType, OriginalFilename: f.OriginalFilename,
		Size: f.Size, URL: b.API + "/files/" + f.UUID + "/", UUID: f.UUID,
		OriginalProtected: f.OriginalProtected, DatetimeExpires: timePtr(f.Expires),
	}
	if f.Removed == nil && f.IsReady {
		u := b.CDN + "/" + f.UUID + "/" + f.Filename
		base.OriginalFileURL = &u
	}
	var src *string
	if f.Source != "" {
		src = &f.Source
	}
	if f.JSON != nil {
		d := *f
		var err error
		if v == V07 {
			err = d.DecodeJSON()
		} else { // earlier versions show no metadata, tags or appdata
			d.ContentInfo, err = f.JSON.DecodeContentInfo()
		}
		if err != nil {
			panic(fmt.Sprintf("apiview: file %s: %v", f.UUID, err))
		}
		f = &d
	}
	var img *satchel.ImageInfo
	var vid *satchel.VideoInfo
	if f.ContentInfo != nil {
		img, vid = f.ContentInfo.Image, f.ContentInfo.Video
	}
	var rek *map[string]float64
	if o.Rekognition {
		rek = &map[string]float64{}
	}
	var out any
	switch v {
	case V07:
		fv := fileV07{fileBase: base, Variations: variations(f), ContentInfo: f.ContentInfo, Metadata: f.Metadata, Tags: f.Tags, Source: src, DefaultEffects: o.DefaultEffects}
		if fv.Metadata == nil {
			fv.Metadata = map[string]string{}
		}
		if fv.Tags == nil {
			fv.Tags = []string{}
		}
		if o.Appdata {
			fv.Appdata = Appdata(f.Appdata)
		}
		out = fv
	case V06:
		out = fileV06{fileBase: base, Variations: variations(f), ImageInfo: img, VideoInfo: LegacyVideo(vid), RekognitionInfo: rek, Source: src, DefaultEffects: o.DefaultEffects}
	default:
		out = fileV05{fileBase: base, ImageInfo: img, RekognitionInfo: rek, Source: src, DefaultEffects: o.DefaultEffects}
	}
	return appendJSON(buf, out)
}

// appendJSON appends encoding/json's encoding of v to buf.
func appendJSON(buf []byte, v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("apiview: marshal file: %v", err))
	}
	if buf == nil {
		return out
	}
	return append(buf, out...)
}

// appendFileV07JSON appends the v0.7 object of a file whose JSON columns
// are undecoded (f.JSON), without appdata. The stored JSON is what
// encoding/json makes of the decoded values, so it is copied as it is, and
// the bytes are those of fileV07: the base fields, then the others in
// fileV07's order.
func appendFileV07JSON(buf []byte, f *satchel.File, b Bases, o FileOptions) []byte {
	buf = appendBase(buf, f, b)
	buf = appendVariations(buf, f)
	buf = append(buf, `,"content_info":`...)
	buf = appendStored(buf, f.JSON.ContentInfo, "null")
	buf = append(buf, `,"metadata":`...)
	buf = appendStored(buf, f.JSON.Metadata, "{}")
	buf = append(buf, `,"tags":`...)
	buf = appendStored(buf, f.JSON.Tags, "[]")
	return appendSourceEnd(buf, f, o)
}

// appendFileLegacyJSON appends the v0.5 or v0.6 object of a file whose
// JSON columns are undecoded and that has no video info: img is the
// stored JSON of its image info ("null" when none). The fields are those
// of fileV06 and fileV05, in their order.
func appendFileLegacyJSON(buf []byte, f *satchel.File, v string, b Bases, o FileOptions, img string) []byte {
	buf = appendBase(buf, f, b)
	if v == V06 {
		buf = appendVariations(buf, f)
	}
	buf = append(buf, `,"image_info":`...)
	buf = append(buf, img...)
	if v == V06 {
		buf = append(buf, `,"video_info":null`...)
	}
	if o.Rekognition {
		buf = append(buf, `,"rekognition_info":{}`...)
	}
	return appendSourceEnd(buf, f, o)
}

// appendVariations appends the "variations" member.
func appendVariations(buf []byte, f *satchel.File) []byte {
	buf = append(buf, `,"variations":`...)
	if vars := variations(f); vars != nil {
		return appendJSON(buf, *vars)
	}
	return append(buf, "null"...)
}

// appendSourceEnd appends the last members of every version, "source" and
// "default_effects", and closes the object.
func appendSourceEnd(buf []byte, f *satchel.File, o FileOptions) []byte {
	buf = append(buf, `,"source":`...)
	if f.Source != "" {
		buf = appendString(buf, f.Source)
	} else {
		buf = append(buf, "null"...)
	}
	if o.DefaultEffects != nil {
		buf = append(buf, `,"default_effects":`...)
		buf = appendString(buf, *o.DefaultEffects)
	}
	return append(buf, '}')
}

// storedImageInfo finds the "image" member of stored content info (as
// encoding/json wrote it: compact, keys in ContentInfo's order) and returns
// it, "null" when absent. ok is false when the content info has video info
// (the legacy shape is a conversion of it) or is not of that form.
func storedImageInfo(ci string) (img string, ok bool) {
	if ci == "" || ci == "null" {
		return "null", true
	}
	if len(ci) < 2 || ci[0] != '{' || ci[len(ci)-1] != '}' {
		return "", false
	}
	img = "null"
	for i := 1; i < len(ci)-1; {
		if ci[i] == ',' {
			i++
		}
		end := skipString(ci, i)
		if end < 0 || end >= len(ci) || ci[end] != ':' {
			return "", false
		}
		key := ci[i:end]
		vend := skipValue(ci, end+1)
		if vend < 0 {
			return "", false
		}
		switch key {
		case `"video"`:
			return "", false
		case `"image"`:
			img = ci[end+1 : vend]
		}
		i = vend
	}
	return img, true
}

// skipString returns the index after the JSON string starting at i, or -1.
func skipString(s string, i int) int {
	if i >= len(s) || s[i] != '"' {
		return -1
	}
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index after the compact JSON value starting at i,
// or -1.
func skipValue(s string, i int) int {
	depth := 0
	for i < len(s) {
		switch c := s[i]; c {
		case '"':
			if i = skipString(s, i); i < 0 {
				return -1
			}
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of the enclosing object
			}
			if depth--; depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return -1
}

// appendBase appends the fields of fileBase as encoding/json renders them
// (in its order, with its escaping), without the closing brace.
func appendBase(buf []byte, f *satchel.File, b Bases) []byte {
	buf = append(buf, `{"datetime_removed":`...)
	buf = appendTime(buf, f.Removed)
	buf = append(buf, `,"datetime_stored":`...)
	buf = appendTime(buf, storedTime(f))
	buf = append(buf, `,"datetime_uploaded":`...)
	buf = appendTime(buf, &f.Uploaded)
	buf = append(buf, `,"is_image":`...)
	buf = strconv.AppendBool(buf, f.IsImage)
	buf = append(buf, `,"is_ready":`...)
	buf = strconv.AppendBool(buf, f.IsReady)
	buf = append(buf, `,"mime_type":`...)
	buf = appendString(buf, f.MimeType)
	buf = append(buf, `,"original_file_url":`...)
	if f.Removed == nil && f.IsReady {
		buf = appendString(buf, b.CDN, "/", f.UUID, "/", f.Filename)
	} else {
		buf = append(buf, "null"...)
	}
	buf = append(buf, `,"original_filename":`...)
	buf = appendString(buf, f.OriginalFilename)
	buf = append(buf, `,"size":`...)
	buf = strconv.AppendInt(buf, f.Size, 10)
	buf = append(buf, `,"url":`...)
	buf = appendString(buf, b.API, "/files/", f.UUID, "/")
	buf = append(buf, `,"uuid":`...)
	buf = appendString(buf, f.UUID)
	if f.OriginalProtected {
		buf = append(buf, `,"original_protected":true`...)
	}
	if f.Expires != nil {
		buf = append(buf, `,"datetime_expires":`...)
		buf = appendTime(buf, f.Expires)
	}
	return buf
}

// appendTime appends a datetime as Time renders it, quoted, or null.
func appendTime(buf []byte, t *time.Time) []byte {
	if t == nil {
		return append(buf, "null"...)
	}
	u := t.UTC()
	year, month, day := u.Date()
	if year < 0 || year > 9999 {
		buf = append(buf, '"')
		buf = u.AppendFormat(buf, "2006-01-02T15:04:05.000000Z")
		return append(buf, '"')
	}
	hour, minute, sec := u.Clock()
	buf = append(buf, '"')
	buf = appendDigits(buf, year, 4)
	buf = append(buf, '-')
	buf = appendDigits(buf, int(month), 2)
	buf = append(buf, '-')
	buf = appendDigits(buf, day, 2)
	buf = append(buf, 'T')
	buf = appendDigits(buf, hour, 2)
	buf = append(buf, ':')
	buf = appendDigits(buf, minute, 2)
	buf = append(buf, ':')
	buf = appendDigits(buf, sec, 2)
	buf = append(buf, '.')
	buf = appendDigits(buf, u.Nanosecond()/1000, 6)
	return append(buf, 'Z', '"')
}

// appendDigits appends n (0 <= n < 10^width) in width decimal digits.
func appendDigits(buf []byte, n, width int) []byte {
	buf = append(buf, "000000"[:width]...)
	for i := len(buf) - 1; n > 0; i-- {
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return buf
}

// appendString appends the concatenation of parts as a JSON string, as
// encoding/json writes it: printable ASCII other than the quote, the
// backslash and the HTML characters it escapes is copied, anything else
// goes through encoding/json.
func appendString(buf []byte, parts ...string) []byte {
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			if c := p[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return appendJSON(buf, strings.Join(parts, ""))
			}
		}
	}
	buf = append(buf, '"')
	for _, p := range parts {
		buf = append(buf, p...)
	}
	return append(buf, '"')
}

// appendStored appends a stored JSON value, or empty for a missing or null one.
func appendStored(buf []byte, stored, empty string) []byte {
	if stored == "" || stored == "null" {
		return append(buf, empty...)
	}
	return append(buf, stored...)
}

// Appdata renders a file's add-on results: by add-on name, "data",
// "version" and the datetimes of the first and the latest result.
func Appdata(ad map[string]satchel.AddonResult) *map[string]any {
	out := make(map[string]any, len(ad))
	for name, r := range ad {
		data := r.Data
		if len(data) == 0 {
			data = json.RawMessage("{}")
		}
		out[name] = object{{"data", data}, {"version", r.Version},
			{"datetime_created", Time(r.Created)}, {"datetime_updated", Time(r.Updated)}}.marshal()
	}
	return &out
}

func storedTime(f *satchel.File) *time.Time {
	if f.Removed != nil {
		return nil
	}
	return f.Stored
}

// LegacyVideoInfo is the pre-0.7 video shape: one audio and one video stream.
type LegacyVideoInfo struct {
	Duration *int64               `json:"duration"`
	Format   string               `json:"format"`
	Bitrate  *int64               `json:"bitrate"`
	Audio    *LegacyAudioStream   `json:"audio"`
	Video    *satchel.VideoStream `json:"video"`
}

// LegacyAudioStream is the pre-0.7 audio shape (channels as a string).
type LegacyAudioStream struct {
	Bitrate    *int64  `json:"bitrate"`
	Codec      string  `json:"codec"`
	SampleRate *int64  `json:"sample_rate"`
	Channels   *string `json:"channels"`
}

// LegacyVideo converts v0.7 video info to the legacy single-stream shape.
func LegacyVideo(v *satchel.VideoInfo) *LegacyVideoInfo {
	if v == nil {
		return nil
	}
	out := &LegacyVideoInfo{Duration: v.Duration, Format: v.Format, Bitrate: v.Bitrate}
	if len(v.Audio) > 0 {
		a := v.Audio[0]
		out.Audio = &LegacyAudioStream{Bitrate: a.Bitrate, Codec: a.Codec, SampleRate: a.SampleRate}
		if a.Channels != nil {
			s := strconv.FormatInt(*a.Channels, 10)
			out.Audio.Channels = &s
		}
	}
	if len(v.Video) > 0 {
		vs := v.Video[0]
		out.Video = &vs
	}
	return out
}

// Group renders a group object; with files != nil the members are included
// (null for removed files).
func Group(g *satchel.Group, v string, b Bases, files []*satchel.File) json.RawMessage {
	obj := object{
		{"id", g.ID},
		{"datetime_created", Time(g.Created)},
	}
	if v != V07 {
		obj = append(obj, field{"datetime_stored", timePtr(g.Stored)})
	}
	obj = append(obj,
		field{"files_count", len(g.Members)},
		field{"cdn_url", b.CDN + "/" + g.ID + "/"},
		field{"url", b.API + "/groups/" + g.ID + "/"},
	)
	if files != nil {
		list := make([]json.RawMessage, len(g.Members))
		for i, m := range g.Members {
			if files[i] == nil {
				list[i] = json.RawMessage("null")
				continue
			}
			eff := m.DefaultEffects
			list[i] = File(files[i], v, b, FileOptions{DefaultEffects: &eff})
		}
		obj = append(obj, field{"files", list})
	}
	return obj.marshal()
}

// Webhook renders a subscription as the REST API does.
func Webhook(w *satchel.Webhook) json.RawMessage {
	var secret *string
	if w.SigningSecret != "" {
		secret = &w.SigningSecret
	}
	return object{
		{"id", w.ID},
		{"project", w.ProjectID},
		{"created", Time(w.Created)},
		{"updated", Time(w.Updated)},
		{"event", w.Event},
		{"target_url", w.TargetURL},
		{"is_active", w.IsActive},
		{"signing_secret", secret},
		{"version", w.Version},
	}.marshal()
}

// field is one key of an ordered JSON object.
type field struct {
	k string
	v any
}

// object marshals its fields in order (receivers of signed webhook bodies and
// humans reading responses both like a stable order).
type object []field

func (o object) marshal() json.RawMessage {
	size := 64
	for _, f := range o {
		if c, ok := f.v.(compact); ok {
			size += len(c)
		}
	}
	buf := make([]byte, 1, size)
	buf[0] = '{'
	for i, f := range o {
		if i > 0 {
			buf = append(buf, ',')
		}
		k, _ := json.Marshal(f.k)
		buf = append(buf, k...)
		buf = append(buf, ':')
		if c, ok := f.v.(compact); ok {
			buf = append(buf, c...)
			continue
		}
		v, err := json.Marshal(f.v)
		if err != nil {
			v = []byte("null")
		}
		buf = append(buf, v...)
	}
	return append(buf, '}')
}

// compact is JSON this package rendered with encoding/json, so valid and
// compact already: an object embeds it as it is, where a json.RawMessage is
// scanned and compacted again (the whole of every file, for a page of them).
type compact []byte

// Files renders a list of files (a JSON array of File objects) for a value
// of Object.
func Files(files []*satchel.File, v string, b Bases, o FileOptions) any {
	return FilesWith(files, v, b, o, "", nil)
}

// FilesWith renders a list of files as Files does, each file object with
// one more member when extra gives it a non-nil value (a search's
// "highlight"; extra may be nil). The value is marshalled without HTML escaping, so markup in
// it ("<em>") reads as it is.
func FilesWith(files []*satchel.File, v string, b Bases, o FileOptions, key string, extra func(*satchel.File) any) any {
	k, _ := json.Marshal(key)
	buf := make([]byte, 0, 1280*len(files)+2)
	buf = append(buf, '[')
	for i, f := range files {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendFile(buf, f, v, b, o)
		if extra == nil {
			continue
		}
		val := extra(f)
		if val == nil {
			continue
		}
		var enc bytes.Buffer
		e := json.NewEncoder(&enc)
		e.SetEscapeHTML(false)
		if err := e.Encode(val); err != nil {
			continue
		}
		// Reopen the object appendFile closed and add the member.
		buf = append(buf[:len(buf)-1], ',')
		buf = append(buf, k...)
		buf = append(buf, ':')
		buf = append(buf, bytes.TrimRight(enc.Bytes(), "\n")...)
		buf = append(buf, '}')
	}
	return compact(append(buf, ']'))
}

// Object builds an ordered JSON object from key/value pairs.
func Object(kv ...any) json.RawMessage {
	o := make(object, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		o = append(o, field{kv[i].(string), kv[i+1]})
	}
	return o.marshal()
}
