package ucare

import (
	"encoding/json"
	"time"
)

// File is a file as the REST API describes it (v0.7 fields, plus the
// v0.5/v0.6 ones when the client uses those versions).
type File struct {
	UUID             string     `json:"uuid"`
	Size             int64      `json:"size"`
	MimeType         string     `json:"mime_type"`
	OriginalFilename string     `json:"original_filename"`
	IsImage          bool       `json:"is_image"`
	IsReady          bool       `json:"is_ready"`
	DatetimeUploaded *time.Time `json:"datetime_uploaded"`
	DatetimeStored   *time.Time `json:"datetime_stored"`
	DatetimeRemoved  *time.Time `json:"datetime_removed"`
	// OriginalFileURL is the file's CDN URL (nil when removed or not ready).
	OriginalFileURL *string `json:"original_file_url"`
	// URL is the file's REST API URL.
	URL string `json:"url"`
	// Variations maps conversion paths to the UUIDs of their results.
	Variations  map[string]string `json:"variations"`
	ContentInfo *ContentInfo      `json:"content_info"`
	Metadata    map[string]string `json:"metadata"`
	Tags        []string          `json:"tags"`
	// Appdata holds add-on results (only with IncludeAppdata).
	Appdata map[string]AppData `json:"appdata"`
	Source  *string            `json:"source"`
	// DefaultEffects are the CDN operations a group member was added with.
	DefaultEffects *string `json:"default_effects"`

	// ImageInfo and VideoInfo are the v0.5/v0.6 (and Upload API) shapes of
	// ContentInfo.
	ImageInfo *ImageInfo       `json:"image_info"`
	VideoInfo *LegacyVideoInfo `json:"video_info"`
}

// IsStored reports whether the file is stored (and not removed).
func (f *File) IsStored() bool { return f.DatetimeStored != nil && f.DatetimeRemoved == nil }

// IsRemoved reports whether the file was deleted.
func (f *File) IsRemoved() bool { return f.DatetimeRemoved != nil }

// UploadedFile is a file as the Upload API describes it (the answer of
// /info/, /multipart/complete/ and /from_url/status/).
type UploadedFile struct {
	UUID             string `json:"uuid"`
	Size             int64  `json:"size"`
	OriginalFilename string `json:"original_filename"`
	// Filename is the sanitised name used in CDN URLs.
	Filename    string            `json:"filename"`
	MimeType    string            `json:"mime_type"`
	IsImage     bool              `json:"is_image"`
	IsStored    bool              `json:"is_stored"`
	IsReady     bool              `json:"is_ready"`
	ImageInfo   *ImageInfo        `json:"image_info"`
	VideoInfo   *LegacyVideoInfo  `json:"video_info"`
	ContentInfo *ContentInfo      `json:"content_info"`
	Metadata    map[string]string `json:"metadata"`
	Tags        []string          `json:"tags"`
	// DefaultEffects is set for the members of a group.
	DefaultEffects string `json:"default_effects"`
}

// ContentInfo describes a file's content.
type ContentInfo struct {
	Mime  *MimeInfo  `json:"mime"`
	Image *ImageInfo `json:"image,omitempty"`
	Video *VideoInfo `json:"video,omitempty"`
}

// MimeInfo splits a MIME type.
type MimeInfo struct {
	Mime    string `json:"mime"`
	Type    string `json:"type"`
	Subtype string `json:"subtype"`
}

// ImageInfo describes an image.
type ImageInfo struct {
	ColorMode   string `json:"color_mode"`
	Orientation *int   `json:"orientation"`
	Format      string `json:"format"`
	Height      int    `json:"height"`
	Width       int    `json:"width"`
	// GeoLocation is where the photo was taken (nil when unknown).
	GeoLocation *GeoLocation `json:"geo_location"`
	// DatetimeOriginal is the EXIF capture time as the API writes it.
	DatetimeOriginal *string `json:"datetime_original"`
	// DPI is horizontal and vertical resolution (nil when unknown).
	DPI []float64 `json:"dpi"`
	// Sequence is true for animated images (several frames).
	Sequence bool `json:"sequence"`
}

// GeoLocation is a GPS position in decimal degrees.
type GeoLocation struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// VideoInfo describes an audio/video container (v0.7: stream lists).
type VideoInfo struct {
	// Duration in milliseconds.
	Duration *int64        `json:"duration"`
	Format   string        `json:"format"`
	Bitrate  *int64        `json:"bitrate"`
	Audio    []AudioStream `json:"audio"`
	Video    []VideoStream `json:"video"`
}

// AudioStream is one audio stream.
type AudioStream struct {
	Bitrate    *int64 `json:"bitrate"`
	Codec      string `json:"codec"`
	SampleRate *int64 `json:"sample_rate"`
	Channels   *int64 `json:"channels"`
}

// UnmarshalJSON accepts channels as a number (v0.7) or a string (v0.6).
func (a *AudioStream) UnmarshalJSON(b []byte) error {
	type plain AudioStream
	var v struct {
		plain
		Channels json.RawMessage `json:"channels"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*a = AudioStream(v.plain)
	a.Channels = nil
	raw := v.Channels
	if len(raw) > 1 && raw[0] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	var n int64
	if len(raw) > 0 && string(raw) != "null" && json.Unmarshal(raw, &n) == nil {
		a.Channels = &n
	}
	return nil
}

// VideoStream is one video stream. Bitrates are in kbit/s.
type VideoStream struct {
	Height    int     `json:"height"`
	Width     int     `json:"width"`
	FrameRate float64 `json:"frame_rate"`
	Bitrate   *int64  `json:"bitrate"`
	Codec     string  `json:"codec"`
}

// LegacyVideoInfo is the v0.6 / Upload API video shape (one stream each).
type LegacyVideoInfo struct {
	Duration *int64       `json:"duration"`
	Format   string       `json:"format"`
	Bitrate  *int64       `json:"bitrate"`
	Audio    *AudioStream `json:"audio"`
	Video    *VideoStream `json:"video"`
}

// AppData is one add-on's result on a file.
type AppData struct {
	Data            json.RawMessage `json:"data"`
	Version         string          `json:"version"`
	DatetimeCreated *time.Time      `json:"datetime_created"`
	DatetimeUpdated *time.Time      `json:"datetime_updated"`
}

// Group is a file group.
type Group struct {
	// ID is "<uuid>~<number of files>".
	ID              string     `json:"id"`
	DatetimeCreated *time.Time `json:"datetime_created"`
	DatetimeStored  *time.Time `json:"datetime_stored"`
	FilesCount      int        `json:"files_count"`
	CDNURL          string     `json:"cdn_url"`
	URL             string     `json:"url"`
	// Files are the members in order (nil for a deleted file); only group
	// info and group creation answers carry them. Members carry their
	// DefaultEffects.
	Files []*File `json:"files"`
}

// Project describes the project of the keys.
type Project struct {
	Name             string         `json:"name"`
	PubKey           string         `json:"pub_key"`
	AutostoreEnabled bool           `json:"autostore_enabled"`
	Collaborators    []Collaborator `json:"collaborators"`
}

// Collaborator is a member of a project.
type Collaborator struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Webhook is a webhook subscription.
type Webhook struct {
	ID            int64      `json:"id"`
	Project       int64      `json:"project"`
	Created       *time.Time `json:"created"`
	Updated       *time.Time `json:"updated"`
	Event         string     `json:"event"`
	TargetURL     string     `json:"target_url"`
	IsActive      bool       `json:"is_active"`
	SigningSecret *string    `json:"signing_secret"`
	Version       string     `json:"version"`
}

// Webhook events.
const (
	EventFileUploaded    = "file.uploaded"
	EventFileStored      = "file.stored"
	EventFileDeleted     = "file.deleted"
	EventFileInfoUpdated = "file.info_updated"
	EventFileInfected    = "file.infected"
)

// BatchResult is the answer of a batch store or delete.
type BatchResult struct {
	// Files are the files changed.
	Files []*File `json:"result"`
	// Problems maps the identifiers that were not changed to why not.
	Problems map[string]string `json:"problems"`
}

// TagsChange is the answer of a tags change.
type TagsChange struct {
	Tags    []string `json:"tags"`
	Added   []string `json:"added"`
	Deleted []string `json:"deleted"`
}

// Progress is an upload's progress.
type Progress struct {
	// Done bytes out of Total (-1 while unknown).
	Done, Total int64
}
