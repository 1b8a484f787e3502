package metrics

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestJobQueue(t *testing.T) {
	m := New()
	fail := false
	m.JobQueue(func(context.Context) (map[string]map[string]int, error) {
		if fail {
			return nil, errors.New("database down")
		}
		return map[string]map[string]int{"webhook": {"available": 3, "running": 2}}, nil
	})
	scrape := func() string {
		rec := httptest.NewRecorder()
		m.Handler("").ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	body := scrape()
	for _, want := range []string{
		`satchel_jobs{queue="webhook",state="available"} 3`,
		`satchel_jobs{queue="webhook",state="running"} 2`,
		`satchel_jobs{queue="webhook",state="retryable"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
	fail = true
	if body := scrape(); strings.Contains(body, "satchel_jobs{") {
		t.Errorf("a failed read exported job counts")
	}
}
