package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/fetch"
	"github.com/satchel-project/satchel/jobs"
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
	// The task and its job commit together.
	if err := a.Store.CreateFetchTask(ctx, t); err != nil {
		return nil, nil, fmt.Errorf("app: create fetch task: %w", err)
	}
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

// fetchWorker runs from-URL tasks (jobs.FetchArgs). Its status row is the
// fetch task, which only the job's current attempt writes.
//
// A download may take as long as the fetcher allows (minutes), far longer
// than River's job timeout, which here is the horizon of the job's
// heartbeat: while the job runs it touches its River row every few seconds
// (jobs.DB.Touch), and River's rescuer retries it elsewhere only once the
// beats stop, i.e. its node died.
type fetchWorker struct {
	river.WorkerDefaults[jobs.FetchArgs]
	a *App
}

// Work implements river.Worker.
func (w *fetchWorker) Work(ctx context.Context, job *river.Job[jobs.FetchArgs]) error {
	a := w.a
	ctx, cancel := a.detachDeadline(ctx)
	defer cancel()
	// Each project gets at most FetchPerProject downloads running (across
	// nodes), so slow sources cannot hold every worker.
	ok, err := a.Jobs.AcquireSlot(ctx, jobs.QueueFetch, job.Args.ProjectID, job.ID, a.cfg.FetchPerProject)
	if err != nil {
		return err
	}
	if !ok {
		return river.JobSnooze(slotWait(job.JobRow))
	}
	defer a.Jobs.ReleaseSlot(context.WithoutCancel(ctx), job.ID)
	// This run takes the task over: an earlier run still alive somewhere
	// (its node presumed dead) can no longer write it.
	t, err := a.Store.StartFetchTask(ctx, job.Args.Token)
	if satchel.IsNotFound(err) {
		return nil // forgotten
	}
	if err != nil {
		return err
	}
	if t.Status == satchel.FetchSuccess || t.Status == satchel.FetchError {
		return nil // finished by an earlier run before River recorded it
	}
	ctx, stop := a.Jobs.Heartbeat(ctx, a.Log, job.ID, job.Attempt, "token", t.Token)
	defer stop()
	return a.runFetch(ctx, t, job.Attempt)
}

// slotWait is how long a job whose project is at its cap waits before it
// looks again: a quarter second, more after many waits (up to five
// seconds), so a long backlog of a busy project costs few wake-ups.
func slotWait(job *rivertype.JobRow) time.Duration {
	var md struct {
		Snoozes int `json:"snoozes"`
	}
	json.Unmarshal(job.Metadata, &md)
	d := 250*time.Millisecond + time.Duration(min(md.Snoozes, 20))*250*time.Millisecond
	return d + rand.N(d/2)
}

// detachDeadline returns a context that River's job timeout does not end
// (it is the heartbeat horizon, see fetchWorker) but that a shutdown or an
// operator's cancel still ends while the timeout has not passed, and Halt
// ends always.
func (a *App) detachDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	out, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop1 := context.AfterFunc(ctx, func() {
		if cause := context.Cause(ctx); !errors.Is(cause, context.DeadlineExceeded) {
			cancel(cause)
		}
	})
	stop2 := context.AfterFunc(a.halt, func() { cancel(context.Cause(a.halt)) })
	return out, func() { stop1(); stop2(); cancel(context.Canceled) }
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
		if uerr := w.a.Store.UpdateFetchTask(w.ctx, w.t); uerr != nil {
			return n, uerr
		}
	}
	return n, err
}

// runFetch runs attempt number attempt of task t. Outcomes the task
// reports (success, or an error code) end the job; an error returned is
// the store's or a shutdown's, and River retries the job.
func (a *App) runFetch(ctx context.Context, t *satchel.FetchTask, attempt int) error {
	fail := func(code, msg string) error {
		t.Status, t.ErrorCode, t.ErrorText, t.Updated = satchel.FetchError, code, msg, time.Now().UTC()
		return a.Store.UpdateFetchTask(context.WithoutCancel(ctx), t)
	}
	var params fetchParams
	if err := json.Unmarshal([]byte(t.Params), &params); err != nil {
		return fail("DownloadFileInternalServerError", "Internal error.")
	}
	if attempt > jobs.MaxFetchAttempts {
		return fail("DownloadFileTaskFailedError", "Download task failed.")
	}
	p, err := a.Store.ProjectByID(ctx, t.ProjectID)
	if err != nil {
		return fail("DownloadFileInternalServerError", "Internal error.")
	}
	t.Status, t.Done, t.Updated = satchel.FetchProgress, 0, time.Now().UTC()
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
			return ctx.Err() // shutting down: the job is retried
		}
		var fe *fetch.Error
		if errors.As(err, &fe) {
			return fail(fe.Code, fe.Message)
		}
		return fail("DownloadFileError", "Download failed.")
	}
	defer resp.Body.Close()
	limit := a.MaxUploadSize(p, params.Anonymous)
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
	t.Updated = time.Now().UTC()
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
