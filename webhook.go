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

// EventData is the JSON payload an Event carries: a snapshot of the file at
// the time of the change, and what it replaced.
type EventData struct {
	File *File `json:"file"`
	// PreviousValues holds, for file.info_updated, the prior "metadata" or
	// "appdata" (null when newly added).
	PreviousValues map[string]any `json:"previous_values,omitempty"`
	Initiator      Initiator      `json:"initiator"`
}

// Initiator says what caused an event.
type Initiator struct {
	// Type is "api", "system" or "addon".
	Type           string  `json:"type"`
	RequestID      *string `json:"request_id"`
	AddonName      *string `json:"addon_name"`
	SourceFileUUID *string `json:"source_file_uuid,omitempty"`
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

// WebhookStore keeps subscriptions and their deliveries. Events written with
// a file change (Store.CreateFiles, UpdateFile…) get one pending delivery per
// active subscription of their project and type, in the same transaction.
type WebhookStore interface {
	CreateWebhook(ctx context.Context, w *Webhook) error
	UpdateWebhook(ctx context.Context, w *Webhook) error
	Webhook(ctx context.Context, projectID, id int64) (*Webhook, error)
	Webhooks(ctx context.Context, projectID int64) ([]*Webhook, error)
	DeleteWebhook(ctx context.Context, projectID, id int64) error
	// DeleteWebhooksByTarget removes every subscription of the project to url.
	DeleteWebhooksByTarget(ctx context.Context, projectID int64, url string) (int, error)

	// ClaimDeliveries leases up to limit due pending deliveries for lease, so
	// that no other node sends them meanwhile. A project with perProject
	// deliveries leased (on any node) gets no more (perProject <= 0: no cap),
	// and projects take turns: the one with the fewest leased deliveries
	// first, earliest due first within a project.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit, perProject int) ([]*Delivery, error)
	// FinishDelivery records an attempt's outcome (and the next attempt time if pending).
	FinishDelivery(ctx context.Context, d *Delivery) error
	Deliveries(ctx context.Context, projectID int64, limit int) ([]*Delivery, error)
	Event(ctx context.Context, id string) (*Event, error)
}
