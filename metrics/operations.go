package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Operation outcomes.
const (
	OutcomeOK       = "ok"
	OutcomeNotFound = "not_found"
	OutcomeError    = "error"
)

// Operations times calls to a dependency (the database, the blob store) by
// operation and outcome. A nil *Operations records nothing.
type Operations struct {
	h *prometheus.HistogramVec
}

// Operations registers a histogram of operation durations labelled op and
// outcome; op values must come from a small fixed set.
func (m *Metrics) Operations(name, help string) *Operations {
	if m == nil {
		return nil
	}
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    name,
		Help:    help,
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"op", "outcome"})
	m.reg.MustRegister(h)
	return &Operations{h: h}
}

// Observe records one operation that started at start.
func (o *Operations) Observe(op, outcome string, start time.Time) {
	if o == nil {
		return
	}
	o.h.WithLabelValues(op, outcome).Observe(time.Since(start).Seconds())
}
