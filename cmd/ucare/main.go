// Command ucare is a command-line client for Uploadcare-compatible services
// (Satchel or Uploadcare itself), with the subcommands and flags of
// pyuploadcare's ucare tool:
//
//	ucare [global flags] <command> [flags] [arguments]
//
// Commands: list_files, list_groups, get, store, delete, upload_from_url,
// upload, create_group, sync. Run "ucare help" for the flags of each.
//
// Settings come from, in increasing precedence: the [ucare] section of
// ~/.uploadcare, the [ucare] section of ./uploadcare.ini, UPLOADCARE_*
// environment variables, and flags.
//
// Exit codes: 0 success, 1 API or other error, 2 usage or configuration
// error, 3 authentication failed, 4 not found, 5 timed out, 6 network
// error, 7 throttled.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"time"

	"github.com/satchel-project/satchel/ucare"
)

// Exit codes scripts can rely on.
const (
	exitOK        = 0
	exitError     = 1
	exitUsage     = 2
	exitAuth      = 3
	exitNotFound  = 4
	exitTimeout   = 5
	exitNetwork   = 6
	exitThrottled = 7
)

// version of the ucare command.
const version = "1.0.0"

// env is the process environment the CLI runs in (tests make their own).
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// home holds ~/.uploadcare; wd holds ./uploadcare.ini.
	home, wd string
	// tty tells whether progress bars may be drawn (stdout is a terminal).
	tty bool
}

func main() {
	home, _ := os.UserHomeDir()
	wd, _ := os.Getwd()
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, home: home, wd: wd, tty: isTerminal(os.Stdout) && isTerminal(os.Stderr)}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], e)
	stop()
	os.Exit(code)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// globals are the flags every command accepts (before or after its name).
type globals struct {
	pubKey, secret, apiBase, uploadBase, cdnBase, apiVersion string
	noCheckUpload, noCheckAPI                                bool
	json                                                     bool
	version                                                  bool
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.pubKey, "pub_key", g.pubKey, "project public key (default: from uploadcare.ini, ~/.uploadcare or $UPLOADCARE_PUBLIC_KEY)")
	fs.StringVar(&g.secret, "secret", g.secret, "project secret key (default: from uploadcare.ini, ~/.uploadcare or $UPLOADCARE_SECRET_KEY)")
	fs.StringVar(&g.apiBase, "api_base", g.apiBase, "REST API base URL (default "+ucare.DefaultAPIBase+")")
	fs.StringVar(&g.uploadBase, "upload_base", g.uploadBase, "Upload API base URL (default "+ucare.DefaultUploadBase+")")
	fs.StringVar(&g.cdnBase, "cdn_base", g.cdnBase, "CDN base URL (default "+ucare.DefaultCDNBase+")")
	fs.StringVar(&g.apiVersion, "api_version", g.apiVersion, "REST API version (default "+ucare.DefaultAPIVersion+")")
	fs.BoolVar(&g.noCheckUpload, "no_check_upload_certificate", g.noCheckUpload, "don't check the Upload API server's TLS certificate")
	fs.BoolVar(&g.noCheckAPI, "no_check_api_certificate", g.noCheckAPI, "don't check the REST API (and CDN) server's TLS certificate")
	fs.BoolVar(&g.json, "json", g.json, "print JSON for scripts")
	fs.BoolVar(&g.version, "version", g.version, "print the version")
}

// command is one subcommand.
type command struct {
	name, args, help string
	// flags registers the command's own flags and returns its runner.
	setup func(fs *flag.FlagSet) func(c *cli, args []string) error
	// needsSecret: the command calls the REST API.
	needsSecret bool
	// minArgs and maxArgs bound the positional arguments (-1: any).
	minArgs, maxArgs int
}

var commands []*command

func findCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// usageError is a command-line mistake (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// cli is a running command.
type cli struct {
	ctx    context.Context
	e      *env
	g      *globals
	s      *settings
	client *ucare.Client
}

func run(ctx context.Context, args []string, e *env) int {
	g := &globals{}
	top := flag.NewFlagSet("ucare", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	g.register(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(e.stdout)
			return exitOK
		}
		fmt.Fprintf(e.stderr, "ucare: %v\n", err)
		printUsage(e.stderr)
		return exitUsage
	}
	if g.version {
		fmt.Fprintf(e.stdout, "ucare %s (Go SDK %s)\n", version, ucare.Version)
		return exitOK
	}
	rest := top.Args()
	if len(rest) == 0 {
		printUsage(e.stderr)
		return exitUsage
	}
	if rest[0] == "help" {
		if len(rest) > 1 {
			if cmd := findCommand(rest[1]); cmd != nil {
				printCommandUsage(e.stdout, cmd, g)
				return exitOK
			}
		}
		printUsage(e.stdout)
		return exitOK
	}
	cmd := findCommand(rest[0])
	if cmd == nil {
		fmt.Fprintf(e.stderr, "ucare: unknown command %q\n", rest[0])
		printUsage(e.stderr)
		return exitUsage
	}
	fs := flag.NewFlagSet("ucare "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g.register(fs)
	runner := cmd.setup(fs)
	pos, err := parseInterleaved(fs, rest[1:], cmd.name)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandUsage(e.stdout, cmd, g)
			return exitOK
		}
		fmt.Fprintf(e.stderr, "ucare %s: %v\n", cmd.name, err)
		printCommandUsage(e.stderr, cmd, g)
		return exitUsage
	}
	if len(pos) < cmd.minArgs || cmd.maxArgs >= 0 && len(pos) > cmd.maxArgs {
		fmt.Fprintf(e.stderr, "ucare %s: wrong number of arguments\n", cmd.name)
		printCommandUsage(e.stderr, cmd, g)
		return exitUsage
	}
	s, err := loadSettings(e, g)
	if err != nil {
		fmt.Fprintf(e.stderr, "ucare: %v\n", err)
		return exitUsage
	}
	if s.PubKey == "" {
		fmt.Fprintln(e.stderr, "ucare: no public key: pass --pub_key, set UPLOADCARE_PUBLIC_KEY, or put pub_key in the [ucare] section of ./uploadcare.ini or ~/.uploadcare")
		return exitUsage
	}
	if cmd.needsSecret && s.Secret == "" {
		fmt.Fprintf(e.stderr, "ucare %s: needs the secret key: pass --secret, set UPLOADCARE_SECRET_KEY, or put secret in the [ucare] section of ./uploadcare.ini or ~/.uploadcare\n", cmd.name)
		return exitUsage
	}
	client, err := newClient(s)
	if err != nil {
		fmt.Fprintf(e.stderr, "ucare: %v\n", err)
		return exitUsage
	}
	c := &cli{ctx: ctx, e: e, g: g, s: s, client: client}
	if err := runner(c, pos); err != nil {
		return c.fail(err)
	}
	return exitOK
}

// newClient makes the SDK client of the settings.
func newClient(s *settings) (*ucare.Client, error) {
	cfg := ucare.Config{
		PublicKey: s.PubKey, SecretKey: s.Secret,
		APIBase: s.APIBase, UploadBase: s.UploadBase, CDNBase: s.CDNBase, APIVersion: s.APIVersion,
		SignedUploads: s.Secret != "", // as pyuploadcare: sign uploads whenever the secret is known
		UserAgent:     "ucare-cli/" + version,
	}
	cfg.HTTPClient = httpClient(!s.VerifyAPI)
	cfg.UploadHTTPClient = httpClient(!s.VerifyUpload)
	return ucare.NewClient(cfg)
}

func httpClient(insecure bool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 2 * time.Minute
	if insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by --no_check_*_certificate
	}
	return &http.Client{Transport: t}
}

// fail prints err and returns its exit code.
func (c *cli) fail(err error) int {
	code := exitCode(err)
	if code == exitUsage {
		fmt.Fprintf(c.e.stderr, "ucare: %v\n", err)
	} else {
		fmt.Fprintf(c.e.stderr, "ERROR: %v\n", strings.TrimPrefix(err.Error(), "ucare: "))
	}
	return code
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var (
		ue  *usageError
		ip  *ucare.InvalidParamError
		ae  *ucare.AuthenticationError
		te  *ucare.TimeoutError
		ce  *ucare.APIConnectionError
		thr *ucare.ThrottledRequestError
		pe  *problemsError
	)
	switch {
	case errors.As(err, &pe):
		if pe.notFound {
			return exitNotFound
		}
		return exitError
	case errors.As(err, &ue), errors.As(err, &ip):
		return exitUsage
	case errors.As(err, &ae):
		return exitAuth
	case ucare.IsNotFound(err):
		return exitNotFound
	case errors.As(err, &te), errors.Is(err, context.DeadlineExceeded):
		return exitTimeout
	case errors.As(err, &thr):
		return exitThrottled
	case errors.As(err, &ce):
		return exitNetwork
	}
	return exitError
}

// parseInterleaved parses flags found anywhere among the arguments (as
// argparse does) and returns the positional ones. "--" ends the flags.
// For sync, "--uuids" takes every following UUID.
func parseInterleaved(fs *flag.FlagSet, args []string, cmd string) ([]string, error) {
	var pos []string
	if cmd == "sync" {
		var err error
		if args, err = takeUUIDs(fs, args); err != nil {
			return nil, err
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// takeUUIDs turns "--uuids a b c" into "--uuids a,b,c".
func takeUUIDs(fs *flag.FlagSet, args []string) ([]string, error) {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...), nil
		}
		if a != "--uuids" && a != "-uuids" {
			out = append(out, a)
			continue
		}
		var ids []string
		for i+1 < len(args) && ucare.ExtractUUID(args[i+1]) != "" && !strings.HasPrefix(args[i+1], "-") && !strings.Contains(args[i+1], "$") {
			ids = append(ids, args[i+1])
			i++
		}
		if len(ids) == 0 {
			return nil, usagef("--uuids needs at least one UUID")
		}
		out = append(out, "--uuids="+strings.Join(ids, ","))
	}
	return out, nil
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: ucare [global flags] <command> [flags] [arguments]

Commands:
`)
	names := make([]string, 0, len(commands))
	for _, c := range commands {
		names = append(names, c.name)
	}
	sort.Strings(names)
	for _, n := range names {
		c := findCommand(n)
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.help)
	}
	fmt.Fprint(w, `
Global flags (also accepted after the command):
  --pub_key KEY, --secret KEY
  --api_base URL, --upload_base URL, --cdn_base URL, --api_version 0.7
  --no_check_api_certificate, --no_check_upload_certificate
  --json            print JSON for scripts
  --version

Settings come from (later wins): [ucare] in ~/.uploadcare, [ucare] in
./uploadcare.ini (keys pub_key, secret, api_base, upload_base, cdn_base,
api_version, verify_api_ssl, verify_upload_ssl), UPLOADCARE_PUBLIC_KEY,
UPLOADCARE_SECRET_KEY, UPLOADCARE_API_BASE, UPLOADCARE_UPLOAD_BASE,
UPLOADCARE_CDN_BASE, UPLOADCARE_API_VERSION, then flags.

Exit codes: 0 ok, 1 API or other error, 2 usage or configuration error,
3 authentication failed, 4 not found, 5 timed out, 6 network error,
7 throttled.

Run "ucare help <command>" for a command's flags.
`)
}

func printCommandUsage(w io.Writer, cmd *command, g *globals) {
	fmt.Fprintf(w, "Usage: ucare %s [flags] %s\n\n%s\n\nFlags:\n", cmd.name, cmd.args, cmd.help)
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	cmd.setup(fs)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "None" {
			usage += " (default " + d + ")"
		}
		fmt.Fprintf(w, "%s\n      %s\n", line, usage)
	})
	fmt.Fprintln(w, "\nGlobal flags: see \"ucare help\".")
}
