package app

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/satchel-project/satchel"
)

// WebhookInput is a create or (partial) update of a subscription; nil fields
// are left as they are (or defaulted on create).
type WebhookInput struct {
	TargetURL     *string
	Event         *string
	IsActive      *bool
	SigningSecret *string
	Version       *string
}

func (a *App) webhooks() (satchel.WebhookStore, error) {
	ws, ok := a.Store.(satchel.WebhookStore)
	if !ok {
		return nil, newError(satchel.KindForbidden, satchel.ReasonWebhooksDisabled, "Webhooks are not available on this server.")
	}
	return ws, nil
}

func validateWebhook(w *satchel.Webhook) error {
	if w.TargetURL == "" {
		return invalid(satchel.ReasonWebhookFieldMissing, "target_url", "target_url is missing.")
	}
	u, err := url.Parse(w.TargetURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(w.TargetURL) > 255 {
		return withValue(invalid(satchel.ReasonWebhookTargetInvalid, "target_url", "target_url must be an absolute http(s) URL of at most 255 characters."), w.TargetURL)
	}
	if !slices.Contains(satchel.WebhookEvents, w.Event) {
		return withValue(invalid(satchel.ReasonWebhookEventInvalid, "event", "event is invalid: %q.", w.Event), w.Event)
	}
	if len(w.SigningSecret) > 32 {
		return withLimit(invalid(satchel.ReasonWebhookSecretTooLong, "signing_secret", "signing_secret can not be longer than 32 characters."), 32)
	}
	switch w.Version {
	case "0.6", "0.7":
	default:
		return withValue(invalid(satchel.ReasonWebhookVersionInvalid, "version", "version must be 0.6 or 0.7."), w.Version)
	}
	if w.Version == "0.6" && w.Event != satchel.EventFileUploaded {
		return invalid(satchel.ReasonWebhookVersionEvent, "version", "Payload version 0.6 supports only file.uploaded.")
	}
	return nil
}

func errWebhookNotFound(id int64) error {
	return withValue(newError(satchel.KindNotFound, satchel.ReasonWebhookNotFound, "Webhook with ID %d not found.", id), strconv.FormatInt(id, 10))
}

var errNotUnique = newError(satchel.KindConflict, satchel.ReasonWebhookNotUnique, "This project is already subscribed on this event")

func (in WebhookInput) apply(w *satchel.Webhook) {
	if in.TargetURL != nil {
		w.TargetURL = *in.TargetURL
	}
	if in.Event != nil {
		w.Event = *in.Event
	}
	if in.IsActive != nil {
		w.IsActive = *in.IsActive
	}
	if in.SigningSecret != nil {
		w.SigningSecret = *in.SigningSecret
	}
	if in.Version != nil {
		w.Version = *in.Version
	}
}

// CreateWebhook subscribes the project; defaultVersion is the payload version
// when none is given.
func (a *App) CreateWebhook(ctx context.Context, p *satchel.Project, in WebhookInput, defaultVersion string) (*satchel.Webhook, error) {
	ws, err := a.webhooks()
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	w := &satchel.Webhook{ProjectID: p.ID, IsActive: true, Version: defaultVersion, Event: satchel.EventFileUploaded, Created: now, Updated: now}
	in.apply(w)
	if in.Event == nil {
		return nil, invalid(satchel.ReasonWebhookFieldMissing, "event", "event is missing.")
	}
	if err := validateWebhook(w); err != nil {
		return nil, err
	}
	if err := ws.CreateWebhook(ctx, w); err != nil {
		if errors.Is(err, satchel.ErrConflict) {
			return nil, errNotUnique
		}
		return nil, err
	}
	return w, nil
}

// UpdateWebhook changes the given fields of a subscription.
func (a *App) UpdateWebhook(ctx context.Context, p *satchel.Project, id int64, in WebhookInput) (*satchel.Webhook, error) {
	ws, err := a.webhooks()
	if err != nil {
		return nil, err
	}
	w, err := ws.Webhook(ctx, p.ID, id)
	if satchel.IsNotFound(err) {
		return nil, errWebhookNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	in.apply(w)
	w.Updated = time.Now().UTC()
	if err := validateWebhook(w); err != nil {
		return nil, err
	}
	if err := ws.UpdateWebhook(ctx, w); err != nil {
		if errors.Is(err, satchel.ErrConflict) {
			return nil, errNotUnique
		}
		return nil, err
	}
	return w, nil
}

// Webhooks lists the project's subscriptions.
func (a *App) Webhooks(ctx context.Context, p *satchel.Project) ([]*satchel.Webhook, error) {
	ws, err := a.webhooks()
	if err != nil {
		return nil, err
	}
	return ws.Webhooks(ctx, p.ID)
}

// DeleteWebhook removes a subscription by id.
func (a *App) DeleteWebhook(ctx context.Context, p *satchel.Project, id int64) error {
	ws, err := a.webhooks()
	if err != nil {
		return err
	}
	err = ws.DeleteWebhook(ctx, p.ID, id)
	if satchel.IsNotFound(err) {
		return errWebhookNotFound(id)
	}
	return err
}

// Unsubscribe removes every subscription of the project to url.
func (a *App) Unsubscribe(ctx context.Context, p *satchel.Project, target string) error {
	ws, err := a.webhooks()
	if err != nil {
		return err
	}
	if target == "" {
		return invalid(satchel.ReasonWebhookFieldMissing, "target_url", "target_url is missing.")
	}
	n, err := ws.DeleteWebhooksByTarget(ctx, p.ID, target)
	if err != nil {
		return err
	}
	if n == 0 {
		return newError(satchel.KindNotFound, "", "No subscription to that URL.")
	}
	return nil
}
