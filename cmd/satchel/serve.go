package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/app"
	"github.com/satchel-project/satchel/blobstore"
	"github.com/satchel-project/satchel/cdn"
	"github.com/satchel-project/satchel/fetch"
	"github.com/satchel-project/satchel/inspect"
	"github.com/satchel-project/satchel/sqlstore"
	"github.com/satchel-project/satchel/uploadapi"
)

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func openStore(ctx context.Context, dataDir string) (*sqlstore.DB, error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return sqlstore.OpenSQLite(ctx, filepath.Join(dataDir, "satchel.db"))
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

	store, err := openStore(ctx, cfg.DataDir)
	if err != nil {
		return err
	}
	defer store.Close()
	bucket, err := blobstore.OpenDisk(filepath.Join(cfg.DataDir, "files"))
	if err != nil {
		return err
	}
	fc := fetch.New(fetch.Options{AllowPrivate: cfg.FetchAllowPrivate, MaxBytes: cfg.FetchMaxBytes, Timeout: cfg.FetchTimeout, UserAgent: "Satchel"})
	a, err := app.New(ctx, store, bucket, inspect.New(inspect.Options{}), fc, log, app.Config{
		MaxFileSize: cfg.MaxFileSize, TemporaryTTL: cfg.TemporaryTTL, SessionTTL: cfg.SessionTTL,
		FetchWorkers: int(cfg.FetchWorkers), RateLimit: cfg.RateLimit,
	})
	if err != nil {
		return err
	}
	if err := ensureDemoProject(ctx, store, cfg); err != nil {
		return err
	}

	// An unclean stop leaves the marker behind: recover what it may have orphaned.
	marker := filepath.Join(cfg.DataDir, "running")
	if b, err := os.ReadFile(marker); err == nil {
		since := time.Time{}
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
			since = time.Unix(n, 0).Add(-time.Minute)
		}
		if since.IsZero() {
			since = time.Unix(1, 0)
		}
		if err := a.Recover(ctx, since); err != nil {
			return fmt.Errorf("recover: %w", err)
		}
	} else if err := a.Recover(ctx, time.Time{}); err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	if err := os.WriteFile(marker, []byte(strconv.FormatInt(time.Now().Unix(), 10)), 0o640); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	if err := a.Start(ctx); err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	uploadapi.New(a, uploadapi.Config{PublicURL: cfg.PublicURL, MaxDirectUpload: cfg.MaxDirectUpload}, log).Register(mux)
	mux.Handle("GET /", &cdn.Handler{Store: store, Bucket: bucket, Log: log})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           cleanPath(mux),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("satchel listening", "addr", ln.Addr().String(), "data_dir", cfg.DataDir)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	a.Close()
	if err == nil {
		os.Remove(marker)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// cleanPath collapses repeated slashes (pyuploadcare posts to /group//)
// before routing, so the mux does not answer with a redirect.
func cleanPath(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "//") {
			p := r.URL.Path
			for strings.Contains(p, "//") {
				p = strings.ReplaceAll(p, "//", "/")
			}
			r.URL.Path = p
			r.URL.RawPath = ""
		}
		h.ServeHTTP(w, r)
	})
}

func randomKey() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// ensureDemoProject creates the demo project on first start and prints its keys.
func ensureDemoProject(ctx context.Context, store satchel.Store, cfg *serveConfig) error {
	ps, err := store.Projects(ctx)
	if err != nil {
		return err
	}
	if len(ps) > 0 {
		return nil
	}
	p := &satchel.Project{Name: "demo", PublicKey: cfg.DemoPublicKey, SecretKey: cfg.DemoSecretKey, Autostore: true}
	if p.PublicKey == "" {
		p.PublicKey = randomKey()
	}
	if p.SecretKey == "" {
		p.SecretKey = randomKey()
	}
	if err := store.CreateProject(ctx, p); err != nil {
		return fmt.Errorf("create demo project: %w", err)
	}
	fmt.Printf("Created the demo project.\n  public key: %s\n  secret key: %s\n", p.PublicKey, p.SecretKey)
	return nil
}
