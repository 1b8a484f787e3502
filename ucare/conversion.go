package ucare

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DocumentConversion is a typed document conversion path:
// "<uuid>/document/-/format/<fmt>/[-/page/<n>/]".
type DocumentConversion struct {
	// File is the source file's UUID (or its CDN URL).
	File string
	// Format is the target: pdf (the default), doc, docx, xls, xlsx, odt,
	// ods, rtf, txt, jpg, enhanced.jpg, png, or another format the server
	// knows (html, pptx, webp, gif, …).
	Format string
	// Page converts one page (1-based) to an image format (the format
	// defaults to png then).
	Page int
}

// documentFormats are the target formats the clients know.
var documentFormats = map[string]bool{
	"pdf": true, "doc": true, "docx": true, "xls": true, "xlsx": true, "odt": true, "ods": true, "rtf": true,
	"txt": true, "jpg": true, "enhanced.jpg": true, "png": true, "html": true, "pptx": true, "webp": true,
	"gif": true, "ico": true, "bmp": true, "tiff": true, "pcx": true, "ps": true, "svg": true, "tga": true,
	"wbmp": true, "avif": true, "thumbnail": true,
}

// Path returns the conversion path, or an *InvalidParamError.
func (d DocumentConversion) Path() (string, error) {
	base, err := conversionBase(d.File)
	if err != nil {
		return "", err
	}
	f := strings.ToLower(d.Format)
	if f == "" {
		f = "pdf"
		if d.Page > 0 {
			f = "png"
		}
	}
	if !documentFormats[f] {
		return "", &InvalidParamError{"Format", fmt.Sprintf("%q is not a document target format", d.Format)}
	}
	p := base + "/document/-/format/" + f + "/"
	if d.Page < 0 {
		return "", &InvalidParamError{"Page", "pages count from 1"}
	}
	if d.Page > 0 {
		p += "-/page/" + strconv.Itoa(d.Page) + "/"
	}
	return p, nil
}

// VideoConversion is a typed video conversion path:
// "<uuid>/video/[-/format/…/][-/size/…/][-/quality/…/][-/cut/…/][-/thumbs~N/]".
type VideoConversion struct {
	// File is the source file's UUID (or its CDN URL).
	File string
	// Format is mp4 (the server's default), webm or ogg.
	Format string
	// Width and Height resize (multiples of 4; either may be 0 to keep
	// the ratio); ResizeMode is preserve_ratio, change_ratio, scale_crop or
	// add_padding.
	Width, Height int
	ResizeMode    string
	// Quality is normal, better, best, lighter or lightest.
	Quality string
	// CutStart and CutLength cut a fragment: times as HHH:MM:SS.sss,
	// MM:SS.sss or SSSS.sss; CutLength may be "end".
	CutStart, CutLength string
	// Thumbs is the number of thumbnails (1..50; the server makes 1 when 0).
	Thumbs int
}

var (
	videoFormats   = map[string]bool{"mp4": true, "webm": true, "ogg": true}
	videoQualities = map[string]bool{"normal": true, "better": true, "best": true, "lighter": true, "lightest": true}
	resizeModes    = map[string]bool{"preserve_ratio": true, "change_ratio": true, "scale_crop": true, "add_padding": true}
)

// Path returns the conversion path, or an *InvalidParamError.
func (v VideoConversion) Path() (string, error) {
	base, err := conversionBase(v.File)
	if err != nil {
		return "", err
	}
	p := base + "/video/"
	if v.Format != "" {
		if !videoFormats[v.Format] {
			return "", &InvalidParamError{"Format", fmt.Sprintf("%q is not mp4, webm or ogg", v.Format)}
		}
		p += "-/format/" + v.Format + "/"
	}
	if v.Width != 0 || v.Height != 0 {
		if v.Width < 0 || v.Height < 0 || v.Width%4 != 0 || v.Height%4 != 0 {
			return "", &InvalidParamError{"Width/Height", "sizes are positive multiples of 4"}
		}
		p += "-/size/" + dim(v.Width) + "x" + dim(v.Height) + "/"
		if v.ResizeMode != "" {
			if !resizeModes[v.ResizeMode] {
				return "", &InvalidParamError{"ResizeMode", fmt.Sprintf("%q is not a resize mode", v.ResizeMode)}
			}
			p += v.ResizeMode + "/"
		}
	} else if v.ResizeMode != "" {
		return "", &InvalidParamError{"ResizeMode", "needs Width or Height"}
	}
	if v.Quality != "" {
		if !videoQualities[v.Quality] {
			return "", &InvalidParamError{"Quality", fmt.Sprintf("%q is not a video quality", v.Quality)}
		}
		p += "-/quality/" + v.Quality + "/"
	}
	if v.CutStart != "" || v.CutLength != "" {
		if v.CutStart == "" || v.CutLength == "" || strings.Contains(v.CutStart+v.CutLength, "/") {
			return "", &InvalidParamError{"Cut", "needs both CutStart and CutLength"}
		}
		p += "-/cut/" + v.CutStart + "/" + v.CutLength + "/"
	}
	if v.Thumbs != 0 {
		if v.Thumbs < 1 || v.Thumbs > 50 {
			return "", &InvalidParamError{"Thumbs", "1 to 50"}
		}
		p += "-/thumbs~" + strconv.Itoa(v.Thumbs) + "/"
	}
	return p, nil
}

func dim(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func conversionBase(file string) (string, error) {
	if ExtractUUID(file) == "" {
		return "", &InvalidParamError{"File", fmt.Sprintf("%q holds no file UUID", file)}
	}
	return strings.TrimRight(file, "/"), nil
}

// ConvertOptions shape a conversion request.
type ConvertOptions struct {
	// Store stores the results (the server's default when nil).
	Store *bool
	// SaveInGroup saves every page of a document converted to an image
	// format, as a group (see DocumentConvertedGroup).
	SaveInGroup bool
}

// ConversionJob is one accepted conversion.
type ConversionJob struct {
	// OriginalSource is the submitted path.
	OriginalSource string `json:"original_source"`
	// Token identifies the job for status calls.
	Token int64 `json:"token"`
	// UUID is the file the result will be.
	UUID string `json:"uuid"`
	// ThumbnailsGroupUUID is the group of video thumbnails ("<uuid>~N").
	ThumbnailsGroupUUID string `json:"thumbnails_group_uuid"`
}

// ConversionResult is the answer to a conversion request.
type ConversionResult struct {
	Jobs []ConversionJob `json:"result"`
	// Problems maps refused paths to why.
	Problems map[string]string `json:"problems"`
}

// ConversionStatus is the state of a conversion job.
type ConversionStatus struct {
	// Status is pending, processing, finished, failed or cancelled.
	Status string  `json:"status"`
	Error  *string `json:"error"`
	Result struct {
		UUID                string `json:"uuid"`
		ThumbnailsGroupUUID string `json:"thumbnails_group_uuid"`
	} `json:"result"`
}

// ConvertDocuments starts document conversions (paths from
// DocumentConversion.Path).
func (c *Client) ConvertDocuments(ctx context.Context, paths []string, opts *ConvertOptions) (*ConversionResult, error) {
	return c.convert(ctx, "document", paths, opts)
}

// ConvertVideos starts video conversions (paths from VideoConversion.Path).
func (c *Client) ConvertVideos(ctx context.Context, paths []string, opts *ConvertOptions) (*ConversionResult, error) {
	return c.convert(ctx, "video", paths, opts)
}

func (c *Client) convert(ctx context.Context, kind string, paths []string, opts *ConvertOptions) (*ConversionResult, error) {
	if len(paths) == 0 {
		return nil, &InvalidParamError{"paths", "nothing to convert"}
	}
	body := map[string]any{"paths": paths}
	if opts != nil {
		if opts.Store != nil {
			body["store"] = strconv.FormatBool(*opts.Store)
		}
		if opts.SaveInGroup {
			body["save_in_group"] = "1"
		}
	}
	var res ConversionResult
	if _, err := c.restCall(ctx, http.MethodPost, "/convert/"+kind+"/", nil, body, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// DocumentConversionStatus returns the state of a document conversion.
func (c *Client) DocumentConversionStatus(ctx context.Context, token int64) (*ConversionStatus, error) {
	return c.conversionStatus(ctx, "document", token)
}

// VideoConversionStatus returns the state of a video conversion.
func (c *Client) VideoConversionStatus(ctx context.Context, token int64) (*ConversionStatus, error) {
	return c.conversionStatus(ctx, "video", token)
}

func (c *Client) conversionStatus(ctx context.Context, kind string, token int64) (*ConversionStatus, error) {
	var st ConversionStatus
	if _, err := c.restCall(ctx, http.MethodGet, "/convert/"+kind+"/status/"+strconv.FormatInt(token, 10)+"/", nil, nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// WaitOptions shape a wait for a job.
type WaitOptions struct {
	// PollInterval is the polling period (1s by default).
	PollInterval time.Duration
	// Timeout bounds the wait (none by default: the context decides).
	Timeout time.Duration
}

func (o *WaitOptions) setup(ctx context.Context) (context.Context, context.CancelFunc, time.Duration) {
	every := time.Second
	var timeout time.Duration
	if o != nil {
		if o.PollInterval > 0 {
			every = o.PollInterval
		}
		timeout = o.Timeout
	}
	if timeout > 0 {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		return ctx, cancel, every
	}
	return ctx, func() {}, every
}

// WaitDocumentConversion polls a document conversion until it finishes; a
// failed or cancelled job gives a *JobError.
func (c *Client) WaitDocumentConversion(ctx context.Context, token int64, opts *WaitOptions) (*ConversionStatus, error) {
	return c.waitConversion(ctx, "document", token, opts)
}

// WaitVideoConversion polls a video conversion until it finishes; a failed
// or cancelled job gives a *JobError.
func (c *Client) WaitVideoConversion(ctx context.Context, token int64, opts *WaitOptions) (*ConversionStatus, error) {
	return c.waitConversion(ctx, "video", token, opts)
}

func (c *Client) waitConversion(ctx context.Context, kind string, token int64, opts *WaitOptions) (*ConversionStatus, error) {
	ctx, cancel, every := opts.setup(ctx)
	defer cancel()
	op := kind + " conversion " + strconv.FormatInt(token, 10)
	for {
		st, err := c.conversionStatus(ctx, kind, token)
		if err != nil {
			return nil, waitError(ctx, op, err)
		}
		switch st.Status {
		case "finished":
			return st, nil
		case "failed", "cancelled":
			msg := ""
			if st.Error != nil {
				msg = *st.Error
			}
			return st, &JobError{Kind: kind + " conversion", ID: strconv.FormatInt(token, 10), Status: st.Status, Message: msg}
		}
		if err := sleep(ctx, every); err != nil {
			return nil, waitError(ctx, op, err)
		}
	}
}

// DocumentInfo describes a document's format and what it converts to.
type DocumentInfo struct {
	Error  *string `json:"error"`
	Format struct {
		Name              string `json:"name"`
		ConversionFormats []struct {
			Name string `json:"name"`
		} `json:"conversion_formats"`
		ConvertedGroups map[string]string `json:"converted_groups"`
	} `json:"format"`
	// ConvertedGroups maps target formats to the groups of converted pages.
	ConvertedGroups map[string]string `json:"converted_groups"`
}

// DocumentInfo returns what a document is and converts to.
func (c *Client) DocumentInfo(ctx context.Context, uuid string) (*DocumentInfo, error) {
	var d DocumentInfo
	if _, err := c.restCall(ctx, http.MethodGet, "/convert/document/"+url.PathEscape(uuid)+"/", nil, nil, &d); err != nil {
		return nil, err
	}
	if d.ConvertedGroups == nil {
		d.ConvertedGroups = d.Format.ConvertedGroups
	}
	return &d, nil
}

// DocumentConvertedGroup returns the group holding the pages of a document
// converted to format with SaveInGroup ("" when there is none yet).
func (c *Client) DocumentConvertedGroup(ctx context.Context, uuid, format string) (string, error) {
	d, err := c.DocumentInfo(ctx, uuid)
	if err != nil {
		return "", err
	}
	if g := d.ConvertedGroups[format]; g != "" {
		return g, nil
	}
	return d.Format.ConvertedGroups[format], nil
}
