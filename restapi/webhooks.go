package restapi

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/satchel-project/satchel/apiview"
	"github.com/satchel-project/satchel/app"
)

// webhookInput reads a subscription from a JSON or form-encoded body. A JSON
// null means "not given" (the Go client sends "signing_secret": null).
func webhookInput(r *request) (app.WebhookInput, error) {
	var in app.WebhookInput
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		vs, err := url.ParseQuery(string(r.body))
		if err != nil {
			return in, badRequest("Malformed form body.")
		}
		str := func(k string) *string {
			if _, ok := vs[k]; !ok {
				return nil
			}
			v := vs.Get(k)
			return &v
		}
		in.TargetURL, in.Event, in.SigningSecret, in.Version = str("target_url"), str("event"), str("signing_secret"), str("version")
		if v := str("is_active"); v != nil {
			b, ok := parseBool(*v)
			if !ok {
				return in, badRequest("`is_active` must be true or false.")
			}
			in.IsActive = &b
		}
		return in, nil
	}
	if len(r.body) == 0 {
		return in, nil
	}
	var body struct {
		TargetURL     *string  `json:"target_url"`
		Event         *string  `json:"event"`
		IsActive      flexBool `json:"is_active"`
		SigningSecret *string  `json:"signing_secret"`
		Version       *string  `json:"version"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		return in, badRequest("Expected JSON object.")
	}
	if body.IsActive.bad {
		return in, badRequest("`is_active` must be true or false.")
	}
	in.TargetURL, in.Event, in.SigningSecret, in.Version = body.TargetURL, body.Event, body.SigningSecret, body.Version
	if body.IsActive.set {
		in.IsActive = &body.IsActive.v
	}
	return in, nil
}

func (h *Handler) listWebhooks(r *request) error {
	ws, err := h.app.Webhooks(r.Context(), r.project)
	if err != nil {
		return err
	}
	out := make([]json.RawMessage, len(ws))
	for i, w := range ws {
		out[i] = apiview.Webhook(w)
	}
	return r.reply(http.StatusOK, out)
}

func (h *Handler) createWebhook(r *request) error {
	in, err := webhookInput(r)
	if err != nil {
		return err
	}
	def := "0.7"
	if r.version != apiview.V07 {
		def = "0.6"
	}
	w, err := h.app.CreateWebhook(r.Context(), r.project, in, def)
	if err != nil {
		return err
	}
	return r.reply(http.StatusCreated, apiview.Webhook(w))
}

func webhookID(r *request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, notFound()
	}
	return id, nil
}

func (h *Handler) updateWebhook(r *request) error {
	id, err := webhookID(r)
	if err != nil {
		return err
	}
	in, err := webhookInput(r)
	if err != nil {
		return err
	}
	w, err := h.app.UpdateWebhook(r.Context(), r.project, id, in)
	if err != nil {
		return err
	}
	return r.reply(http.StatusOK, apiview.Webhook(w))
}

func (h *Handler) deleteWebhook(r *request) error {
	id, err := webhookID(r)
	if err != nil {
		return err
	}
	if err := h.app.DeleteWebhook(r.Context(), r.project, id); err != nil {
		return err
	}
	return r.noContent()
}

func (h *Handler) unsubscribeWebhook(r *request) error {
	in, err := webhookInput(r)
	if err != nil {
		return err
	}
	target := ""
	if in.TargetURL != nil {
		target = *in.TargetURL
	}
	if err := h.app.Unsubscribe(r.Context(), r.project, target); err != nil {
		return err
	}
	return r.noContent()
}
