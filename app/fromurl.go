package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/fetch"
)

// fetchParams are the upload options a from-URL task carries.
type fetchParams struct {
	UploadOptions
	Filename      string `json:"filename"`
	SaveDuplicate bool   `json:"save_duplicate"`
}

// FromURL validates a source URL and queues its download. When checkDup is
// set and the project already has a file fetched from that URL, the file is
// returned instead of a task.
func (a *App) FromURL(ctx context.Context, p *satchel.Project, opts UploadOptions, sourceURL, filename string, checkDup, saveDup bool) (*satchel.FetchTask, *satchel.File, error) {
	if sourceURL == "" {
		return nil, nil, invalid(satchel.ReasonSourceRequired, "source_url", "source_url is required.")
	}
	if err := opts.Validate(); err != nil {
		return nil, nil, err
	}
	u, err := a.Fetch.Validate(ctx, sourceURL)
	if err != nil {
		return nil, nil, fetchError(err)
	}
	if checkDup {
		f, err := a.Store.FileBySourceURL(ctx, p.ID, u.String())
		if err == nil {
			return nil, f, nil
		}
		if !satchel.IsNotFound(err) {
			return nil, nil, err
		}
	}
	params, _ := json.Marshal(fetchParams{UploadOptions: opts, Filename: filename, SaveDuplicate: saveDup})
	now := time.Now().UTC()
	t := &satchel.FetchTask{
		Token: newUUID(), ProjectID: p.ID, SourceURL: u.String(), Status: satchel.FetchWaiting,
		Total: -1, Params: string(params), Created: now, Updated: now,
	}
	if err := a.Store.CreateFetchTask(ctx, t); err != nil {
		return nil, nil, fmt.Errorf("app: create fetch task: %w", err)
	}
	a.enqueueFetch(t.Token)
	return t, nil, nil
}

// fetchError turns a fetcher error into a domain error (the fetcher's own
// code and sentence stay available through it).
func fetchError(err error) error {
	var fe *fetch.Error
	if errors.As(err, &fe) {
		return &satchel.Error{Kind: satchel.KindInvalid, Reason: satchel.ReasonFetchRefused, Field: "source_url", Message: fe.Message, Err: err}
	}
	return err
}

// FetchStatus returns a task by token; satchel.ErrNotFound for unknown tokens.
func (a *App) FetchStatus(ctx context.Context, token string) (*satchel.FetchTask, *satchel.File, error) {
	if token == "" {
		return nil, nil, invalid(satchel.ReasonTokenRequired, "token", "token is required.")
	}
	t, err := a.Store.FetchTask(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	if err := a.throttle(t.ProjectID); err != nil {
		return nil, nil, err
	}
	if t.Status != satchel.FetchSuccess {
		return t, nil, nil
	}
	f, err := a.Store.File(ctx, t.ProjectID, t.FileUUID)
	if err != nil {
		return nil, nil, fmt.Errorf("app: fetched file: %w", err)
	}
	return t, f, nil
}

// Fetch task leasing: a node claims tasks for fetchLease and renews the lease
// with every progress update, so a task whose node dies is taken over by
// another node (or this one after a restart) when the lease runs out.
const (
	fetchLease       = 30 * time.Second
	maxFetchAttempts = 3
	fetchPoll        = 500 * time.Millisecond
)

// enqueueFetch wakes the claim loop (a hint: the task row is the queue).
func (a *App) enqueueFetch(string) {
	select {
	case a.fetchPoke <- struct{}{}:
	default:
	}
}

// fetchLoop claims due tasks while workers are free and runs them.
func (a *App) fetchLoop() {
	defer a.wg.Done()
	sem := make(chan struct{}, a.cfg.FetchWorkers)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-a.stop
		cancel()
	}()
	var running sync.WaitGroup
	defer running.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-a.fetchPoke:
		case <-timer.C:
		}
		timer.Reset(fetchPoll)
		free := cap(sem) - len(sem)
		if free == 0 {
			continue
		}
		// Each project gets at most FetchPerProject of the workers (counted
		// across nodes), so slow sources cannot hold them all.
		tasks, err := a.Store.ClaimFetchTasks(ctx, time.Now(), fetchLease, free, a.cfg.FetchPerProject)
		if err != nil {
			if ctx.Err() == nil {
				a.Log.Error("claim fetch tasks", "err", err)
			}
			continue
		}
		for _, t := range tasks {
			sem <- struct{}{}
			running.Add(1)
			go func(t *satchel.FetchTask) {
				defer running.Done()
				defer func() { <-sem }()
				if err := a.runFetch(ctx, t); err != nil && ctx.Err() == nil {
					a.Log.Error("fetch task", "token", t.Token, "err", err)
				}
			}(t)
		}
	}
}

// progressWriter reports download progress to the task at most every 250 ms.
type progressWriter struct {
	a    *App
	t    *satchel.FetchTask
	ctx  context.Context
	last time.Time
	in   *Incoming
}

func (w *progressWriter) Write(p []byte) (int, error) {
	n, err := w.in.Write(p)
	w.t.Done += int64(n)
	if time.Since(w.last) > 250*time.Millisecond {
		w.last = time.Now()
		w.t.Status = satchel.FetchProgress
		w.t.Updated = w.last.UTC()
		w.t.LeaseUntil = w.last.Add(fetchLease)
		if uerr := w.a.Store.UpdateFetchTask(w.ctx, w.t); uerr != nil {
			return n, uerr
		}
	}
	return n, err
}

func (a *App) runFetch(ctx context.Context, t *satchel.FetchTask) error {
	// Keep the claim alive however slowly the source sends; stop at once
	// if another node has taken the task over.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		tick := time.NewTicker(fetchLease / 3)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				err := a.Store.RenewFetchLease(ctx, t.Token, t.Attempts, time.Now().Add(fetchLease))
				if errors.Is(err, satchel.ErrConflict) {
					a.Log.Warn("fetch task taken over by another claim", "token", t.Token)
					cancel()
					return
				}
			}
		}
	}()
	fail := func(code, msg string) error {
		t.Status, t.ErrorCode, t.ErrorText, t.Updated = satchel.FetchError, code, msg, time.Now().UTC()
		return a.Store.UpdateFetchTask(context.WithoutCancel(ctx), t)
	}
	var params fetchParams
	if err := json.Unmarshal([]byte(t.Params), &params); err != nil {
		return fail("DownloadFileInternalServerError", "Internal error.")
	}
	if t.Attempts > maxFetchAttempts {
		return fail("DownloadFileTaskFailedError", "Download task failed.")
	}
	p, err := a.Store.ProjectByID(ctx, t.ProjectID)
	if err != nil {
		return fail("DownloadFileInternalServerError", "Internal error.")
	}
	now := time.Now()
	t.Status, t.Done, t.Updated, t.LeaseUntil = satchel.FetchProgress, 0, now.UTC(), now.Add(fetchLease)
	if err := a.Store.UpdateFetchTask(ctx, t); err != nil {
		return err
	}
	u, err := a.Fetch.Validate(ctx, t.SourceURL)
	if err != nil {
		var fe *fetch.Error
		if errors.As(err, &fe) {
			return fail(fe.Code, fe.Message)
		}
		return fail("DownloadFileError", "Download failed.")
	}
	resp, err := a.Fetch.Open(ctx, u)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // shutting down: the task resumes at next start
		}
		var fe *fetch.Error
		if errors.As(err, &fe) {
			return fail(fe.Code, fe.Message)
		}
		return fail("DownloadFileError", "Download failed.")
	}
	defer resp.Body.Close()
	limit := a.maxFileSize(p)
	if resp.Size > limit {
		return fail("DownloadFileSizeLimitExceededError", fmt.Sprintf("Downloaded file is too big: %d > %d.", resp.Size, limit))
	}
	t.Total = resp.Size
	name := params.Filename
	if name == "" {
		name = resp.Filename
	}
	in, err := a.receiveFetch(ctx, t, name, resp, limit)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrTooLarge) {
			return fail("DownloadFileSizeLimitExceededError", fmt.Sprintf("Downloaded file is too big: > %d.", limit))
		}
		var fe *fetch.Error
		if errors.As(err, &fe) {
			return fail(fe.Code, fe.Message)
		}
		return fail("DownloadFileHTTPNetworkError", "Network error while downloading.")
	}
	t.Updated, t.LeaseUntil = time.Now().UTC(), time.Now().Add(fetchLease)
	if err := a.Store.UpdateFetchTask(ctx, t); err != nil {
		in.Abort()
		return err // taken over: the other claim records the file
	}
	files, err := a.commitFetched(ctx, p, params, t.SourceURL, in)
	if err != nil {
		e := satchel.AsError(err)
		if !e.ServerFault() {
			return fail("DownloadFileValidationFailedError", e.Message)
		}
		fail("DownloadFileInternalServerError", "Internal error.")
		return err
	}
	t.Status, t.FileUUID, t.Done, t.Total, t.Updated = satchel.FetchSuccess, files[0].UUID, files[0].Size, files[0].Size, time.Now().UTC()
	return a.Store.UpdateFetchTask(context.WithoutCancel(ctx), t)
}

func (a *App) receiveFetch(ctx context.Context, t *satchel.FetchTask, name string, resp *fetch.Response, limit int64) (*Incoming, error) {
	id := newUUID()
	w, err := a.Bucket.NewWriter(ctx, id)
	if err != nil {
		return nil, err
	}
	in := newIncoming(id, "", name, resp.ContentType, w)
	pw := &progressWriter{a: a, t: t, ctx: ctx, in: in}
	n, err := io.CopyBuffer(pw, readerOnly{io.LimitReader(resp.Body, limit+1)}, make([]byte, 256<<10))
	if err != nil {
		in.Abort()
		return nil, err
	}
	if n > limit {
		in.Abort()
		return nil, ErrTooLarge
	}
	return in, nil
}

func (a *App) commitFetched(ctx context.Context, p *satchel.Project, params fetchParams, sourceURL string, in *Incoming) ([]*satchel.File, error) {
	src := params.Source
	if src == "" {
		src = "url"
	}
	params.UploadOptions.Source = src
	var saveURL string
	if params.SaveDuplicate {
		saveURL = sourceURL
	}
	return a.commit(ctx, p, params.UploadOptions, []*Incoming{in}, saveURL)
}
