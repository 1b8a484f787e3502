package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/satchel-project/satchel/server"
)

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func cmdServe(ctx context.Context, args []string) error {
	cfg, err := parseServe(args)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv, err := server.New(ctx, server.Config{
		DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL, StorageURL: cfg.StorageURL, PublicURL: cfg.PublicURL, FetchAllowPrivate: cfg.FetchAllowPrivate,
		MaxFileSize: cfg.MaxFileSize, MaxDirectUpload: cfg.MaxDirectUpload,
		TemporaryTTL: cfg.TemporaryTTL, SessionTTL: cfg.SessionTTL, RateLimit: cfg.RateLimit,
		FetchWorkers: int(cfg.FetchWorkers), FetchMaxBytes: cfg.FetchMaxBytes, FetchTimeout: cfg.FetchTimeout,
		FetchPerProject: int(cfg.FetchPerProject), WebhookPerProject: int(cfg.WebhookPerProject), WebhookTimeout: cfg.WebhookTimeout, FetchDeny: cfg.FetchDeny, SimpleAuthOverHTTP: cfg.SimpleAuth, TrustedProxies: cfg.TrustedProxies,
		ListenURL:      "http://" + cfg.Addr,
		MaxImagePixels: cfg.MaxImagePixels, ImageWorkers: int(cfg.ImageWorkers), ImageQueue: int(cfg.ImageQueue), ImageTimeout: cfg.ImageTimeout, VariantCacheSize: cfg.VariantCacheSize, CDNMetaCacheSize: int(cfg.CDNMetaCache),
		BodyMinRate: cfg.BodyMinRate, BodyIdleTimeout: cfg.BodyIdleTimeout, MaxConcurrentUploads: int(cfg.MaxUploads), MaxProjectUploads: int(cfg.MaxProjectUploads),
		DemoPublicKey: cfg.DemoPublicKey, DemoSecretKey: cfg.DemoSecretKey, Log: log,
		MetricsToken: cfg.MetricsToken, MetricsElsewhere: cfg.MetricsAddr != "",
		NoUploaderPage: !cfg.UploaderPage,
	})
	if err != nil {
		return err
	}
	if srv.Demo != nil {
		// A generated secret is shown once; one the operator supplied never is.
		secret := srv.Demo.SecretKey
		if cfg.DemoSecretKey != "" {
			secret = "(from SATCHEL_DEMO_SECRET_KEY)"
		}
		fmt.Printf("Created the demo project.\n  public key: %s\n  secret key: %s\n", srv.Demo.PublicKey, secret)
	}
	if addr := os.Getenv("SATCHEL_PPROF_ADDR"); addr != "" {
		// Profiling endpoints on a separate listener, for benchmarks only.
		go func() {
			if err := http.ListenAndServe(addr, pprofMux()); err != nil {
				log.Warn("pprof listener", "err", err)
			}
		}()
	}
	if cfg.MetricsAddr != "" {
		go serveMetrics(cfg.MetricsAddr, srv, log)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		srv.Close()
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Printf("Satchel is serving every API on http://%s/\n", ln.Addr())
	log.Info("satchel listening", "addr", ln.Addr().String(), "data_dir", cfg.DataDir)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		srv.Close()
		return err
	case <-ctx.Done():
	}
	// A second signal stops the process at once.
	stop()
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	srv.SetDraining()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Stop accepting and let the requests in progress finish; past the
	// deadline, cut them. The store closes after the last handler returns,
	// and an interrupted drain leaves the running marker for recovery.
	if err := hs.Shutdown(sctx); err != nil {
		if derr := srv.Drain(sctx); derr != nil {
			log.Warn("requests still in progress at the shutdown deadline are cut; the next start recovers", "timeout", cfg.ShutdownTimeout)
		}
		hs.Close()
	} else {
		srv.Drain(sctx)
	}
	if err := srv.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	log.Info("stopped")
	return nil
}

// serveMetrics serves /metrics alone on its own listener.
func serveMetrics(addr string, srv *server.Server, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", srv.MetricsHandler())
	hs := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info("metrics listening", "addr", addr)
	if err := hs.ListenAndServe(); err != nil {
		log.Error("metrics listener", "err", err)
	}
}

// pprofMux serves the runtime profiles.
func pprofMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
