package app

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/satchel-project/satchel"
)

// MaxGroupFiles bounds a group.
const MaxGroupFiles = 1000

var memberRe = regexp.MustCompile(`/?([a-z0-9]{8}-(?:[a-z0-9]{4}-){3}[a-z0-9]{12})(?:/(?:-/((?:[^/]+/)+))?([^/]*))?$`)

// ParseGroupMember extracts the file UUID and its CDN operations from a bare
// UUID, "<uuid>/-/op/args/…" or a full CDN URL of any host.
func ParseGroupMember(v string) (satchel.GroupMember, bool) {
	v = strings.TrimSpace(v)
	p := v
	if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.Host != "" {
		p = u.Path
	}
	m := memberRe.FindStringSubmatch(p)
	if m == nil {
		return satchel.GroupMember{}, false
	}
	// The UUID must start the path (after an optional slash), not just appear in it.
	if i := strings.Index(p, m[1]); strings.Trim(p[:i], "/") != "" {
		return satchel.GroupMember{}, false
	}
	return satchel.GroupMember{FileUUID: m[1], DefaultEffects: m[2]}, true
}

// ErrNoGroupFiles refuses a group of no files.
func ErrNoGroupFiles() error {
	return invalid(satchel.ReasonGroupFilesRequired, "files", "No files given.")
}

func errGroupNotFound() *satchel.Error {
	return newError(satchel.KindNotFound, satchel.ReasonGroupNotFound, "Group not found.")
}

// CreateGroup creates a group of the project's files, in order.
func (a *App) CreateGroup(ctx context.Context, p *satchel.Project, values []string) (*satchel.Group, []*satchel.File, error) {
	if len(values) == 0 {
		return nil, nil, ErrNoGroupFiles()
	}
	if len(values) > MaxGroupFiles {
		return nil, nil, withLimit(newError(satchel.KindTooLarge, satchel.ReasonGroupTooManyFiles, "There are too many files."), MaxGroupFiles)
	}
	g := &satchel.Group{ID: newUUID() + "~" + fmt.Sprint(len(values)), ProjectID: p.ID, Created: time.Now().UTC()}
	files := make([]*satchel.File, len(values))
	for i, v := range values {
		m, ok := ParseGroupMember(v)
		if !ok {
			return nil, nil, withValue(invalid(satchel.ReasonGroupFileInvalid, "files", "This is not valid file url: %s.", v), v)
		}
		f, err := a.Store.File(ctx, p.ID, m.FileUUID)
		if satchel.IsNotFound(err) || (err == nil && f.Removed != nil) {
			return nil, nil, newError(satchel.KindNotFound, satchel.ReasonGroupFilesNotFound, "Some files not found.")
		}
		if err != nil {
			return nil, nil, fmt.Errorf("app: group member: %w", err)
		}
		files[i] = f
		g.Members = append(g.Members, m)
	}
	if err := a.Store.CreateGroup(ctx, g); err != nil {
		return nil, nil, fmt.Errorf("app: create group: %w", err)
	}
	return g, files, nil
}

// GroupInfo returns a group and its members' files (nil for removed ones).
func (a *App) GroupInfo(ctx context.Context, p *satchel.Project, id string) (*satchel.Group, []*satchel.File, error) {
	if id == "" {
		return nil, nil, invalid(satchel.ReasonGroupIDRequired, "group_id", "group_id is required.")
	}
	notFound := errGroupNotFound()
	if !satchel.ValidGroupID(id) {
		return nil, nil, notFound
	}
	g, err := a.Store.Group(ctx, p.ID, id)
	if satchel.IsNotFound(err) || (err == nil && g.Removed != nil) {
		return nil, nil, notFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("app: group: %w", err)
	}
	files := make([]*satchel.File, len(g.Members))
	for i, m := range g.Members {
		f, err := a.Store.File(ctx, p.ID, m.FileUUID)
		if err != nil && !satchel.IsNotFound(err) {
			return nil, nil, fmt.Errorf("app: group member: %w", err)
		}
		if err == nil && f.Removed == nil {
			files[i] = f
		}
	}
	return g, files, nil
}
