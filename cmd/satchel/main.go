// Command satchel runs the Satchel server and its admin tasks.
//
//	satchel serve [flags]          run every API on one port (the default)
//	satchel project create|list|update|rotate-keys [flags]
//	satchel backup [--data-dir DIR] BACKUP_DIR
//	satchel restore [--data-dir DIR] BACKUP_DIR
//	satchel migrate [--data-dir DIR | --database-url URL]
//	satchel jobs list|retry|cancel [flags]
//
// Every command takes --help. The settings of serve are in config.go.
package main

//go:generate go test -count=1 -run ^TestREADMEConfigTable$ . -args -update-readme

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/alecthomas/kong"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "satchel:", err)
		}
		os.Exit(1)
	}
}

// errUsage ends the process with status 1 after kong has said why.
var errUsage = errors.New("usage")

// cli is the command tree.
type cli struct {
	Serve   serveConfig `cmd:"" default:"withargs" help:"Run every API on one port (the default command)."`
	Project projectCLI  `cmd:"" help:"Create, list, change and re-key projects."`
	Backup  backupCmd   `cmd:"" help:"Copy the data dir (SQLite database and files) while the server runs."`
	Restore restoreCmd  `cmd:"" help:"Restore a backup into an empty data dir."`
	Migrate migrateCmd  `cmd:"" help:"Bring the database up to date (serve does it too)."`
	Jobs    jobsCLI     `cmd:"" help:"Inspect background jobs: queue depth, retry, cancel."`
}

// exitRequest carries the status kong asks to exit with (after --help).
type exitRequest int

// newParser builds the parser of c, writing help to stdout and stderr (the
// process's own when nil). Values that do not parse are collected in the
// returned decodeErrors for the commands' Validate.
func newParser(c *cli, stdout, stderr io.Writer) (*kong.Kong, decodeErrors, error) {
	errs := decodeErrors{}
	c.Serve.decodeErrs = errs
	if stdout == nil {
		stdout = os.Stdout
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	opts := append(parserOptions(errs),
		kong.Name("satchel"),
		kong.Description("Satchel serves the Uploadcare Upload API, REST API and CDN from one process."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitRequest(code)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	p, err := kong.New(c, opts...)
	return p, errs, err
}

// run parses args and runs the command they name.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	if stdout == nil {
		stdout = os.Stdout
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	var c cli
	p, decodeErrs, err := newParser(&c, stdout, stderr)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			code, ok := r.(exitRequest)
			if !ok {
				panic(r)
			}
			if err = nil; code != 0 {
				err = errUsage
			}
		}
	}()
	// Before parsing, so that a misspelt variable is reported with the
	// mistakes it may cause.
	warnUnknownEnv(newLogger("info", stderr), p.Model.Node, os.Environ())
	kctx, err := p.Parse(compatArgs(p.Model.Node, args))
	if err != nil {
		return explain(err)
	}
	switch cmd := kctx.Command(); cmd {
	case "serve":
		return cmdServe(ctx, &c.Serve, stderr)
	case "backup <backup-dir>":
		return cmdBackup(ctx, &c.Backup, stdout)
	case "restore <backup-dir>":
		return cmdRestore(ctx, &c.Restore, stdout)
	case "migrate":
		return cmdMigrate(ctx, &c.Migrate, stdout)
	case "jobs list":
		return cmdJobsList(ctx, &c.Jobs.List, stdout)
	case "jobs retry <id>":
		return cmdJobsChange(ctx, "retry", &c.Jobs.Retry, stdout)
	case "jobs cancel <id>":
		return cmdJobsChange(ctx, "cancel", &c.Jobs.Cancel, stdout)
	default:
		sub, ok := strings.CutPrefix(cmd, "project ")
		if !ok {
			return fmt.Errorf("unknown command %q", cmd)
		}
		return explain(cmdProject(ctx, &c.Project, sub, decodeErrs, stdout))
	}
}

// explain words a parse or settings error for the command line.
func explain(err error) error {
	var se settingsError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return errors.New("invalid settings:\n  " + strings.ReplaceAll(se.Error(), "\n", "\n  "))
	default:
		var pe *kong.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("%w (see satchel --help)", err)
		}
		return err
	}
}

// compatArgs keeps the command lines of the earlier flag-package parser
// working: "satchel help [command]" and single-dash long flags ("-addr").
func compatArgs(model *kong.Node, args []string) []string {
	if len(args) > 0 && args[0] == "help" {
		args = append(append([]string{}, args[1:]...), "--help")
	}
	long := map[string]bool{}
	_ = kong.Visit(model, func(n kong.Visitable, next kong.Next) error {
		if f, ok := n.(*kong.Flag); ok {
			long[f.Name] = true
		}
		return next(nil)
	})
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if name, _, _ := strings.Cut(a, "="); len(name) > 2 && name[0] == '-' && name[1] != '-' && long[name[1:]] {
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}
