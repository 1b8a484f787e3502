package metrics

import (
	"testing"
	"time"
)

// BenchmarkHTTPRequest records one request of a route seen before, as the
// server does for every answer.
func BenchmarkHTTPRequest(b *testing.B) {
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		m.HTTPRequest("cdn", "GET /", 200, time.Millisecond)
	}
}
