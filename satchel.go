// Package satchel holds the domain of Satchel, a self-hosted file upload, storage
// and delivery service that speaks the Uploadcare APIs: files, groups, projects,
// upload sessions and fetch tasks, the errors they produce, and the interfaces the
// storage back ends implement. It depends on the standard library only.
package satchel

import (
	"encoding/json"
	"fmt"
	"time"
)

// Project is a tenant: a pair of keys and the policies that govern its uploads.
type Project struct {
	ID        int64
	Name      string
	PublicKey string
	SecretKey string
	// Autostore decides what UPLOADCARE_STORE=auto means.
	Autostore bool
	// SignedUploads requires a valid signature/expire pair on every upload.
	SignedUploads bool
	// MaxFileSize caps one file in bytes; 0 means the server default.
	MaxFileSize int64
	// AllowedTypes lists MIME patterns ("image/*", "application/pdf"); empty allows all.
	AllowedTypes []string
	// Storages are the custom storages files may be copied to (remote copy):
	// name → URL (file:///dir or s3://bucket?endpoint=…).
	Storages map[string]string
	// SecureDeliverySecret, when set (hex), makes the CDN require Akamai-style
	// ACL or URL tokens signed with it on every file of the project.
	SecureDeliverySecret string
	// NoConversion turns document and video conversion off.
	NoConversion bool
	// AnonymousUploads lets the JSON:API v1 dialect create files and groups
	// without credentials (the answer's access token is the caller's only
	// credential). Off by default.
	AnonymousUploads bool
	// AnonymousRateLimit caps the anonymous creates of one client address,
	// per minute (0: DefaultAnonymousRateLimit; negative: no cap).
	AnonymousRateLimit int
	// AnonymousMaxFileSize caps an anonymous upload in bytes (0:
	// DefaultAnonymousMaxFileSize); MaxFileSize applies as well.
	AnonymousMaxFileSize int64
	// AnonymousTypes lists the MIME patterns anonymous uploads may have
	// (empty: any); AllowedTypes applies as well.
	AnonymousTypes []string
	Created        time.Time
}

// Defaults of the anonymous upload limits of a project.
const (
	DefaultAnonymousRateLimit   = 60
	DefaultAnonymousMaxFileSize = 10 << 20
)

// AnonymousRate is the anonymous creates allowed per minute and client
// address; 0 means no cap.
func (p *Project) AnonymousRate() int {
	switch {
	case p.AnonymousRateLimit < 0:
		return 0
	case p.AnonymousRateLimit == 0:
		return DefaultAnonymousRateLimit
	}
	return p.AnonymousRateLimit
}

// AnonymousMaxSize is the largest anonymous upload before the project's
// own cap applies.
func (p *Project) AnonymousMaxSize() int64 {
	if p.AnonymousMaxFileSize <= 0 {
		return DefaultAnonymousMaxFileSize
	}
	return p.AnonymousMaxFileSize
}

// File is one uploaded file.
type File struct {
	UUID             string
	ProjectID        int64
	Size             int64
	MimeType         string
	OriginalFilename string
	// Filename is the sanitised name used in CDN URLs.
	Filename string
	// BlobKey names the bytes in the blob store.
	BlobKey string
	// Checksum is "sha256:<hex>" of the bytes, or, for multipart uploads,
	// "crc32c-parts:<hex>-<n>" (the SHA-256 of the concatenated CRC-32C of
	// the n parts; "sha256-parts" when the parts were fingerprinted with
	// SHA-256, by earlier versions).
	Checksum string
	IsImage  bool
	IsReady  bool
	Uploaded time.Time
	Stored   *time.Time
	Removed  *time.Time
	Source   string
	// SourceURL is the URL a from-URL upload fetched, if any.
	SourceURL   string
	ContentInfo *ContentInfo
	Metadata    map[string]string
	Tags        []string
	// Appdata holds add-on results by add-on name.
	Appdata map[string]AddonResult `json:",omitempty"`
	// Variations maps the conversion paths made of this file to the
	// converted files' UUIDs.
	Variations map[string]string
	// Expires, when set, is when the lifecycle sweep removes the file.
	Expires *time.Time
	// OriginalProtected keeps the CDN from serving the original bytes
	// without a secure-delivery token or the file's access token; image
	// operations are still served.
	OriginalProtected bool
	// JSON, when set, holds ContentInfo, Metadata, Tags and Appdata as the
	// store keeps them, not decoded (those four fields are then empty):
	// a store leaves them so for a FileQuery with Undecoded. DecodeJSON
	// fills the fields in.
	JSON *FileJSON `json:"-"`
}

// FileJSON is a file's content info, metadata, tags and add-on results in
// their stored form: encoding/json's encoding of File's ContentInfo,
// Metadata, Tags and Appdata (valid and compact; "{}" and "[]" when empty).
// ContentInfo is "null" or empty for a file without it; Appdata may be
// empty.
type FileJSON struct {
	ContentInfo, Metadata, Tags, Appdata string
}

// DecodeContentInfo decodes the content info (nil when there is none).
func (j *FileJSON) DecodeContentInfo() (*ContentInfo, error) {
	if j.ContentInfo == "" || j.ContentInfo == "null" {
		return nil, nil
	}
	ci := new(ContentInfo)
	if err := json.Unmarshal([]byte(j.ContentInfo), ci); err != nil {
		return nil, fmt.Errorf("content info: %w", err)
	}
	return ci, nil
}

// DecodeJSON decodes f.JSON, if set, into f's ContentInfo, Metadata, Tags
// and Appdata, and clears it.
func (f *File) DecodeJSON() error {
	j := f.JSON
	if j == nil {
		return nil
	}
	f.JSON = nil
	var err error
	if f.ContentInfo, err = j.DecodeContentInfo(); err != nil {
		return fmt.Errorf("file %s %w", f.UUID, err)
	}
	// Most files have no metadata, tags or add-on results: skip the
	// decoder for those.
	if j.Metadata == "{}" {
		f.Metadata = map[string]string{}
	} else if err := json.Unmarshal([]byte(j.Metadata), &f.Metadata); err != nil {
		return fmt.Errorf("file %s metadata: %w", f.UUID, err)
	}
	if j.Tags == "[]" {
		f.Tags = []string{}
	} else if err := json.Unmarshal([]byte(j.Tags), &f.Tags); err != nil {
		return fmt.Errorf("file %s tags: %w", f.UUID, err)
	}
	if ad := j.Appdata; ad != "" && ad != "{}" {
		if err := json.Unmarshal([]byte(ad), &f.Appdata); err != nil {
			return fmt.Errorf("file %s appdata: %w", f.UUID, err)
		}
	}
	return nil
}

// IsStored reports whether the file is stored (kept beyond the temporary period).
func (f *File) IsStored() bool { return f.Stored != nil && f.Removed == nil }

// ContentInfo is what Satchel learned about a file's content at ingest.
type ContentInfo struct {
	Mime  MimeInfo   `json:"mime"`
	Image *ImageInfo `json:"image,omitempty"`
	Video *VideoInfo `json:"video,omitempty"`
}

// MimeInfo splits a MIME type into its parts.
type MimeInfo struct {
	Mime    string `json:"mime"`
	Type    string `json:"type"`
	Subtype string `json:"subtype"`
}

// ImageInfo describes an image; the JSON shape is the Upload/REST API one.
type ImageInfo struct {
	ColorMode        string       `json:"color_mode"`
	Orientation      *int         `json:"orientation"`
	Format           string       `json:"format"`
	Height           int          `json:"height"`
	Width            int          `json:"width"`
	GeoLocation      *GeoLocation `json:"geo_location"`
	DatetimeOriginal *string      `json:"datetime_original"`
	DPI              []float64    `json:"dpi"`
	Sequence         bool         `json:"sequence"`
}

// GeoLocation is a GPS position in decimal degrees.
type GeoLocation struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// VideoInfo describes a video or audio container (v0.7 shape: stream arrays).
type VideoInfo struct {
	// Duration in milliseconds.
	Duration *int64        `json:"duration"`
	Format   string        `json:"format"`
	Bitrate  *int64        `json:"bitrate"`
	Audio    []AudioStream `json:"audio"`
	Video    []VideoStream `json:"video"`
}

// AudioStream is one audio stream of a container. Bitrates are in kbit/s.
type AudioStream struct {
	Bitrate    *int64 `json:"bitrate"`
	Codec      string `json:"codec"`
	SampleRate *int64 `json:"sample_rate"`
	Channels   *int64 `json:"channels"`
}

// VideoStream is one video stream of a container. Bitrates are in kbit/s.
type VideoStream struct {
	Height    int     `json:"height"`
	Width     int     `json:"width"`
	FrameRate float64 `json:"frame_rate"`
	Bitrate   *int64  `json:"bitrate"`
	Codec     string  `json:"codec"`
}

// Group is an immutable ordered list of files.
type Group struct {
	// ID is "<uuid>~<count>".
	ID        string
	ProjectID int64
	Created   time.Time
	Stored    *time.Time
	Removed   *time.Time
	Members   []GroupMember
}

// GroupMember is one entry of a group with the CDN operations it carries.
type GroupMember struct {
	FileUUID       string
	DefaultEffects string
}

// UploadSession is a multipart upload in progress.
type UploadSession struct {
	UUID             string
	ProjectID        int64
	Size             int64
	PartSize         int64
	ContentType      string
	OriginalFilename string
	Store            string
	Metadata         map[string]string
	Tags             []string
	Source           string
	// FileExpires and OriginalProtected are given to the file at completion
	// (see File.Expires, File.OriginalProtected).
	FileExpires       *time.Time
	OriginalProtected bool
	Created           time.Time
	Expires           time.Time
	// Upload is the blob store's handle of the multipart upload.
	Upload string
}

// Parts is the number of parts the session expects.
func (s *UploadSession) Parts() int {
	return int((s.Size + s.PartSize - 1) / s.PartSize)
}

// PartRange returns the byte offset and length of part n (1-based).
func (s *UploadSession) PartRange(n int) (off, length int64) {
	off = int64(n-1) * s.PartSize
	length = s.PartSize
	if off+length > s.Size {
		length = s.Size - off
	}
	return off, length
}

// Fetch task statuses as the Upload API reports them.
const (
	FetchWaiting  = "waiting"
	FetchProgress = "progress"
	FetchSuccess  = "success"
	FetchError    = "error"
)

// FetchTask is a from-URL upload running in the background.
type FetchTask struct {
	Token     string
	ProjectID int64
	SourceURL string
	Status    string
	Done      int64
	// Total is -1 while unknown.
	Total     int64
	ErrorCode string
	ErrorText string
	FileUUID  string
	// Params carries the upload options (store, filename, metadata, tags, duplicates flags) as JSON.
	Params  string
	Created time.Time
	Updated time.Time
	// Attempts counts the runs of the task's job; the latest run owns the
	// task (see Store.StartFetchTask).
	Attempts int
}
