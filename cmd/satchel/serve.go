package main

import (
	"context"
	"errors"
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

	cheapWorkers := int(cfg.ImageCheapWorkers)
	if cheapWorkers == 0 {
		cheapWorkers = -1 // none
	}
	srv, err := server.New(ctx, server.Config{
		DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL, StorageURL: cfg.StorageURL, PublicURL: cfg.PublicURL, FetchAllowPrivate: cfg.FetchAllowPrivate,
		MaxFileSize: cfg.MaxFileSize, MaxDirectUpload: cfg.MaxDirectUpload,
		TemporaryTTL: cfg.TemporaryTTL, SessionTTL: cfg.SessionTTL, RateLimit: cfg.RateLimit,
		FetchWorkers: int(cfg.FetchWorkers), FetchMaxBytes: cfg.FetchMaxBytes, FetchTimeout: cfg.FetchTimeout, FetchDeny: cfg.FetchDeny, SimpleAuthOverHTTP: cfg.SimpleAuth, TrustedProxies: cfg.TrustedProxies,
		ListenURL:      "http://" + cfg.Addr,
		MaxImagePixels: cfg.MaxImagePixels, ImageWorkers: int(cfg.ImageWorkers), ImageQueue: int(cfg.ImageQueue), ImageTimeout: cfg.ImageTimeout,
		ImageMaxSide: int(cfg.ImageMaxSide), ImageMaxOutputPixels: cfg.ImageMaxOutput, ImageCheapWorkers: cheapWorkers, ImageCheapPixels: cfg.ImageCheapPixels,
		VariantCacheSize: cfg.VariantCacheSize, DemoPublicKey: cfg.DemoPublicKey, DemoSecretKey: cfg.DemoSecretKey, Log: log,
	})
	if err != nil {
		return err
	}
	if srv.Demo != nil {
		fmt.Printf("Created the demo project.\n  public key: %s\n  secret key: %s\n", srv.Demo.PublicKey, srv.Demo.SecretKey)
	}
	if addr := os.Getenv("SATCHEL_PPROF_ADDR"); addr != "" {
		// Profiling endpoints on a separate listener, for benchmarks only.
		go func() {
			if err := http.ListenAndServe(addr, pprofMux()); err != nil {
				log.Warn("pprof listener", "err", err)
			}
		}()
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
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = hs.Shutdown(sctx)
	if cerr := srv.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// pprofMux serves the runtime profiles.
func pprofMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
