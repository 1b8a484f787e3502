package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/satchel-project/satchel/jobs"
	"github.com/satchel-project/satchel/server"
)

// cmdMigrate brings the database (Satchel's tables and River's) up to
// date and exits; `satchel serve` does the same at start.
func cmdMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	dataDir := fs.String("data-dir", env("SATCHEL_DATA_DIR", "./satchel-data"), "data directory (SATCHEL_DATA_DIR)")
	dbURL := fs.String("database-url", env("SATCHEL_DATABASE_URL", ""), "PostgreSQL URL; empty: SQLite in the data directory (SATCHEL_DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	store, err := server.OpenStore(ctx, *dataDir, *dbURL)
	if err != nil {
		return err
	}
	if err := store.Close(); err != nil {
		return err
	}
	fmt.Println("The database is up to date.")
	return nil
}

// cmdJobs inspects and changes background jobs: list, retry, cancel.
func cmdJobs(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: satchel jobs list [--state s] [--kind k] [--limit n] | retry ID… | cancel ID…")
		return errUsage
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("jobs "+sub, flag.ContinueOnError)
	dataDir := fs.String("data-dir", env("SATCHEL_DATA_DIR", "./satchel-data"), "data directory (SATCHEL_DATA_DIR)")
	dbURL := fs.String("database-url", env("SATCHEL_DATABASE_URL", ""), "PostgreSQL URL; empty: SQLite in the data directory (SATCHEL_DATABASE_URL)")
	state := fs.String("state", "", "list: only jobs in these states, comma-separated (available, running, retryable, scheduled, completed, discarded, cancelled)")
	kind := fs.String("kind", "", "list: only jobs of these kinds, comma-separated ("+strings.Join([]string{jobs.KindFetch, jobs.KindDelivery, jobs.KindRemoveBlob, jobs.KindExpireFiles, jobs.KindExpireSessions, jobs.KindRetention}, ", ")+")")
	limit := fs.Int("limit", 50, "list: most jobs shown, newest first")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	store, err := server.OpenStore(ctx, *dataDir, *dbURL)
	if err != nil {
		return err
	}
	defer store.Close()
	c, err := jobs.New(ctx, jobs.Config{DB: store.JobsDB()})
	if err != nil {
		return err
	}
	defer c.Close()
	ids := func() ([]int64, error) {
		if fs.NArg() == 0 {
			return nil, fmt.Errorf("jobs %s: give job IDs (see satchel jobs list)", sub)
		}
		var out []int64
		for _, a := range fs.Args() {
			id, err := strconv.ParseInt(a, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("jobs %s: %q is not a job ID", sub, a)
			}
			out = append(out, id)
		}
		return out, nil
	}
	switch sub {
	case "list":
		var states []rivertype.JobState
		for _, s := range splitList(*state) {
			states = append(states, rivertype.JobState(s))
		}
		depth, err := c.Depth(ctx)
		if err != nil {
			return err
		}
		printDepth(depth)
		list, err := c.List(ctx, states, splitList(*kind), *limit)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tQUEUE\tSTATE\tATTEMPT\tSCHEDULED\tARGS\tLAST ERROR")
		for _, j := range list {
			last := ""
			if n := len(j.Errors); n > 0 {
				last = j.Errors[n-1].Error
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", j.ID, j.Kind, j.Queue, j.State, j.Attempt, j.MaxAttempts,
				j.ScheduledAt.Local().Format(time.DateTime), j.EncodedArgs, last)
		}
		return tw.Flush()
	case "retry", "cancel":
		list, err := ids()
		if err != nil {
			return err
		}
		for _, id := range list {
			var j *rivertype.JobRow
			if sub == "retry" {
				j, err = c.Retry(ctx, id)
			} else {
				j, err = c.Cancel(ctx, id)
			}
			if err != nil {
				return err
			}
			fmt.Printf("job %d (%s): %s\n", j.ID, j.Kind, j.State)
		}
		return nil
	default:
		fmt.Fprintf(os.Stderr, "satchel: unknown jobs command %q (list, retry, cancel)\n", sub)
		return errUsage
	}
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// printDepth prints the unfinished jobs of each queue by state.
func printDepth(depth map[string]map[string]int) {
	queues := make([]string, 0, len(depth))
	for q := range depth {
		queues = append(queues, q)
	}
	sort.Strings(queues)
	if len(queues) == 0 {
		fmt.Println("No unfinished jobs.")
	}
	for _, q := range queues {
		var parts []string
		for _, s := range []string{"available", "running", "retryable", "scheduled", "pending"} {
			if n := depth[q][s]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, s))
			}
		}
		fmt.Printf("queue %s: %s\n", q, strings.Join(parts, ", "))
	}
	fmt.Println()
}
