package main

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Size
		err  string // part of the error; "" when the value is good
	}{
		{in: "0", want: 0},
		{in: "1073741824", want: 1 << 30},
		{in: "10GB", want: 10_000_000_000},
		{in: "10GiB", want: 10 << 30},
		{in: " 10 gb ", want: 10_000_000_000},
		{in: "100MB", want: 100_000_000},
		{in: "512KiB", want: 512 << 10},
		{in: "1kB", want: 1000},
		{in: "1.5GB", want: 1_500_000_000},
		{in: "2TiB", want: 2 << 40},
		{in: "10B", want: 10},
		{in: "10G", err: "ambiguous: write 10GB (powers of 1000) or 10GiB"},
		{in: "5m", err: "ambiguous"},
		{in: "-1", err: "want a size"},
		{in: "", err: "want a size"},
		{in: "ten", err: "want a size"},
		{in: "10 GBs", err: "want a size"},
		{in: "1.2.3MB", err: "want a size"},
		{in: "0.1KiB", err: "whole number of bytes"},
		{in: "99999999TB", err: "too large"},
	} {
		got, err := parseSize(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseSize(%q) = %d, %v; want an error with %q", tc.in, got, err, tc.err)
		}
	}
	for n, want := range map[Size]string{0: "0", 50 << 30: "50GiB", 100_000_000: "100MB", 1 << 30: "1GiB", 1024: "1KiB", 1000: "1kB", 1500: "1500", 1_500_000_000: "1500MB"} {
		if got := n.String(); got != want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(n), got, want)
		}
		if back, err := parseSize(n.String()); err != nil || back != n {
			t.Errorf("parseSize(%q) = %d, %v; want %d", n.String(), back, err, int64(n))
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "600s", want: 10 * time.Minute},
		{in: "10m", want: 10 * time.Minute},
		{in: "1h30m", want: 90 * time.Minute},
		{in: " 250ms ", want: 250 * time.Millisecond},
		{in: "0", want: 0},
		{in: "0s", want: 0},
		{in: "600", err: "a duration needs a unit: write 600s, 600m or 600h"},
		{in: "1.5", err: "needs a unit"},
		{in: "-1s", err: "must not be negative"},
		{in: "ten minutes", err: "want a duration"},
		{in: "", err: "want a duration"},
	} {
		got, err := parseDuration(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("parseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseDuration(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
		}
	}
	for d, want := range map[time.Duration]string{24 * time.Hour: "24h", 10 * time.Minute: "10m", 30 * time.Second: "30s", 90 * time.Minute: "1h30m"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// clearSatchelEnv hides the SATCHEL_* variables of the test's own
// environment (test databases and the like) for the rest of the test.
func clearSatchelEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "SATCHEL_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

// TestParseServeRefusesMistakes: sizes and durations mean what they say, and
// a value that does not parse, a zero that would silently become a default
// and a misspelt choice are errors naming the setting, not a quiet fallback.
func TestParseServeRefusesMistakes(t *testing.T) {
	for _, tc := range []struct {
		env   map[string]string
		args  []string
		check func(*serveConfig) bool
		err   []string // parts of the error; nil when the settings are good
	}{
		{env: map[string]string{"SATCHEL_MAX_FILE_SIZE": "10GB"}, check: func(c *serveConfig) bool { return c.MaxFileSize == 10_000_000_000 }},
		{env: map[string]string{"SATCHEL_MAX_FILE_SIZE": "10GiB"}, check: func(c *serveConfig) bool { return c.MaxFileSize == 10<<30 }},
		{env: map[string]string{"SATCHEL_MAX_FILE_SIZE": "1048576"}, check: func(c *serveConfig) bool { return c.MaxFileSize == 1<<20 }},
		{env: map[string]string{"SATCHEL_FETCH_TIMEOUT": "600s"}, check: func(c *serveConfig) bool { return c.FetchTimeout == 10*time.Minute }},
		{env: map[string]string{"SATCHEL_LOG_LEVEL": "WARN"}, check: func(c *serveConfig) bool { return c.LogLevel == "warn" }},
		{env: map[string]string{"SATCHEL_FETCH_ALLOW_PRIVATE": "yes"}, check: func(c *serveConfig) bool { return c.FetchAllowPrivate }},
		{env: map[string]string{"SATCHEL_FETCH_DENY": "10.0.0.0/8, 192.168.0.0/16"}, check: func(c *serveConfig) bool { return len(c.FetchDeny) == 2 }},
		{args: []string{"--fetch-allow-private", "--max-direct-upload", "5MiB"}, check: func(c *serveConfig) bool {
			return c.FetchAllowPrivate && c.MaxDirectUpload == 5<<20
		}},
		// An empty variable counts as unset; an empty flag does not.
		{env: map[string]string{"SATCHEL_MAX_FILE_SIZE": "", "SATCHEL_ADDR": "", "SATCHEL_FETCH_ALLOW_PRIVATE": "", "SATCHEL_LOG_LEVEL": ""}, check: func(c *serveConfig) bool {
			return c.MaxFileSize == 50<<30 && c.Addr == "127.0.0.1:8080" && !c.FetchAllowPrivate && c.LogLevel == "info"
		}},
		{args: []string{"--max-file-size="}, err: []string{"--max-file-size", "want a size"}},
		// A flag overrides a bad variable.
		{env: map[string]string{"SATCHEL_MAX_FILE_SIZE": "10G"}, args: []string{"--max-file-size=1GB"}, check: func(c *serveConfig) bool { return c.MaxFileSize == 1e9 }},

		{env: map[string]string{"SATCHEL_MAX_FILE_SIZE": "10G"}, err: []string{"--max-file-size (SATCHEL_MAX_FILE_SIZE)", `"10G"`, "ambiguous"}},
		{env: map[string]string{"SATCHEL_MAX_FILE_SIZE": "0"}, err: []string{"--max-file-size (SATCHEL_MAX_FILE_SIZE): must be more than 0"}},
		{env: map[string]string{"SATCHEL_FETCH_TIMEOUT": "600"}, err: []string{"--fetch-timeout (SATCHEL_FETCH_TIMEOUT)", "needs a unit"}},
		{env: map[string]string{"SATCHEL_FETCH_TIMEOUT": "0s"}, err: []string{"--fetch-timeout (SATCHEL_FETCH_TIMEOUT): must be more than 0"}},
		{env: map[string]string{"SATCHEL_LOG_LEVEL": "inof"}, err: []string{"--log-level (SATCHEL_LOG_LEVEL)", `"inof"`, "want debug, info, warn or error"}},
		{env: map[string]string{"SATCHEL_SIMPLE_AUTH_OVER_HTTP": "sometimes"}, err: []string{"--simple-auth-over-http"}},
		{env: map[string]string{"SATCHEL_RATE_LIMIT": "-5"}, err: []string{"--rate-limit (SATCHEL_RATE_LIMIT)", "must not be negative"}},
		{env: map[string]string{"SATCHEL_FETCH_WORKERS": "many"}, err: []string{"--fetch-workers (SATCHEL_FETCH_WORKERS)", "want a whole number"}},
		{env: map[string]string{"SATCHEL_FETCH_ALLOW_PRIVATE": "sure"}, err: []string{"--fetch-allow-private", "want true or false"}},
		{env: map[string]string{"SATCHEL_TRUSTED_PROXIES": "10.0.0.0/8,nope"}, err: []string{"--trusted-proxies", `"nope" is not a network`}},
		{args: []string{"--image-timeout", "30"}, err: []string{"--image-timeout", "needs a unit"}},
		{args: []string{"--addr="}, err: []string{"--addr (SATCHEL_ADDR): must not be empty"}},
	} {
		t.Run(strings.Join(append(mapPairs(tc.env), tc.args...), " "), func(t *testing.T) {
			clearSatchelEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, err := parseServe(tc.args)
			if tc.err == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !tc.check(c) {
					t.Fatalf("parsed to %+v", *c)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", *c)
			}
			for _, want := range tc.err {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func mapPairs(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// TestParseServeJoinsErrors: every mistake is reported at once.
func TestParseServeJoinsErrors(t *testing.T) {
	clearSatchelEnv(t)
	t.Setenv("SATCHEL_MAX_FILE_SIZE", "10G")
	t.Setenv("SATCHEL_FETCH_TIMEOUT", "600")
	t.Setenv("SATCHEL_LOG_LEVEL", "verbose")
	_, err := parseServe([]string{"--fetch-per-project=0", "--webhook-timeout=-1s"})
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	for _, want := range []string{"--max-file-size", "--fetch-timeout", "--log-level", "--fetch-per-project", "--webhook-timeout"} {
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l, want+" ") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d lines about %s in:\n%s", n, want, err)
		}
	}
	if len(lines) != 5 {
		t.Errorf("want 5 lines, got:\n%s", err)
	}
}

// TestServeUnknownEnvWarning: a misspelt SATCHEL_* variable is reported at
// start, once, with the name it probably meant; the test suites' variables
// are not.
func TestServeUnknownEnvWarning(t *testing.T) {
	clearSatchelEnv(t)
	t.Setenv("SATCHEL_MAX_FILESIZE", "10GB")
	t.Setenv("SATCHEL_COLOUR", "blue")
	t.Setenv("SATCHEL_TEST_DATABASE_URL", "postgres://x")
	t.Setenv("SATCHEL_ADDR", "127.0.0.1:0")
	t.Setenv("SATCHEL_LOG_LEVEL", "nope") // stop before serving
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"serve", "--data-dir", t.TempDir()}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Fatalf("run: %v", err)
	}
	out := stderr.String()
	if n := strings.Count(out, "unknown environment variable"); n != 2 {
		t.Errorf("%d warnings, want 2:\n%s", n, out)
	}
	for _, want := range []string{
		"level=WARN msg=\"unknown environment variable, ignored\" name=SATCHEL_MAX_FILESIZE did_you_mean=SATCHEL_MAX_FILE_SIZE",
		"level=WARN msg=\"unknown environment variable, ignored\" name=SATCHEL_COLOUR\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SATCHEL_TEST_DATABASE_URL") || strings.Contains(out, "name=SATCHEL_ADDR") {
		t.Errorf("warned about a known variable:\n%s", out)
	}
}

// TestProjectHelpHasNoSentinel: the help of project update shows no internal
// marker values as defaults.
func TestProjectHelpHasNoSentinel(t *testing.T) {
	clearSatchelEnv(t)
	for _, args := range [][]string{{"project", "update", "--help"}, {"project", "create", "--help"}, {"help", "project", "update"}} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		out := stdout.String()
		if !strings.Contains(out, "--allowed-types") || !strings.Contains(out, "--max-file-size") {
			t.Fatalf("%v: no flags in help:\n%s", args, out)
		}
		for _, bad := range []string{"\x00", `\x00`, `"-1"`, "=-1", "default"} {
			if strings.Contains(out, bad) {
				t.Errorf("%v: help shows %q:\n%s", args, bad, out)
			}
		}
	}
}

// TestProjectCommands drives the project commands against a real SQLite
// data dir, with the command lines the flag-package parser took.
func TestProjectCommands(t *testing.T) {
	clearSatchelEnv(t)
	dir := t.TempDir()
	t.Setenv("SATCHEL_DATA_DIR", dir)
	ctx := context.Background()
	sh := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := run(ctx, args, &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr.String())
		}
		return stdout.String()
	}
	out := sh("project", "create", "--name", "site", "--public-key", "pubkey0000000000site", "--autostore", "false",
		"--signed-uploads=true", "--max-file-size", "104857600", "-allowed-types", "image/*, application/pdf", "--storage", "b=file:///srv/b")
	if !strings.Contains(out, "public key: pubkey0000000000site") {
		t.Fatalf("create printed %q", out)
	}
	row := func() string {
		t.Helper()
		for _, l := range strings.Split(sh("project", "list"), "\n") {
			if f := strings.Fields(l); len(f) > 2 && f[2] == "pubkey0000000000site" {
				return strings.Join(f[1:], " ")
			}
		}
		t.Fatal("project not listed")
		return ""
	}
	if got, want := row(), "site pubkey0000000000site false true 104857600 image/*,application/pdf b"; got != want {
		t.Fatalf("after create: %q, want %q", got, want)
	}
	// Flags left out keep their values; an empty --allowed-types allows all.
	sh("project", "update", "--public-key", "pubkey0000000000site", "--max-file-size", "1MiB", "--allowed-types", "", "--remove-storage", "b")
	if got, want := row(), "site pubkey0000000000site false true 1048576"; got != want {
		t.Fatalf("after update: %q, want %q", got, want)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"project", "update", "--public-key", "pubkey0000000000site", "--max-file-size", "10G"}, "--max-file-size: \"10G\": unit \"G\" is ambiguous"},
		{[]string{"project", "update", "--public-key", "pubkey0000000000site", "--autostore", "maybe"}, "--autostore: \"maybe\": want true or false"},
		{[]string{"project", "update", "--public-key", "pubkey0000000000site", "--storage", "nourl", "--secure-delivery", "abc"}, "--secure-delivery"},
		{[]string{"project", "update", "--name", "x"}, "--public-key"},
		{[]string{"project", "list", "--name", "x"}, "unknown flag --name"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(ctx, tc.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

// TestServerConfigMapping: the settings reach the server's configuration in
// its own terms.
func TestServerConfigMapping(t *testing.T) {
	clearSatchelEnv(t)
	c, err := parseServe([]string{"--image-queue", "0", "--max-file-size", "2GiB", "--addr", "127.0.0.1:9999"})
	if err != nil {
		t.Fatal(err)
	}
	sc := c.serverConfig(slog.Default())
	// The imaging engine reads a queue of 0 as its default; --image-queue 0 means none.
	if sc.ImageQueue >= 0 || sc.MaxFileSize != 2<<30 || sc.ListenURL != "http://127.0.0.1:9999" || sc.DataDir != "./satchel-data" {
		t.Fatalf("server config %+v", sc)
	}
}

var updateREADME = flag.Bool("update-readme", false, "rewrite the README's configuration table from the settings")

const (
	tableBegin = "<!-- satchel serve settings: generated by `go generate ./cmd/satchel` from cmd/satchel/config.go -->\n"
	tableEnd   = "<!-- end of generated settings -->\n"
)

// TestREADMEConfigTable: the README's configuration table is the one the
// settings generate (go generate ./cmd/satchel rewrites it).
func TestREADMEConfigTable(t *testing.T) {
	clearSatchelEnv(t)
	var c cli
	p, _, err := newParser(&c, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var serve *kong.Node
	for _, n := range p.Model.Children {
		if n.Name == "serve" {
			serve = n
		}
	}
	var table bytes.Buffer
	writeConfigTable(&table, serve)

	path := filepath.Join("..", "..", "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(readme), tableBegin)
	current, after, ok2 := strings.Cut(rest, tableEnd)
	if !ok1 || !ok2 {
		t.Fatalf("README.md lacks the markers %q and %q", tableBegin, tableEnd)
	}
	if current == table.String() {
		return
	}
	if *updateREADME {
		if err := os.WriteFile(path, []byte(before+tableBegin+table.String()+tableEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the configuration table of %s", path)
		return
	}
	t.Errorf("README.md's configuration table differs from the settings; run `go generate ./cmd/satchel`. Want:\n%s", table.String())
}

// TestCommandLineCompat: command lines the flag-package parser took still
// work: no command means serve, and long flags may have one dash.
func TestCommandLineCompat(t *testing.T) {
	clearSatchelEnv(t)
	for _, tc := range []struct {
		args  []string
		cmd   string
		check func(*cli) bool
	}{
		{nil, "serve", func(c *cli) bool { return c.Serve.Addr == "127.0.0.1:8080" }},
		{[]string{"-addr", "127.0.0.1:1", "-fetch-allow-private", "-rate-limit=0"}, "serve", func(c *cli) bool {
			return c.Serve.Addr == "127.0.0.1:1" && c.Serve.FetchAllowPrivate && c.Serve.RateLimit == 0
		}},
		{[]string{"serve", "--fetch-allow-private=false", "-log-level", "debug"}, "serve", func(c *cli) bool {
			return !c.Serve.FetchAllowPrivate && c.Serve.LogLevel == "debug"
		}},
		{[]string{"project", "rotate-keys", "-public-key", "k", "-secret-only"}, "project rotate-keys", func(c *cli) bool {
			return c.Project.RotateKeys.PublicKey == "k" && c.Project.RotateKeys.SecretOnly
		}},
		{[]string{"project", "update", "--public-key", "k", "--", "-name"}, "", nil}, // after --, nothing is rewritten
	} {
		var c cli
		p, _, err := newParser(&c, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		kctx, err := p.Parse(compatArgs(p.Model.Node, tc.args))
		if tc.check == nil {
			if err == nil {
				t.Errorf("%v: accepted", tc.args)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if kctx.Command() != tc.cmd || !tc.check(&c) {
			t.Errorf("%v: command %q, settings %+v", tc.args, kctx.Command(), c)
		}
	}
}
