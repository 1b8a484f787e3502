// Package metrics holds a Satchel node's Prometheus metrics. Each Server owns
// one Metrics with its own registry (never the global default), so several
// nodes can live in one process. Every method is safe on a nil *Metrics,
// which records nothing.
//
// Label values come from small fixed sets (API surface, route pattern,
// status code, upload kind, outcome): never UUIDs, paths or keys.
package metrics

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Upload kinds.
const (
	KindDirect    = "direct"
	KindMultipart = "multipart"
	KindFromURL   = "from_url"
	KindCopy      = "copy"
)

// Image operation outcomes.
const (
	ImageOK         = "ok"
	ImageBadRequest = "bad_request"
	ImageBusy       = "busy"
	ImageTimeout    = "timeout"
	ImageCanceled   = "canceled"
	ImageError      = "error"
)

// Metrics is the set of a node's metrics.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	uploadFiles  *prometheus.CounterVec
	uploadBytes  *prometheus.CounterVec
	imageOps     *prometheus.CounterVec
	imageWait    prometheus.Histogram
	imageRun     prometheus.Histogram
	variants     *prometheus.CounterVec
	variantHit   prometheus.Counter
	variantMiss  prometheus.Counter
	cdnBytes     prometheus.Counter
	webhooks     *prometheus.CounterVec

	// http holds the labelled request counter and duration observer of
	// each (surface, route, code) seen, so that a request costs no label
	// hashing in the vectors. Routes are patterns and codes a small set.
	http sync.Map // httpKey → *httpSeries
}

type httpKey struct {
	surface, route string
	code           int
}

type httpSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// New returns metrics registered on a new registry, with the Go runtime and
// process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "satchel_http_requests_total",
			Help: "HTTP requests answered, by API surface, route pattern and status code.",
		}, []string{"surface", "route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "satchel_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by API surface and route pattern.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"surface", "route"}),
		uploadFiles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "satchel_upload_files_total",
			Help: "Files created, by kind (direct, multipart, from_url, copy).",
		}, []string{"kind"}),
		uploadBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "satchel_upload_bytes_total",
			Help: "Bytes of the files created, by kind (direct, multipart, from_url, copy).",
		}, []string{"kind"}),
		imageOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "satchel_image_operations_total",
			Help: "Image transforms run, by outcome.",
		}, []string{"outcome"}),
		imageWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "satchel_image_queue_wait_seconds",
			Help:    "Time image transforms waited for a worker.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		imageRun: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "satchel_image_run_seconds",
			Help:    "Time image transforms ran on a worker.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		variants: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "satchel_variant_cache_requests_total",
			Help: "Variant cache lookups, by result (hit, miss).",
		}, []string{"result"}),
		cdnBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "satchel_cdn_bytes_served_total",
			Help: "Response bytes written by the CDN surface.",
		}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "satchel_webhook_deliveries_total",
			Help: "Webhook delivery attempts, by outcome (delivered, failed, retry).",
		}, []string{"outcome"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration, m.uploadFiles, m.uploadBytes, m.imageOps,
		m.imageWait, m.imageRun, m.variants, m.cdnBytes, m.webhooks,
	)
	// Known label values start at zero, so rates exist before the first event.
	for _, k := range []string{KindDirect, KindMultipart, KindFromURL} {
		m.uploadFiles.WithLabelValues(k)
		m.uploadBytes.WithLabelValues(k)
	}
	m.variantHit, m.variantMiss = m.variants.WithLabelValues("hit"), m.variants.WithLabelValues("miss")
	for _, o := range []string{"delivered", "failed", "retry"} {
		m.webhooks.WithLabelValues(o)
	}
	return m
}

// Registry is where the metrics live; callers may register their own
// collectors on it.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format. A non-empty
// token requires "Authorization: Bearer <token>".
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "Unauthorized.", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// HTTPRequest records one answered request.
func (m *Metrics) HTTPRequest(surface, route string, code int, d time.Duration) {
	if m == nil {
		return
	}
	k := httpKey{surface, route, code}
	v, ok := m.http.Load(k)
	if !ok {
		v, _ = m.http.LoadOrStore(k, &httpSeries{
			requests: m.httpRequests.WithLabelValues(surface, route, strconv.Itoa(code)),
			duration: m.httpDuration.WithLabelValues(surface, route),
		})
	}
	series := v.(*httpSeries)
	series.requests.Inc()
	series.duration.Observe(d.Seconds())
}

// Upload records files of one kind created, with their total size.
func (m *Metrics) Upload(kind string, files int, bytes int64) {
	if m == nil {
		return
	}
	m.uploadFiles.WithLabelValues(kind).Add(float64(files))
	m.uploadBytes.WithLabelValues(kind).Add(float64(bytes))
}

// ImageOperation records one transform: its outcome, the time it waited for
// a worker and, when it got one, the time it ran (run < 0: it never ran).
func (m *Metrics) ImageOperation(outcome string, wait, run time.Duration) {
	if m == nil {
		return
	}
	m.imageOps.WithLabelValues(outcome).Inc()
	m.imageWait.Observe(wait.Seconds())
	if run >= 0 {
		m.imageRun.Observe(run.Seconds())
	}
}

// VariantLookup records a variant cache lookup.
func (m *Metrics) VariantLookup(hit bool) {
	if m == nil {
		return
	}
	if hit {
		m.variantHit.Inc()
	} else {
		m.variantMiss.Inc()
	}
}

// CDNBytes records response bytes written by the CDN.
func (m *Metrics) CDNBytes(n int64) {
	if m == nil || n <= 0 {
		return
	}
	m.cdnBytes.Add(float64(n))
}

// WebhookDelivery records a delivery attempt's outcome: "delivered",
// "failed" (given up) or "retry".
func (m *Metrics) WebhookDelivery(outcome string) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(outcome).Inc()
}

// CounterFunc registers a counter whose value fn reports at each scrape;
// fn must never decrease.
func (m *Metrics) CounterFunc(name, help string, fn func() float64) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
}

// Gauge registers a gauge whose value fn reports at each scrape.
func (m *Metrics) Gauge(name, help string, fn func() float64) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}
