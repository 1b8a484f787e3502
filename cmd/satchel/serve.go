package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/satchel-project/satchel/internal/logbuf"
	"github.com/satchel-project/satchel/server"
)

// newLogger writes text records of level and above to w ("info" when level
// is not one of debug, info, warn, error; Validate refuses that).
func newLogger(level string, w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: parseLevel(level)}))
}

// parseLevel reads a --log-level value (info when it is none).
func parseLevel(level string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return l
}

// cmdServe runs the server with validated settings until a signal stops it,
// logging to stderr. Access log lines are written in batches (every 100 ms
// or 64 KiB); any other record first writes out the batch, then itself.
func cmdServe(ctx context.Context, cfg *serveConfig, stderr io.Writer) error {
	lines := logbuf.New(stderr, logbuf.Options{})
	defer lines.Close() // the last access lines, after "stopped"
	log := newLogger(cfg.LogLevel, lines.Direct())
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	scfg := cfg.serverConfig(log)
	// The same text as newLogger's, formatted without slog's generic path.
	scfg.AccessLogger = slog.New(logbuf.NewTextHandler(lines, parseLevel(cfg.LogLevel)))
	srv, err := server.New(ctx, scfg)
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
	if addr := cfg.PprofAddr; addr != "" {
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
