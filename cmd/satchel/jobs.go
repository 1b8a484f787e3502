package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/satchel-project/satchel/jobs"
	"github.com/satchel-project/satchel/server"
)

// migrateCmd is `satchel migrate`: bring the database (Satchel's tables and
// River's) up to date and exit; `satchel serve` does the same at start.
type migrateCmd struct {
	storeConfig `embed:""`
}

// jobsCLI holds the commands that inspect and change background jobs.
type jobsCLI struct {
	List   jobsList `cmd:"" help:"Queue depth per state, then the newest jobs."`
	Retry  jobsIDs  `cmd:"" help:"Run jobs again now."`
	Cancel jobsIDs  `cmd:"" help:"Cancel jobs."`
}

type jobsList struct {
	storeConfig `embed:""`
	State       string `name:"state" placeholder:"STATES" help:"only jobs in these states, comma-separated (available, running, retryable, scheduled, completed, discarded, cancelled)"`
	Kind        string `name:"kind" placeholder:"KINDS" help:"only jobs of these kinds, comma-separated (fetch, webhook_delivery, remove_blob, …)"`
	Limit       int    `name:"limit" default:"50" help:"most jobs shown, newest first"`
}

type jobsIDs struct {
	storeConfig `embed:""`
	IDs         []int64 `arg:"" name:"id" help:"job IDs (see satchel jobs list)"`
}

func cmdMigrate(ctx context.Context, c *migrateCmd, out io.Writer) error {
	store, err := server.OpenStore(ctx, c.DataDir, c.DatabaseURL)
	if err != nil {
		return err
	}
	if err := store.Close(); err != nil {
		return err
	}
	fmt.Fprintln(out, "The database is up to date.")
	return nil
}

// openJobs opens the store and a River client that inserts and inspects
// jobs but runs none.
func openJobs(ctx context.Context, sc storeConfig) (*jobs.Client, func(), error) {
	store, err := server.OpenStore(ctx, sc.DataDir, sc.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	c, err := jobs.New(ctx, jobs.Config{DB: store.JobsDB()})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return c, func() { c.Close(); store.Close() }, nil
}

func cmdJobsList(ctx context.Context, l *jobsList, out io.Writer) error {
	c, done, err := openJobs(ctx, l.storeConfig)
	if err != nil {
		return err
	}
	defer done()
	var states []rivertype.JobState
	for _, s := range splitList(l.State) {
		states = append(states, rivertype.JobState(s))
	}
	depth, err := c.Depth(ctx)
	if err != nil {
		return err
	}
	printDepth(out, depth)
	list, err := c.List(ctx, states, splitList(l.Kind), l.Limit)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
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
}

// cmdJobsChange retries or cancels the jobs listed.
func cmdJobsChange(ctx context.Context, sub string, j *jobsIDs, out io.Writer) error {
	c, done, err := openJobs(ctx, j.storeConfig)
	if err != nil {
		return err
	}
	defer done()
	for _, id := range j.IDs {
		var row *rivertype.JobRow
		if sub == "retry" {
			row, err = c.Retry(ctx, id)
		} else {
			row, err = c.Cancel(ctx, id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "job %d (%s): %s\n", row.ID, row.Kind, row.State)
	}
	return nil
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
func printDepth(out io.Writer, depth map[string]map[string]int) {
	queues := make([]string, 0, len(depth))
	for q := range depth {
		queues = append(queues, q)
	}
	sort.Strings(queues)
	if len(queues) == 0 {
		fmt.Fprintln(out, "No unfinished jobs.")
	}
	for _, q := range queues {
		var parts []string
		for _, s := range []string{"available", "running", "retryable", "scheduled", "pending"} {
			if n := depth[q][s]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, s))
			}
		}
		fmt.Fprintf(out, "queue %s: %s\n", q, strings.Join(parts, ", "))
	}
	fmt.Fprintln(out)
}
