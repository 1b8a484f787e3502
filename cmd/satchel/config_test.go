package main

import (
	"testing"
	"time"
)

func TestParseServeFairnessSettings(t *testing.T) {
	c, err := parseServe(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.FetchPerProject != 2 || c.WebhookPerProject != 2 || c.WebhookTimeout != 10*time.Second {
		t.Fatalf("defaults: fetch %d, webhook %d, timeout %s", c.FetchPerProject, c.WebhookPerProject, c.WebhookTimeout)
	}
	t.Setenv("SATCHEL_FETCH_PER_PROJECT", "3")
	t.Setenv("SATCHEL_WEBHOOK_PER_PROJECT", "5")
	t.Setenv("SATCHEL_WEBHOOK_TIMEOUT", "30s")
	if c, err = parseServe(nil); err != nil {
		t.Fatal(err)
	}
	if c.FetchPerProject != 3 || c.WebhookPerProject != 5 || c.WebhookTimeout != 30*time.Second {
		t.Fatalf("from env: fetch %d, webhook %d, timeout %s", c.FetchPerProject, c.WebhookPerProject, c.WebhookTimeout)
	}
	if c, err = parseServe([]string{"--fetch-per-project", "1", "--webhook-per-project=4", "--webhook-timeout", "2s"}); err != nil {
		t.Fatal(err)
	}
	if c.FetchPerProject != 1 || c.WebhookPerProject != 4 || c.WebhookTimeout != 2*time.Second {
		t.Fatalf("from flags: fetch %d, webhook %d, timeout %s", c.FetchPerProject, c.WebhookPerProject, c.WebhookTimeout)
	}
	for _, args := range [][]string{{"--fetch-per-project=0"}, {"--webhook-per-project=-1"}, {"--webhook-timeout=0s"}} {
		if _, err := parseServe(args); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

func TestParseServeAdminToken(t *testing.T) {
	c, err := parseServe(nil)
	if err != nil || c.AdminToken != "" {
		t.Fatalf("default: %q %v", c.AdminToken, err)
	}
	t.Setenv("SATCHEL_ADMIN_TOKEN", "from-env")
	if c, err = parseServe(nil); err != nil || c.AdminToken != "from-env" {
		t.Fatalf("from env: %q %v", c.AdminToken, err)
	}
	if c, err = parseServe([]string{"--admin-token", "from-flag"}); err != nil || c.AdminToken != "from-flag" {
		t.Fatalf("from flag: %q %v", c.AdminToken, err)
	}
}
