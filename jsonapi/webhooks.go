package jsonapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/app"
)

// eventNames maps the dialect's event names to the subscriptions' events.
var eventNames = map[string]string{
	"file.created":  satchel.EventFileUploaded,
	"file.updated":  satchel.EventFileInfoUpdated,
	"file.stored":   satchel.EventFileStored,
	"file.deleted":  satchel.EventFileDeleted,
	"file.infected": satchel.EventFileInfected,
}

// webhookState is a dialect webhook: one subscription per event, all to
// one target.
type webhookState struct {
	TargetURL string   `json:"target_url"`
	Events    []string `json:"events"`
	IsActive  bool     `json:"is_active"`
	// Subscriptions are the subscription ids by dialect event name.
	Subscriptions map[string]int64 `json:"subscriptions"`
	Updated       time.Time        `json:"updated"`
}

type webhookAttributes struct {
	TargetURL string   `json:"target_url"`
	Events    []string `json:"events"`
	IsActive  bool     `json:"is_active"`
	CreatedAt string   `json:"created_at"`
	UpdatedAt string   `json:"updated_at"`
}

type webhookDoc struct {
	Type          string            `json:"type"`
	ID            string            `json:"id"`
	Attributes    webhookAttributes `json:"attributes"`
	Relationships relationships     `json:"relationships"`
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func webhookDocOf(c *caller, res *satchel.Resource) webhookDoc {
	var st webhookState
	_ = jsonUnmarshal(res.State, &st)
	if st.Events == nil {
		st.Events = []string{}
	}
	upd := st.Updated
	if upd.IsZero() {
		upd = res.Created
	}
	return webhookDoc{Type: "webhooks", ID: res.ID, Relationships: projectRelationship(c.p), Attributes: webhookAttributes{
		TargetURL: st.TargetURL, Events: st.Events, IsActive: st.IsActive,
		CreatedAt: res.Created.UTC().Format(msLayout), UpdatedAt: upd.UTC().Format(msLayout),
	}}
}

// webhookInput reads {"webhook":{target_url, events, is_active}}; nil
// fields were not given.
func webhookInput(b *body) (target *string, events []string, active *bool, err error) {
	m := b.member("webhook")
	if _, ok := m["target_url"]; ok {
		s, err := str(m, "target_url")
		if err != nil {
			return nil, nil, nil, err
		}
		target = &s
	}
	switch x := m["events"].(type) {
	case nil:
	case []any:
		events = []string{}
		for _, v := range x {
			s, ok := text(v)
			if !ok {
				return nil, nil, nil, fieldError("events", "events must be a list of event names.")
			}
			if _, known := eventNames[s]; !known {
				return nil, nil, nil, &satchel.Error{Kind: satchel.KindInvalid, Reason: satchel.ReasonWebhookEventInvalid, Field: "events", Value: s, Message: "Unknown event."}
			}
			if !slices.Contains(events, s) {
				events = append(events, s)
			}
		}
	case string:
		if _, known := eventNames[x]; !known {
			return nil, nil, nil, &satchel.Error{Kind: satchel.KindInvalid, Reason: satchel.ReasonWebhookEventInvalid, Field: "events", Value: x, Message: "Unknown event."}
		}
		events = []string{x}
	default:
		return nil, nil, nil, fieldError("events", "events must be a list of event names.")
	}
	a, ok, err := boolean(m, "is_active")
	if err != nil {
		return nil, nil, nil, err
	}
	if ok {
		active = &a
	}
	return target, events, active, nil
}

// apply brings the subscriptions of st in line with it: one per event.
func (h *Handler) apply(ctx context.Context, p *satchel.Project, st *webhookState) error {
	if st.Subscriptions == nil {
		st.Subscriptions = map[string]int64{}
	}
	for name, id := range st.Subscriptions {
		if !slices.Contains(st.Events, name) {
			if err := h.app.DeleteWebhook(ctx, p, id); err != nil && !satchel.IsNotFound(err) {
				return err
			}
			delete(st.Subscriptions, name)
		}
	}
	for _, name := range st.Events {
		event := eventNames[name]
		in := app.WebhookInput{TargetURL: &st.TargetURL, Event: &event, IsActive: &st.IsActive}
		if id, ok := st.Subscriptions[name]; ok {
			if _, err := h.app.UpdateWebhook(ctx, p, id, in); err != nil {
				return err
			}
			continue
		}
		wh, err := h.app.CreateWebhook(ctx, p, in, "0.7")
		if err != nil {
			return err
		}
		st.Subscriptions[name] = wh.ID
	}
	return nil
}

// webhookCaller authenticates a webhook request: webhooks need the secret.
func (h *Handler) webhookCaller(r *http.Request) (*caller, error) {
	c, err := h.authenticate(r)
	if err == nil && !c.secret {
		err = errSecretRequired
	}
	return c, err
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request) {
	c, err := h.webhookCaller(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, err := h.readBody(r, nil, 0)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	target, events, active, err := webhookInput(b)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st := webhookState{IsActive: true, Events: events, Updated: time.Now().UTC()}
	if target != nil {
		st.TargetURL = *target
	}
	if st.TargetURL == "" {
		h.fail(w, r, fieldError("target_url", "target_url is required."))
		return
	}
	if len(st.Events) == 0 {
		h.fail(w, r, fieldError("events", "events is required."))
		return
	}
	if active != nil {
		st.IsActive = *active
	}
	if err := h.apply(r.Context(), c.p, &st); err != nil {
		// Undo the subscriptions made before the failure.
		st.Events = nil
		h.apply(context.WithoutCancel(r.Context()), c.p, &st)
		h.fail(w, r, err)
		return
	}
	res, _, err := h.newResource(r.Context(), c.p, satchel.ResourceWebhook, "", st)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.reply(w, http.StatusCreated, map[string]any{"data": webhookDocOf(c, res)})
}

func (h *Handler) listWebhooks(w http.ResponseWriter, r *http.Request) {
	c, err := h.webhookCaller(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg, items := page(r)
	rs, count, err := h.app.Store.ListResources(r.Context(), c.p.ID, satchel.ResourceWebhook, (pg-1)*items, items)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	docs := make([]webhookDoc, 0, len(rs))
	for _, res := range rs {
		docs = append(docs, webhookDocOf(c, res))
	}
	h.reply(w, http.StatusOK, map[string]any{"data": docs, "pagination": newPagination(count, pg, items)})
}

func (h *Handler) webhook(r *http.Request) (*caller, *satchel.Resource, error) {
	c, err := h.webhookCaller(r)
	if err != nil {
		return nil, nil, err
	}
	res, err := h.resource(r, c, satchel.ResourceWebhook, prefixWebhook)
	return c, res, err
}

func (h *Handler) showWebhook(w http.ResponseWriter, r *http.Request) {
	c, res, err := h.webhook(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.reply(w, http.StatusOK, map[string]any{"data": webhookDocOf(c, res)})
}

func (h *Handler) updateWebhook(w http.ResponseWriter, r *http.Request) {
	c, res, err := h.webhook(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, err := h.readBody(r, nil, 0)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	target, events, active, err := webhookInput(b)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var st webhookState
	if err := jsonUnmarshal(res.State, &st); err != nil {
		h.fail(w, r, err)
		return
	}
	if target != nil {
		st.TargetURL = *target
	}
	if events != nil {
		if len(events) == 0 {
			h.fail(w, r, fieldError("events", "events can not be empty."))
			return
		}
		st.Events = events
	}
	if active != nil {
		st.IsActive = *active
	}
	st.Updated = time.Now().UTC()
	err = h.apply(r.Context(), c.p, &st)
	// Whatever was applied is recorded, so the subscriptions stay known.
	res.State = mustState(st)
	if serr := h.app.Store.UpdateResource(r.Context(), res); err == nil {
		err = serr
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.reply(w, http.StatusOK, map[string]any{"data": webhookDocOf(c, res)})
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	c, res, err := h.webhook(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var st webhookState
	if err := jsonUnmarshal(res.State, &st); err != nil {
		h.fail(w, r, err)
		return
	}
	st.Events = nil
	if err := h.apply(r.Context(), c.p, &st); err != nil {
		h.fail(w, r, err)
		return
	}
	now := time.Now().UTC()
	res.Removed = &now
	res.State = mustState(st)
	if err := h.app.Store.UpdateResource(r.Context(), res); err != nil {
		h.fail(w, r, err)
		return
	}
	h.reply(w, http.StatusOK, map[string]any{"data": webhookDocOf(c, res)})
}
