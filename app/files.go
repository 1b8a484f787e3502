package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
)

// errNoChange aborts an UpdateFile whose mutation changed nothing.
var errNoChange = errors.New("no change")

// update runs a mutation on a live file of the project; a mutation returning
// errNoChange leaves the file as it is and returns it.
func (a *App) update(ctx context.Context, p *satchel.Project, id string, allowRemoved bool, mutate func(f *satchel.File) ([]*satchel.Event, error)) (*satchel.File, error) {
	if !satchel.ValidUUID(id) {
		return nil, errFileNotFound()
	}
	f, err := a.Store.UpdateFile(ctx, p.ID, id, func(f *satchel.File) ([]*satchel.Event, error) {
		if f.Removed != nil && !allowRemoved {
			return nil, satchel.ErrNotFound
		}
		return mutate(f)
	})
	if errors.Is(err, errNoChange) {
		return a.Store.File(ctx, p.ID, id)
	}
	if satchel.IsNotFound(err) {
		return nil, errFileNotFound()
	}
	return f, err
}

// StoreFile marks a file stored (kept beyond the temporary period).
func (a *App) StoreFile(ctx context.Context, p *satchel.Project, id string) (*satchel.File, error) {
	return a.update(ctx, p, id, false, func(f *satchel.File) ([]*satchel.Event, error) {
		if f.Stored != nil {
			return nil, errNoChange
		}
		now := time.Now().UTC()
		f.Stored = &now
		return []*satchel.Event{fileEvent(f, satchel.EventFileStored)}, nil
	})
}

// DeleteFile removes a file: its record stays readable with datetime_removed
// set, its bytes are deleted by a job queued with the removal.
func (a *App) DeleteFile(ctx context.Context, p *satchel.Project, id string) (*satchel.File, error) {
	f, err := a.update(ctx, p, id, true, func(f *satchel.File) ([]*satchel.Event, error) {
		if f.Removed != nil {
			return nil, errNoChange
		}
		now := time.Now().UTC()
		f.Removed, f.Stored = &now, nil
		return []*satchel.Event{fileEvent(f, satchel.EventFileDeleted)}, nil
	})
	if err != nil {
		return nil, err
	}
	// The bytes go with the removal job the store queued with the change;
	// this node's caches forget the file now.
	a.purged(f.UUID)
	return f, nil
}

// SetMetadata sets one metadata key; created reports whether it was new.
func (a *App) SetMetadata(ctx context.Context, p *satchel.Project, id, key, value string) (created bool, err error) {
	if err := satchel.ValidateMetadataKey(key); err != nil {
		return false, err
	}
	if err := satchel.ValidateMetadataValue(key, value); err != nil {
		return false, err
	}
	_, err = a.update(ctx, p, id, false, func(f *satchel.File) ([]*satchel.Event, error) {
		old, exists := f.Metadata[key]
		if exists && old == value {
			return nil, errNoChange
		}
		if !exists && len(f.Metadata) >= satchel.MaxMetadataKeys {
			return nil, satchel.TooManyMetadataKeys()
		}
		prev := previousMetadata(f.Metadata)
		f.Metadata[key] = value
		created = !exists
		return []*satchel.Event{FileEvent(f, satchel.EventFileInfoUpdated, satchel.Initiator{Type: "api"}, prev)}, nil
	})
	return created, err
}

func previousMetadata(md map[string]string) map[string]any {
	if len(md) == 0 {
		return map[string]any{"metadata": nil}
	}
	cp := make(map[string]string, len(md))
	for k, v := range md {
		cp[k] = v
	}
	return map[string]any{"metadata": cp}
}

// DeleteMetadata removes one metadata key.
func (a *App) DeleteMetadata(ctx context.Context, p *satchel.Project, id, key string) error {
	_, err := a.update(ctx, p, id, false, func(f *satchel.File) ([]*satchel.Event, error) {
		if _, ok := f.Metadata[key]; !ok {
			return nil, satchel.ErrNotFound
		}
		prev := previousMetadata(f.Metadata)
		delete(f.Metadata, key)
		return []*satchel.Event{FileEvent(f, satchel.EventFileInfoUpdated, satchel.Initiator{Type: "api"}, prev)}, nil
	})
	return err
}

// TagChange is the result of a tag update.
type TagChange struct {
	Tags, Added, Deleted []string
}

// ChangeTags replaces the tags (replace != nil) or removes del then adds add.
func (a *App) ChangeTags(ctx context.Context, p *satchel.Project, id string, replace, add, del []string) (*TagChange, error) {
	norm := func(in []string) ([]string, error) {
		out := []string{}
		for _, t := range in {
			ts, err := satchel.ParseTags(t)
			if err != nil {
				return nil, err
			}
			out = append(out, ts...)
		}
		return out, nil
	}
	var err error
	if replace, err = normOrNil(replace, norm); err != nil {
		return nil, err
	}
	if add, err = norm(add); err != nil {
		return nil, err
	}
	if del, err = norm(del); err != nil {
		return nil, err
	}
	var ch TagChange
	_, err = a.update(ctx, p, id, false, func(f *satchel.File) ([]*satchel.Event, error) {
		before := map[string]bool{}
		for _, t := range f.Tags {
			before[t] = true
		}
		var next []string
		if replace != nil {
			next = replace
		} else {
			drop := map[string]bool{}
			for _, t := range del {
				drop[t] = true
			}
			kept := []string{}
			for _, t := range f.Tags {
				if !drop[t] {
					kept = append(kept, t)
				}
			}
			next = append(kept, add...)
		}
		seen := map[string]bool{}
		ch = TagChange{Tags: []string{}, Added: []string{}, Deleted: []string{}}
		for _, t := range next {
			if !seen[t] {
				seen[t] = true
				ch.Tags = append(ch.Tags, t)
				if !before[t] {
					ch.Added = append(ch.Added, t)
				}
			}
		}
		if len(ch.Tags) > satchel.MaxTags {
			return nil, satchel.TooManyTags()
		}
		for _, t := range f.Tags {
			if !seen[t] {
				ch.Deleted = append(ch.Deleted, t)
			}
		}
		if len(ch.Added) == 0 && len(ch.Deleted) == 0 {
			return nil, errNoChange
		}
		// Tags keep their order; what changed is listed alphabetically, as
		// the JS REST client documents it.
		slices.Sort(ch.Added)
		slices.Sort(ch.Deleted)
		f.Tags = ch.Tags
		return []*satchel.Event{FileEvent(f, satchel.EventFileInfoUpdated, satchel.Initiator{Type: "api"}, nil)}, nil
	})
	if err != nil {
		return nil, err
	}
	return &ch, nil
}

func normOrNil(in []string, norm func([]string) ([]string, error)) ([]string, error) {
	if in == nil {
		return nil, nil
	}
	return norm(in)
}

// BatchResult is the outcome of a batch store/delete.
type BatchResult struct {
	Files    []*satchel.File
	Problems map[string]string
}

// MaxBatch is the largest batch of UUIDs one call may name.
const MaxBatch = 100

// Batch stores (store=true) or deletes the files named by values (UUIDs or
// CDN URLs), all in one transaction.
func (a *App) Batch(ctx context.Context, p *satchel.Project, values []string, store bool) (*BatchResult, error) {
	if len(values) == 0 {
		return nil, invalid(satchel.ReasonBatchEmpty, "uuids", "No files given.")
	}
	if len(values) > MaxBatch {
		return nil, withLimit(newError(satchel.KindTooLarge, satchel.ReasonBatchTooLarge, "Too many files: the limit is %d.", MaxBatch), MaxBatch)
	}
	res := &BatchResult{Files: []*satchel.File{}, Problems: map[string]string{}}
	var ids, names []string
	for _, v := range values {
		m, ok := ParseGroupMember(v)
		if !ok {
			res.Problems[v] = "Invalid"
			continue
		}
		ids, names = append(ids, m.FileUUID), append(names, v)
	}
	if len(ids) == 0 {
		return res, nil
	}
	now := time.Now().UTC()
	files, errs, err := a.Store.UpdateFiles(ctx, p.ID, ids, func(f *satchel.File) ([]*satchel.Event, error) {
		if store {
			if f.Removed != nil {
				return nil, satchel.ErrNotFound
			}
			if f.Stored != nil {
				return nil, errNoChange
			}
			f.Stored = &now
			return []*satchel.Event{fileEvent(f, satchel.EventFileStored)}, nil
		}
		if f.Removed != nil {
			return nil, errNoChange
		}
		f.Removed, f.Stored = &now, nil
		return []*satchel.Event{fileEvent(f, satchel.EventFileDeleted)}, nil
	})
	if err != nil {
		return nil, err
	}
	for i, f := range files {
		switch {
		case errs[i] == nil:
			res.Files = append(res.Files, f)
			if !store {
				a.purged(f.UUID) // the bytes go with the removal job
			}
		case errors.Is(errs[i], errNoChange):
			cur, err := a.Store.File(ctx, p.ID, ids[i])
			if err != nil {
				return nil, err
			}
			res.Files = append(res.Files, cur)
		default:
			res.Problems[names[i]] = "Missing in the project"
		}
	}
	return res, nil
}

// ListFiles pages through the files of project p, whatever API made them.
// The query's project is always p's: no listing reaches another project.
func (a *App) ListFiles(ctx context.Context, p *satchel.Project, q satchel.FileQuery) ([]*satchel.File, error) {
	q.ProjectID = p.ID
	files, err := a.Store.ListFiles(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("app: list files: %w", err)
	}
	return files, nil
}

// LocalCopy copies a file's bytes into a new file of the same project.
// CDN operations in the source are not supported yet and are refused.
func (a *App) LocalCopy(ctx context.Context, p *satchel.Project, source string, store *bool, metadata map[string]string) (*satchel.File, error) {
	if source == "" {
		return nil, invalid(satchel.ReasonCopyParamRequired, "source", "source is required.")
	}
	m, ok := ParseGroupMember(source)
	if !ok {
		return nil, errCopySource(source)
	}
	src, err := a.Store.File(ctx, p.ID, m.FileUUID)
	if err != nil || src.Removed != nil {
		return nil, errCopySource(source)
	}
	if !src.IsReady {
		return nil, newError(satchel.KindConflict, satchel.ReasonFileNotReady, "File is not ready yet.")
	}
	r, name, _, err := a.copySource(ctx, src, m.DefaultEffects)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	in, err := a.receive(ctx, "", name, src.MimeType, r, 0)
	if err != nil {
		return nil, err
	}
	md := map[string]string{}
	for k, v := range src.Metadata {
		md[k] = v
	}
	for k, v := range metadata {
		md[k] = v
	}
	opts := UploadOptions{Store: "0", Metadata: md, Tags: src.Tags, Source: "local_copy"}
	if store == nil || *store {
		opts.Store = "1"
	}
	if err := opts.Validate(); err != nil {
		in.Abort()
		return nil, err
	}
	files, err := a.Commit(ctx, p, opts, []*Incoming{in})
	if err != nil {
		return nil, err
	}
	return files[0], nil
}

// DeleteGroup removes a group record; its files stay.
func (a *App) DeleteGroup(ctx context.Context, p *satchel.Project, id string) error {
	if !satchel.ValidGroupID(id) {
		return errGroupNotFound()
	}
	err := a.Store.RemoveGroup(ctx, p.ID, id, time.Now().UTC())
	if satchel.IsNotFound(err) {
		return errGroupNotFound()
	}
	return err
}

// StoreGroup stores every member of a group (the pre-0.7 group storage call).
func (a *App) StoreGroup(ctx context.Context, p *satchel.Project, id string) (*satchel.Group, []*satchel.File, error) {
	g, _, err := a.GroupInfo(ctx, p, id)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range g.Members {
		if _, err := a.StoreFile(ctx, p, m.FileUUID); err != nil && satchel.AsError(err).Kind != satchel.KindNotFound {
			return nil, nil, err
		}
	}
	if err := a.Store.StoreGroup(ctx, p.ID, id, time.Now().UTC()); err != nil {
		return nil, nil, err
	}
	return a.GroupInfo(ctx, p, id)
}

// MaxTransformCopy bounds the source of a copy with operations (the result is
// computed in memory).
const MaxTransformCopy = 100 << 20

// copySource opens what a copy copies: the file's bytes, or the result of
// applying CDN operations to them. name is the new file's name.
func (a *App) copySource(ctx context.Context, src *satchel.File, effects string) (io.ReadCloser, string, int64, error) {
	if effects == "" {
		r, err := a.Bucket.Open(ctx, src.BlobKey)
		if err != nil {
			return nil, "", 0, fmt.Errorf("app: open source: %w", err)
		}
		return r, src.OriginalFilename, r.Size(), nil
	}
	if a.Transform == nil {
		return nil, "", 0, newError(satchel.KindForbidden, satchel.ReasonCopyOpsDisabled, "Copying with image operations is not enabled on this server.")
	}
	if src.Size > MaxTransformCopy {
		return nil, "", 0, withLimit(newError(satchel.KindTooLarge, satchel.ReasonCopyTooLarge, "Copying of large files is not supported at the moment."), MaxTransformCopy)
	}
	body, ctype, err := a.Transform(ctx, src, effects)
	if err != nil {
		return nil, "", 0, withValue(invalid(satchel.ReasonCopyOpsInvalid, "source", "Can not apply the operations: %v", err), err.Error())
	}
	name := strings.TrimSuffix(src.OriginalFilename, path.Ext(src.OriginalFilename)) + extFor(ctype)
	return io.NopCloser(bytes.NewReader(body)), name, int64(len(body)), nil
}

func extFor(ctype string) string {
	switch ctype {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/webp":
		return ".webp"
	case "image/avif":
		return ".avif"
	case "image/gif":
		return ".gif"
	}
	return ""
}

// FileChange is an update of a file's metadata, expiry and original
// protection; fields left nil stay as they are.
type FileChange struct {
	// Metadata, when not nil, replaces the whole map.
	Metadata map[string]string
	// MetadataPatch sets only its keys, leaving the others.
	MetadataPatch map[string]string
	// Expires, when not nil, sets the expiry time; a nil *Expires clears it.
	Expires **time.Time
	// OriginalProtected, when not nil, sets File.OriginalProtected.
	OriginalProtected *bool
}

// ChangeFile applies ch to a live file of the project in one transaction:
// a change of metadata writes a file.info_updated event. When the
// protection of the original changes, the CDN forgets what it knows of the file.
func (a *App) ChangeFile(ctx context.Context, p *satchel.Project, id string, ch FileChange) (*satchel.File, error) {
	next := ch.Metadata
	if next != nil {
		if err := satchel.ValidateMetadata(next); err != nil {
			return nil, err
		}
	}
	if ch.MetadataPatch != nil {
		if err := satchel.ValidateMetadata(ch.MetadataPatch); err != nil {
			return nil, err
		}
	}
	protectedChanged := false
	f, err := a.update(ctx, p, id, false, func(f *satchel.File) ([]*satchel.Event, error) {
		prev := previousMetadata(f.Metadata)
		md := f.Metadata
		if next != nil {
			md = make(map[string]string, len(next))
			for k, v := range next {
				md[k] = v
			}
		}
		if ch.MetadataPatch != nil {
			cp := make(map[string]string, len(md)+len(ch.MetadataPatch))
			for k, v := range md {
				cp[k] = v
			}
			for k, v := range ch.MetadataPatch {
				cp[k] = v
			}
			md = cp
		}
		if len(md) > satchel.MaxMetadataKeys {
			return nil, satchel.TooManyMetadataKeys()
		}
		changed := false
		var events []*satchel.Event
		if !sameMetadata(md, f.Metadata) {
			f.Metadata = md
			changed = true
			events = append(events, FileEvent(f, satchel.EventFileInfoUpdated, satchel.Initiator{Type: "api"}, prev))
		}
		if ch.Expires != nil && !sameTime(*ch.Expires, f.Expires) {
			f.Expires = *ch.Expires
			changed = true
		}
		if ch.OriginalProtected != nil && *ch.OriginalProtected != f.OriginalProtected {
			f.OriginalProtected = *ch.OriginalProtected
			changed, protectedChanged = true, true
		}
		if !changed {
			return nil, errNoChange
		}
		return events, nil
	})
	if err != nil {
		return nil, err
	}
	if protectedChanged {
		a.purged(f.UUID)
	}
	return f, nil
}

func sameMetadata(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// SearchFiles searches the live files of project p. The search's project is
// always p's: no search reaches another project.
func (a *App) SearchFiles(ctx context.Context, p *satchel.Project, q satchel.FileSearch) ([]*satchel.File, int64, error) {
	q.ProjectID = p.ID
	files, total, err := a.Store.SearchFiles(ctx, q)
	if err != nil {
		return nil, 0, fmt.Errorf("app: search files: %w", err)
	}
	return files, total, nil
}
