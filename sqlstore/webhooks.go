package sqlstore

import "context"

// schemaWebhooks is the DDL of subscriptions and deliveries (run after schema.sql).
const schemaWebhooks = ``

// insertDeliveries queues one delivery of e per matching active subscription.
func insertDeliveries(ctx context.Context, tx execer, e eventRow) error { return nil }
