package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/convert"
)

// ErrConverterUnavailable is returned when a conversion's program is not
// installed on this node (the REST API answers 503).
var ErrConverterUnavailable = errors.New("converter unavailable")

// ConversionJob is one accepted conversion path.
type ConversionJob struct {
	OriginalSource string
	Conversion     *satchel.Conversion
}

// Convert accepts conversion paths of a kind (satchel.ConvertDocument or
// satchel.ConvertVideo). Paths it refuses are returned in problems, keyed
// by the submitted string; a path converted before is answered with that
// conversion, unless it failed.
func (a *App) Convert(ctx context.Context, p *satchel.Project, kind string, paths []string, store string, saveInGroup bool) ([]ConversionJob, map[string]string, error) {
	if p.NoConversion {
		what := "Document"
		if kind == satchel.ConvertVideo {
			what = "Video"
		}
		return nil, nil, satchel.Errorf(satchel.KindInvalid, satchel.ReasonConversionDisabled, "%s conversion feature is not available for this project.", what)
	}
	if err := a.converterAvailable(kind); err != nil {
		return nil, nil, err
	}
	problems := map[string]string{}
	var out []ConversionJob
	for _, path := range paths {
		c, problem, err := a.convertOne(ctx, p, kind, path, store, saveInGroup)
		if err != nil {
			return nil, nil, err
		}
		if problem != "" {
			problems[path] = problem
			continue
		}
		out = append(out, ConversionJob{OriginalSource: path, Conversion: c})
	}
	return out, problems, nil
}

func (a *App) converterAvailable(kind string) error {
	var err error
	switch {
	case kind == satchel.ConvertVideo && a.Video != nil:
		err = a.Video.Available()
	case kind == satchel.ConvertDocument && a.Documents != nil:
		err = a.Documents.Available()
	default:
		err = convert.ErrUnavailable
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConverterUnavailable, err)
	}
	return nil
}

func (a *App) convertOne(ctx context.Context, p *satchel.Project, kind, path, store string, saveInGroup bool) (*satchel.Conversion, string, error) {
	r, err := convert.Parse(kind, path)
	if err != nil {
		return nil, err.Error(), nil
	}
	f, err := a.Store.File(ctx, p.ID, r.Source)
	if satchel.IsNotFound(err) || (err == nil && f.Removed != nil) {
		return nil, fmt.Sprintf("File %q does not exist.", r.Source), nil
	}
	if err != nil {
		return nil, "", err
	}
	switch kind {
	case satchel.ConvertDocument:
		src := convert.SourceFormat(f.OriginalFilename, f.MimeType)
		if src == "" {
			return nil, fmt.Sprintf("File %q is not a document that can be converted.", r.Source), nil
		}
		if !convert.CanConvert(src, r.Format) {
			return nil, fmt.Sprintf("Bad path %q. A %s document does not convert to %s.", path, src, r.Format), nil
		}
		if a.cfg.MaxDocumentSize > 0 && f.Size > a.cfg.MaxDocumentSize {
			return nil, fmt.Sprintf("File %q is too large to convert: %d > %d bytes.", r.Source, f.Size, a.cfg.MaxDocumentSize), nil
		}
	case satchel.ConvertVideo:
		if !strings.HasPrefix(f.MimeType, "video/") && (f.ContentInfo == nil || f.ContentInfo.Video == nil) {
			return nil, fmt.Sprintf("File %q is not a video.", r.Source), nil
		}
		if a.cfg.MaxVideoSize > 0 && f.Size > a.cfg.MaxVideoSize {
			return nil, fmt.Sprintf("File %q is too large to convert: %d > %d bytes.", r.Source, f.Size, a.cfg.MaxVideoSize), nil
		}
	}
	if c, err := a.Store.ReusableConversion(ctx, p.ID, r.Path); err == nil {
		return c, "", nil
	} else if !satchel.IsNotFound(err) {
		return nil, "", err
	}
	now := time.Now().UTC()
	c := &satchel.Conversion{
		ProjectID: p.ID, Kind: kind, Path: r.Path, SourceUUID: r.Source, ResultUUID: newUUID(),
		Store: store, SaveInGroup: saveInGroup, Status: satchel.ConversionPending, Created: now, Updated: now,
	}
	if kind == satchel.ConvertVideo {
		c.ThumbsGroup = newUUID() + "~" + strconv.Itoa(r.Thumbs)
	}
	for range 5 {
		// Tokens are integers the JavaScript clients hold exactly.
		c.Token = 1 + rand.Int64N(1<<53-1)
		err = a.Store.CreateConversion(ctx, c)
		if !errors.Is(err, satchel.ErrConflict) {
			break
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("app: create conversion: %w", err)
	}
	return c, "", nil
}

// ConversionStatus returns a conversion of a project by token.
func (a *App) ConversionStatus(ctx context.Context, p *satchel.Project, kind string, token int64) (*satchel.Conversion, error) {
	c, err := a.Store.Conversion(ctx, kind, token)
	if err == nil && c.ProjectID != p.ID {
		err = satchel.ErrNotFound
	}
	if err != nil {
		return nil, notFound(err, "NotFound", "Not found.")
	}
	return c, nil
}

// DocumentFormat describes a document: its format, what it converts to and
// the groups of pages saved by conversions to image formats.
type DocumentFormat struct {
	Name            string
	Targets         []string
	ConvertedGroups map[string]string
}

// DocumentInfo describes a document of a project.
func (a *App) DocumentInfo(ctx context.Context, p *satchel.Project, id string) (*DocumentFormat, error) {
	if !satchel.ValidUUID(id) {
		return nil, satchel.Errorf(satchel.KindNotFound, satchel.ReasonConversionNotFound, "Not found.")
	}
	f, err := a.Store.File(ctx, p.ID, id)
	if err == nil && f.Removed != nil {
		err = satchel.ErrNotFound
	}
	if err != nil {
		return nil, notFound(err, "NotFound", "Not found.")
	}
	src := convert.SourceFormat(f.OriginalFilename, f.MimeType)
	if src == "" {
		return nil, satchel.Errorf(satchel.KindNotFound, satchel.ReasonConversionNotFound, "Not found.")
	}
	convs, err := a.Store.SourceConversions(ctx, p.ID, id)
	if err != nil {
		return nil, err
	}
	d := &DocumentFormat{Name: src, Targets: convert.TargetFormats(src), ConvertedGroups: map[string]string{}}
	for _, c := range convs {
		if c.Kind != satchel.ConvertDocument || c.PagesGroup == "" {
			continue
		}
		if r, err := convert.Parse(c.Kind, c.Path); err == nil {
			d.ConvertedGroups[r.Format] = c.PagesGroup
		}
	}
	return d, nil
}

// documentWorker runs document conversions (convert.DocumentArgs).
type documentWorker struct {
	river.WorkerDefaults[convert.DocumentArgs]
	a *App
}

// Work implements river.Worker.
func (w *documentWorker) Work(ctx context.Context, job *river.Job[convert.DocumentArgs]) error {
	return w.a.runConversionJob(ctx, job.JobRow.ID, job.Attempt, job.Args.Token)
}

// videoWorker runs video conversions (convert.VideoArgs).
type videoWorker struct {
	river.WorkerDefaults[convert.VideoArgs]
	a *App
}

// Work implements river.Worker.
func (w *videoWorker) Work(ctx context.Context, job *river.Job[convert.VideoArgs]) error {
	return w.a.runConversionJob(ctx, job.JobRow.ID, job.Attempt, job.Args.Token)
}

// runConversionJob runs attempt number attempt of a conversion. Like a
// from-URL fetch it outlives River's job timeout, beating its heartbeat
// (see fetchWorker); its own limit is the converter's timeout.
func (a *App) runConversionJob(ctx context.Context, jobID int64, attempt int, token int64) error {
	ctx, cancel := a.detachDeadline(ctx)
	defer cancel()
	c, err := a.Store.StartConversion(ctx, token, attempt)
	if satchel.IsNotFound(err) || errors.Is(err, satchel.ErrConflict) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx, stop := a.Jobs.Heartbeat(ctx, a.Log, jobID, attempt, "token", token)
	defer stop()
	return a.runConversion(ctx, c, attempt)
}

func (a *App) runConversion(ctx context.Context, c *satchel.Conversion, attempt int) error {
	fail := func(msg string) error {
		c.Status, c.Error, c.Updated = satchel.ConversionFailed, msg, time.Now().UTC()
		err := a.Store.UpdateConversion(context.WithoutCancel(ctx), c)
		if errors.Is(err, satchel.ErrConflict) {
			return nil
		}
		return err
	}
	if attempt > convert.MaxAttempts {
		return fail("Conversion failed.")
	}
	r, err := convert.Parse(c.Kind, c.Path)
	if err != nil {
		return fail(err.Error())
	}
	p, err := a.Store.ProjectByID(ctx, c.ProjectID)
	if err != nil {
		return err
	}
	src, err := a.Store.File(ctx, c.ProjectID, c.SourceUUID)
	if satchel.IsNotFound(err) || (err == nil && src.Removed != nil) {
		return fail("The source file was removed.")
	}
	if err != nil {
		return err
	}
	c.Status, c.Progress, c.Error, c.Updated = satchel.ConversionProcessing, 0, "", time.Now().UTC()
	if err := a.Store.UpdateConversion(ctx, c); err != nil {
		if errors.Is(err, satchel.ErrConflict) {
			return nil
		}
		return err
	}
	dir, err := os.MkdirTemp(a.cfg.TempDir, "convert-*")
	if err != nil {
		return fmt.Errorf("app: conversion dir: %w", err)
	}
	defer os.RemoveAll(dir)
	path, ok := a.Bucket.LocalPath(src.BlobKey)
	if !ok {
		if path, err = a.spoolTo(ctx, dir, src.BlobKey); err != nil {
			return err
		}
	}
	base := strings.TrimSuffix(src.OriginalFilename, filepath.Ext(src.OriginalFilename))
	if base == "" {
		base = "converted"
	}
	var outs []output
	groupFrom := -1 // outs[groupFrom:] make a group
	switch c.Kind {
	case satchel.ConvertVideo:
		last := time.Now()
		res, err := a.Video.Convert(ctx, path, dir, r, func(pct int) {
			if time.Since(last) < 500*time.Millisecond {
				return
			}
			last = time.Now()
			c.Progress, c.Updated = pct, last.UTC()
			if err := a.Store.UpdateConversion(ctx, c); err != nil && ctx.Err() == nil {
				a.Log.Warn("conversion progress", "token", c.Token, "err", err)
			}
		})
		if err != nil {
			return a.convertFailed(ctx, err, fail)
		}
		outs = append(outs, output{uuid: c.ResultUUID, path: res.Path, name: base + "." + res.Ext})
		groupFrom = len(outs)
		for i, t := range res.Thumbs {
			outs = append(outs, output{uuid: newUUID(), path: t, name: fmt.Sprintf("%s-thumb-%d.jpg", base, i+1)})
		}
	case satchel.ConvertDocument:
		srcFmt := convert.SourceFormat(src.OriginalFilename, src.MimeType)
		image := r.Format == "jpg" || r.Format == "png"
		all := image && c.SaveInGroup
		res, err := a.Documents.Convert(ctx, path, srcFmt, dir, r, all)
		if err != nil {
			return a.convertFailed(ctx, err, fail)
		}
		if !image {
			outs = append(outs, output{uuid: c.ResultUUID, path: res.Files[0], name: base + "." + r.Format})
			break
		}
		want := max(r.Page, 1)
		if !all {
			outs = append(outs, output{uuid: c.ResultUUID, path: res.Files[0], name: fmt.Sprintf("%s-page-%d.%s", base, want, r.Format)})
			break
		}
		groupFrom = 0
		for i, f := range res.Files {
			id := newUUID()
			if i+1 == want {
				id = c.ResultUUID
			}
			outs = append(outs, output{uuid: id, path: f, name: fmt.Sprintf("%s-page-%d.%s", base, i+1, r.Format)})
		}
	}
	files, err := a.storeOutputs(ctx, p, c.Store, outs)
	if err != nil {
		return err
	}
	var out satchel.ConversionOutcome
	out.Files = files
	out.Events = uploadEvents(files)
	now := time.Now().UTC()
	if groupFrom >= 0 && groupFrom < len(files) {
		members := files[groupFrom:]
		id := c.ThumbsGroup
		if c.Kind == satchel.ConvertDocument {
			id = newUUID() + "~" + strconv.Itoa(len(members))
			c.PagesGroup = id
		}
		g := &satchel.Group{ID: id, ProjectID: c.ProjectID, Created: now}
		for _, f := range members {
			g.Members = append(g.Members, satchel.GroupMember{FileUUID: f.UUID})
		}
		if members[0].Stored != nil {
			g.Stored = &now
		}
		out.Groups = append(out.Groups, g)
	}
	c.Status, c.Progress, c.Error, c.Updated = satchel.ConversionFinished, 100, "", now
	if err := a.Store.FinishConversion(context.WithoutCancel(ctx), c, out); err != nil {
		for _, f := range files {
			a.Bucket.Delete(context.WithoutCancel(ctx), f.BlobKey)
		}
		if errors.Is(err, satchel.ErrConflict) {
			return nil // a later attempt owns the conversion
		}
		return err
	}
	return nil
}

// convertFailed records a converter's refusal as the conversion's error;
// other errors (a shutdown) are returned and the job is retried.
func (a *App) convertFailed(ctx context.Context, err error, fail func(string) error) error {
	var ce *convert.Error
	switch {
	case errors.As(err, &ce):
		return fail(ce.Msg)
	case errors.Is(err, convert.ErrUnavailable):
		a.Log.Error("conversion", "err", err)
		return fail("The converter is unavailable.")
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return err
}

// output is a converted file to store.
type output struct{ uuid, path, name string }

// storeOutputs writes converted files into the blob store and describes
// them; the caller records them.
func (a *App) storeOutputs(ctx context.Context, p *satchel.Project, store string, outs []output) ([]*satchel.File, error) {
	now := time.Now().UTC()
	opts := UploadOptions{Store: store}
	var files []*satchel.File
	cleanup := func() {
		for _, f := range files {
			a.Bucket.Delete(context.WithoutCancel(ctx), f.BlobKey)
		}
	}
	for _, o := range outs {
		f, err := a.storeOutput(ctx, p, o, opts.stored(p, now), now)
		if err != nil {
			cleanup()
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

func (a *App) storeOutput(ctx context.Context, p *satchel.Project, o output, stored *time.Time, now time.Time) (*satchel.File, error) {
	src, err := os.Open(o.path)
	if err != nil {
		return nil, fmt.Errorf("app: converted file: %w", err)
	}
	defer src.Close()
	w, err := a.Bucket.NewWriter(ctx, o.uuid)
	if err != nil {
		return nil, fmt.Errorf("app: new blob: %w", err)
	}
	in := newIncoming(o.uuid, "", o.name, "", w)
	if _, err := io.CopyBuffer(in, readerOnly{src}, make([]byte, 256<<10)); err != nil {
		in.Abort()
		return nil, fmt.Errorf("app: write converted file: %w", err)
	}
	if err := in.w.Commit(); err != nil {
		return nil, fmt.Errorf("app: commit converted file: %w", err)
	}
	f := &satchel.File{
		UUID: o.uuid, ProjectID: p.ID, Size: in.size, OriginalFilename: in.Filename, Filename: satchel.SanitizeFilename(in.Filename),
		BlobKey: o.uuid, Checksum: "sha256:" + fmt.Sprintf("%x", in.hash.Sum(nil)), IsReady: true, Uploaded: now, Stored: stored,
		Source: "conversion",
	}
	if err := a.describe(ctx, f, in.head, in.ContentType); err != nil {
		a.Bucket.Delete(context.WithoutCancel(ctx), o.uuid)
		return nil, err
	}
	return f, nil
}

// spoolTo copies a remote blob into dir for a converter.
func (a *App) spoolTo(ctx context.Context, dir, key string) (string, error) {
	r, err := a.Bucket.Open(ctx, key)
	if err != nil {
		return "", fmt.Errorf("app: open source: %w", err)
	}
	defer r.Close()
	p := filepath.Join(dir, "source")
	f, err := os.Create(p)
	if err != nil {
		return "", fmt.Errorf("app: spool source: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return "", fmt.Errorf("app: spool source: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("app: spool source: %w", err)
	}
	return p, nil
}
