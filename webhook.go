package satchel

import (
	"context"
	"time"
)

// Webhook is a subscription of a project to one event type.
type Webhook struct {
	ID        int64
	ProjectID int64
	Event     string
	TargetURL string
	IsActive  bool
	// SigningSecret signs deliveries (X-Uc-Signature); empty means unsigned.
	SigningSecret string
	// Version is the payload version: "0.6" or "0.7".
	Version string
	Created time.Time
	Updated time.Time
}

// WebhookEvents lists the events a webhook may subscribe to.
var WebhookEvents = []string{EventFileUploaded, EventFileStored, EventFileDeleted, EventFileInfoUpdated, EventFileInfected}

// EventData is what an Event carries: a snapshot of the file at the time
// of the change, and what it replaced. It is stored with EncodeEventData
// and read with DecodeEventData (a versioned format, see snapshot.go),
// never with json.Marshal.
type EventData struct {
	File *File
	// PreviousValues holds, for file.info_updated, the prior "metadata" or
	// "appdata" (null when newly added).
	PreviousValues map[string]any
	Initiator      Initiator
}

// Initiator says what caused an event.
type Initiator struct {
	// Type is "api", "system" or "addon".
	Type           string
	RequestID      *string
	AddonName      *string
	SourceFileUUID *string
}

// Delivery is one event sent (or to be sent) to one webhook.
type Delivery struct {
	// ID is stable across retries: receivers dedupe on it.
	ID          string
	EventID     string
	WebhookID   int64
	ProjectID   int64
	Attempts    int
	NextAttempt time.Time
	// Status is "pending", "delivered" or "failed" (attempts exhausted).
	Status       string
	LastStatus   int
	LastResponse string
	LastError    string
	Updated      time.Time
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// WebhookStore keeps subscriptions and their deliveries: the webhook part
// of Store.
type WebhookStore interface {
	SubscriptionStore
	DeliveryStore
}

// SubscriptionStore keeps a project's webhook subscriptions.
type SubscriptionStore interface {
	// CreateWebhook assigns w.ID; a subscription of the project to the
	// same event and target URL yields ErrConflict.
	CreateWebhook(ctx context.Context, w *Webhook) error
	UpdateWebhook(ctx context.Context, w *Webhook) error
	// Webhook returns a subscription of a project (projectID 0: of any).
	Webhook(ctx context.Context, projectID, id int64) (*Webhook, error)
	Webhooks(ctx context.Context, projectID int64) ([]*Webhook, error)
	// DeleteWebhook removes a subscription and its pending deliveries.
	DeleteWebhook(ctx context.Context, projectID, id int64) error
	// DeleteWebhooksByTarget removes every subscription of the project to url.
	DeleteWebhooksByTarget(ctx context.Context, projectID int64, url string) (int, error)
}

// DeliveryStore reads events and keeps the log of their deliveries.
//
// Events are never written here: the FileStore (or UploadSessionStore)
// method that changes a file writes the change's events in its own
// transaction, and with each event one pending delivery per active
// subscription of its project and type, and the delivery's job. A delivery
// row is the log of its job's attempts.
type DeliveryStore interface {
	// Delivery returns one delivery.
	Delivery(ctx context.Context, id string) (*Delivery, error)
	// FinishDelivery records the outcome of attempt d.Attempts (and the
	// next attempt time if pending); a later attempt's record is never
	// overwritten (ErrNotFound, as for a delivery that is gone).
	FinishDelivery(ctx context.Context, d *Delivery) error
	// Redeliver makes a finished delivery pending again and queues one more
	// attempt at it, due now; ErrNotFound when there is no finished
	// delivery of that ID.
	Redeliver(ctx context.Context, id string) error
	// PruneHistory forgets finished deliveries last updated before t and
	// events created before t that no delivery refers to; it returns how
	// many rows went.
	PruneHistory(ctx context.Context, before time.Time) (int64, error)
	Deliveries(ctx context.Context, projectID int64, limit int) ([]*Delivery, error)
	// Event returns a written event.
	Event(ctx context.Context, id string) (*Event, error)
}
