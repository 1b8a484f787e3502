package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// JobStates are the unfinished job states exported by JobQueue, in order.
var JobStates = []string{"available", "running", "retryable", "scheduled", "pending"}

// JobQueue exports the cluster's unfinished background jobs per queue and
// state as satchel_jobs, read with depth at each scrape (within 2 s; a
// failed read exports nothing rather than zeros).
func (m *Metrics) JobQueue(depth func(ctx context.Context) (map[string]map[string]int, error)) {
	m.reg.MustRegister(&jobCollector{depth: depth,
		desc: prometheus.NewDesc("satchel_jobs", "Unfinished background jobs in the cluster by queue and state.", []string{"queue", "state"}, nil)})
}

type jobCollector struct {
	depth func(ctx context.Context) (map[string]map[string]int, error)
	desc  *prometheus.Desc
}

func (c *jobCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *jobCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	d, err := c.depth(ctx)
	if err != nil {
		return
	}
	for q, states := range d {
		for _, s := range JobStates {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(states[s]), q, s)
		}
	}
}
