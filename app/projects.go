package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/satchel-project/satchel"
)

// ProjectSettings are the settings a project's owner may change.
type ProjectSettings struct {
	Name          string
	Autostore     bool
	SignedUploads bool
	// MaxFileSize caps one file in bytes; 0 means the server default.
	MaxFileSize int64
	// AllowedTypes lists MIME patterns ("image/*", "application/pdf").
	AllowedTypes []string
}

var mimePatternRe = regexp.MustCompile(`^(\*|\*/\*|[a-z0-9][a-z0-9.+_-]*/(\*|[a-z0-9][a-z0-9.+_-]*))$`)

// UpdateProjectSettings validates and saves a project's settings.
func (a *App) UpdateProjectSettings(ctx context.Context, p *satchel.Project, s ProjectSettings) (*satchel.Project, error) {
	name := strings.TrimSpace(s.Name)
	if name == "" || len(name) > 100 {
		return nil, satchel.Errorf(satchel.KindInvalid, satchel.ReasonProjectSettingInvalid, "The project name must have 1 to 100 characters.")
	}
	if s.MaxFileSize < 0 {
		return nil, satchel.Errorf(satchel.KindInvalid, satchel.ReasonProjectSettingInvalid, "The largest file size must not be negative.")
	}
	if s.MaxFileSize > a.cfg.MaxFileSize {
		return nil, satchel.Errorf(satchel.KindInvalid, satchel.ReasonProjectSettingInvalid, "The largest file size can not exceed the server's limit of %d bytes.", a.cfg.MaxFileSize)
	}
	types := []string{}
	for _, t := range s.AllowedTypes {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if !mimePatternRe.MatchString(t) {
			return nil, satchel.Errorf(satchel.KindInvalid, satchel.ReasonProjectSettingInvalid, "%q is not a MIME type or pattern such as image/*.", t)
		}
		types = append(types, t)
	}
	cp := *p
	cp.Name, cp.Autostore, cp.SignedUploads, cp.MaxFileSize, cp.AllowedTypes = name, s.Autostore, s.SignedUploads, s.MaxFileSize, types
	if err := a.Store.UpdateProject(ctx, &cp); err != nil {
		return nil, fmt.Errorf("app: update project: %w", err)
	}
	a.projects.Delete(p.PublicKey)
	return &cp, nil
}

// RotateKeys gives a project a new secret key and, with public set, a new
// public key too. The old keys stop working at once on this node (within
// the project cache's few seconds on others).
func (a *App) RotateKeys(ctx context.Context, p *satchel.Project, public bool) (*satchel.Project, error) {
	cp := *p
	cp.SecretKey = randomKey()
	if public {
		cp.PublicKey = randomKey()
	}
	if err := a.Store.UpdateProject(ctx, &cp); err != nil {
		return nil, fmt.Errorf("app: rotate keys: %w", err)
	}
	a.projects.Delete(p.PublicKey)
	return &cp, nil
}

func randomKey() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// Usage is what a project holds.
type Usage struct {
	satchel.FileCounts
	satchel.FileSizes
	Groups int64
}

// ProjectUsage counts a project's files, their bytes and its groups.
func (a *App) ProjectUsage(ctx context.Context, p *satchel.Project) (*Usage, error) {
	var u Usage
	var err error
	if u.FileCounts, err = a.Store.FileCounts(ctx, p.ID); err != nil {
		return nil, err
	}
	if u.FileSizes, err = a.Store.FileSizes(ctx, p.ID); err != nil {
		return nil, err
	}
	if u.Groups, err = a.Store.CountGroups(ctx, p.ID); err != nil {
		return nil, err
	}
	return &u, nil
}

// Deliveries lists the project's most recent webhook deliveries.
func (a *App) Deliveries(ctx context.Context, p *satchel.Project, limit int) ([]*satchel.Delivery, error) {
	ws, err := a.webhooks()
	if err != nil {
		return nil, err
	}
	return ws.Deliveries(ctx, p.ID, limit)
}

// MaxRedeliverLookup bounds how far back Redeliver looks for a delivery.
const MaxRedeliverLookup = 1000

// Redeliver queues a finished (delivered or failed) webhook delivery for
// another attempt, due now. A failed delivery gets one more attempt; the
// receiver sees the same delivery ID as before.
func (a *App) Redeliver(ctx context.Context, p *satchel.Project, id string) (*satchel.Delivery, error) {
	ws, err := a.webhooks()
	if err != nil {
		return nil, err
	}
	ds, err := ws.Deliveries(ctx, p.ID, MaxRedeliverLookup)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if d.ID != id {
			continue
		}
		if d.Status == satchel.DeliveryPending {
			return nil, satchel.Errorf(satchel.KindConflict, satchel.ReasonDeliveryBusy, "The delivery is still pending.")
		}
		if err := ws.Redeliver(ctx, d.ID); err != nil {
			if satchel.IsNotFound(err) {
				return nil, satchel.Errorf(satchel.KindConflict, satchel.ReasonDeliveryBusy, "The delivery changed meanwhile; try again.")
			}
			return nil, fmt.Errorf("app: redeliver: %w", err)
		}
		d.Status = satchel.DeliveryPending
		return d, nil
	}
	return nil, satchel.Errorf(satchel.KindNotFound, satchel.ReasonDeliveryNotFound, "Delivery not found.")
}
