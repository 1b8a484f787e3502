package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/riverqueue/river"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/addons"
	"github.com/satchel-project/satchel/jobs"
	"github.com/satchel-project/satchel/ucare/akamai"
)

// AddonTimeout bounds one run of an add-on execution.
const AddonTimeout = 5 * time.Minute

// addonURLTTL is how long the file URL an add-on gets stays valid.
const addonURLTTL = 15 * time.Minute

// ExecuteAddon validates an execution of add-on name on the project's file
// target and queues it. Add-ons the operator has not set up answer
// "not configured"; a second execution on a target while one is in
// progress is a conflict (409).
func (a *App) ExecuteAddon(ctx context.Context, p *satchel.Project, name, target string, params json.RawMessage) (*satchel.AddonRequest, error) {
	ad, ok := a.Addons[name]
	if !ok || ad == nil {
		switch name {
		case addons.ClamAV, addons.RekognitionLabels, addons.RekognitionModeration, addons.RemoveBG:
			return nil, errAddonNotConfigured(name)
		}
		return nil, satchel.Errorf(satchel.KindNotFound, satchel.ReasonAddonNotFound, "Add-on %q is not found.", name)
	}
	if err := ad.Check(params); err != nil {
		var pe *addons.ParamError
		switch {
		case errors.Is(err, addons.ErrNotConfigured):
			return nil, errAddonNotConfigured(name)
		case errors.As(err, &pe):
			return nil, satchel.Errorf(satchel.KindInvalid, satchel.ReasonAddonRequestInvalid, "%s", pe.Msg)
		}
		return nil, err
	}
	if !satchel.ValidUUID(target) {
		return nil, satchel.Errorf(satchel.KindInvalid, satchel.ReasonAddonRequestInvalid, "`target` must be a file UUID.")
	}
	f, err := a.Store.File(ctx, p.ID, target)
	if satchel.IsNotFound(err) || (err == nil && f.Removed != nil) {
		return nil, satchel.Errorf(satchel.KindNotFound, satchel.ReasonFileNotFound, "File is not found.")
	}
	if err != nil {
		return nil, err
	}
	if len(params) == 0 || string(params) == "null" {
		params = json.RawMessage("{}")
	}
	now := time.Now().UTC()
	r := &satchel.AddonRequest{ID: newUUID(), ProjectID: p.ID, Addon: name, Target: target, Params: string(params),
		Status: satchel.AddonInProgress, Created: now, Updated: now}
	// The request and its job commit together.
	if err := a.Store.CreateAddonRequest(ctx, r); errors.Is(err, satchel.ErrConflict) {
		return nil, satchel.Errorf(satchel.KindConflict, satchel.ReasonAddonRunning, "Add-on %s is already running on this file.", name)
	} else if err != nil {
		return nil, fmt.Errorf("app: create add-on request: %w", err)
	}
	return r, nil
}

func errAddonNotConfigured(name string) error {
	return satchel.Errorf(satchel.KindInvalid, satchel.ReasonAddonNotConfigured, "Add-on %s is not configured on this server.", name)
}

// AddonStatus returns an execution of add-on name; nil (status "unknown")
// for an id the project does not have.
func (a *App) AddonStatus(ctx context.Context, p *satchel.Project, name, id string) (*satchel.AddonRequest, error) {
	if id == "" {
		return nil, satchel.Errorf(satchel.KindInvalid, satchel.ReasonAddonRequestInvalid, "`request_id` is required.")
	}
	if !satchel.ValidUUID(id) {
		return nil, satchel.Errorf(satchel.KindInvalid, satchel.ReasonAddonRequestInvalid, "`request_id` must be a UUID.")
	}
	r, err := a.Store.AddonRequest(ctx, p.ID, id)
	if satchel.IsNotFound(err) || (err == nil && r.Addon != name) {
		return nil, nil
	}
	return r, err
}

// addonWorker runs add-on executions (jobs.AddonArgs); the status row is
// the add-on request.
type addonWorker struct {
	river.WorkerDefaults[jobs.AddonArgs]
	a *App
}

// Timeout implements river.Worker: add-ons may take minutes (a large
// file's scan, a remote model).
func (w *addonWorker) Timeout(*river.Job[jobs.AddonArgs]) time.Duration { return AddonTimeout }

// Work implements river.Worker. Outcomes the execution reports end the
// job; an error returned (a transient failure of the add-on or the store)
// makes River retry it, up to jobs.MaxAddonAttempts runs.
func (w *addonWorker) Work(ctx context.Context, job *river.Job[jobs.AddonArgs]) error {
	a := w.a
	r, err := a.Store.AddonRequest(ctx, job.Args.ProjectID, job.Args.RequestID)
	if satchel.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if r.Status != satchel.AddonInProgress {
		return nil // recorded by an earlier run
	}
	fail := func(err error) error {
		a.Log.Warn("add-on failed", "addon", r.Addon, "request_id", r.ID, "file", r.Target, "err", err)
		r.Status, r.Error, r.Updated = satchel.AddonError, err.Error(), time.Now().UTC()
		return a.Store.FinishAddonRequest(context.WithoutCancel(ctx), r)
	}
	ad := a.Addons[r.Addon]
	if ad == nil {
		return fail(addons.ErrNotConfigured)
	}
	p, err := a.Store.ProjectByID(ctx, r.ProjectID)
	if err != nil {
		return err
	}
	f, err := a.Store.File(ctx, r.ProjectID, r.Target)
	if satchel.IsNotFound(err) || (err == nil && f.Removed != nil) {
		return fail(errors.New("file is gone"))
	}
	if err != nil {
		return err
	}
	out, err := ad.Run(ctx, &addons.Input{
		File: f, URL: a.addonFileURL(p, f), Params: json.RawMessage(r.Params), RequestID: r.ID,
		Open: func(ctx context.Context) (io.ReadCloser, error) { return a.Bucket.Open(ctx, f.BlobKey) },
	})
	if err != nil {
		if addons.IsPermanent(err) || job.Attempt >= jobs.MaxAddonAttempts {
			return fail(err)
		}
		return err
	}
	return a.finishAddon(ctx, p, r, out)
}

// finishAddon keeps an add-on's answer: a file it made, its entry in the
// target's appdata (replacing an earlier one, with file.info_updated, and
// file.infected for a virus), the purge it asked for, and the status.
func (a *App) finishAddon(ctx context.Context, p *satchel.Project, r *satchel.AddonRequest, out *addons.Output) error {
	data, err := json.Marshal(out.Data)
	if err != nil {
		return fmt.Errorf("app: add-on data: %w", err)
	}
	var result string
	if nf := out.NewFile; nf != nil {
		id := newUUID()
		bw, err := a.Bucket.NewWriter(ctx, id)
		if err != nil {
			return err
		}
		in := newIncoming(id, "", nf.Name, nf.ContentType, bw)
		if _, err := in.Write(nf.Body); err != nil {
			in.Abort()
			return err
		}
		files, err := a.commit(ctx, p, UploadOptions{Source: "addon"}, []*Incoming{in}, "")
		if err != nil {
			return err
		}
		rb, _ := json.Marshal(map[string]string{"file_id": files[0].UUID})
		result = string(rb)
	}
	reqID, name := r.ID, r.Addon
	init := satchel.Initiator{Type: "addon", RequestID: &reqID, AddonName: &name}
	now := time.Now().UTC()
	_, err = a.Store.UpdateFile(ctx, p.ID, r.Target, func(f *satchel.File) ([]*satchel.Event, error) {
		prev := map[string]any{"appdata": nil}
		if len(f.Appdata) > 0 {
			cp := make(map[string]satchel.AddonResult, len(f.Appdata))
			for k, v := range f.Appdata {
				cp[k] = v
			}
			prev["appdata"] = cp
		}
		entry := satchel.AddonResult{Data: data, Version: out.Version, Created: now, Updated: now}
		if old, ok := f.Appdata[r.Addon]; ok {
			entry.Created = old.Created
		}
		if f.Appdata == nil {
			f.Appdata = map[string]satchel.AddonResult{}
		}
		f.Appdata[r.Addon] = entry
		events := []*satchel.Event{FileEvent(f, satchel.EventFileInfoUpdated, init, prev)}
		if out.Infected {
			events = append(events, FileEvent(f, satchel.EventFileInfected, init, nil))
		}
		if out.Purge && f.Removed == nil {
			f.Removed, f.Stored = &now, nil
			events = append(events, FileEvent(f, satchel.EventFileDeleted, init, nil))
		}
		return events, nil
	})
	if satchel.IsNotFound(err) {
		r.Status, r.Error, r.Updated = satchel.AddonError, "file is gone", now
		return a.Store.FinishAddonRequest(context.WithoutCancel(ctx), r)
	}
	if err != nil {
		return err
	}
	if out.Purge {
		a.purged(r.Target)
	}
	r.Status, r.Result, r.Updated = satchel.AddonDone, result, now
	return a.Store.FinishAddonRequest(context.WithoutCancel(ctx), r)
}

// addonFileURL is a CDN URL of f that add-ons can fetch for a while: with
// an access token when the project's CDN requires one.
func (a *App) addonFileURL(p *satchel.Project, f *satchel.File) string {
	u := a.CDNBase + "/" + f.UUID + "/"
	if p.SecureDeliverySecret != "" {
		tok, err := akamai.ACLToken(p.SecureDeliverySecret, "/"+f.UUID+"/", time.Now().Add(addonURLTTL).Unix(), true)
		if err == nil {
			u += "?token=" + tok
		}
	}
	return u
}
