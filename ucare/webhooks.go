package ucare

import (
	"context"
	"net/http"
	"strconv"
)

// WebhookOptions describe a subscription. CreateWebhook needs TargetURL and
// Event; UpdateWebhook sends only the fields set.
type WebhookOptions struct {
	TargetURL string
	// Event is one of the Event* constants.
	Event string
	// IsActive is true by default on creation.
	IsActive *bool
	// SigningSecret, when set, makes deliveries signed (X-Uc-Signature).
	SigningSecret *string
	// Version is the payload version ("0.7" by default).
	Version string
}

func (o WebhookOptions) body() map[string]any {
	b := map[string]any{}
	if o.TargetURL != "" {
		b["target_url"] = o.TargetURL
	}
	if o.Event != "" {
		b["event"] = o.Event
	}
	if o.IsActive != nil {
		b["is_active"] = *o.IsActive
	}
	if o.SigningSecret != nil {
		b["signing_secret"] = *o.SigningSecret
	}
	if o.Version != "" {
		b["version"] = o.Version
	}
	return b
}

// Webhooks lists the project's webhook subscriptions.
func (c *Client) Webhooks(ctx context.Context) ([]*Webhook, error) {
	var ws []*Webhook
	if _, err := c.restCall(ctx, http.MethodGet, "/webhooks/", nil, nil, &ws); err != nil {
		return nil, err
	}
	return ws, nil
}

// CreateWebhook subscribes a URL to an event. Subscribing the same URL to
// the same event twice gives a *WebhookIsNotUnique.
func (c *Client) CreateWebhook(ctx context.Context, opts WebhookOptions) (*Webhook, error) {
	if opts.TargetURL == "" || opts.Event == "" {
		return nil, &InvalidParamError{"WebhookOptions", "TargetURL and Event are required"}
	}
	var w Webhook
	if _, err := c.restCall(ctx, http.MethodPost, "/webhooks/", nil, opts.body(), &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// UpdateWebhook changes the fields of opts that are set.
func (c *Client) UpdateWebhook(ctx context.Context, id int64, opts WebhookOptions) (*Webhook, error) {
	var w Webhook
	if _, err := c.restCall(ctx, http.MethodPut, "/webhooks/"+strconv.FormatInt(id, 10)+"/", nil, opts.body(), &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// DeleteWebhook removes a subscription.
func (c *Client) DeleteWebhook(ctx context.Context, id int64) error {
	_, err := c.restCall(ctx, http.MethodDelete, "/webhooks/"+strconv.FormatInt(id, 10)+"/", nil, nil, nil)
	return err
}

// UnsubscribeWebhook removes the subscriptions of a target URL.
func (c *Client) UnsubscribeWebhook(ctx context.Context, targetURL string) error {
	_, err := c.restCall(ctx, http.MethodDelete, "/webhooks/unsubscribe/", nil, map[string]string{"target_url": targetURL}, nil)
	return err
}
