// Command satchel runs the Satchel server and its admin tasks.
//
//	satchel serve [flags]          run every API on one port
//	satchel project create|list|update|rotate-keys [flags]
//	satchel backup [--data-dir DIR] BACKUP_DIR
//	satchel restore [--data-dir DIR] BACKUP_DIR
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "satchel:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return cmdServe(ctx, nil)
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:])
	case "project":
		return cmdProject(ctx, args[1:])
	case "backup":
		return cmdBackup(ctx, args[1:])
	case "restore":
		return cmdRestore(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Println(`usage:
  satchel serve [flags]                 run the server (satchel serve -h for flags)
  satchel project create [flags]        create a project and print its keys
  satchel project list                  list projects
  satchel project update [flags]        change a project's settings
  satchel project rotate-keys [flags]   issue new keys for a project
  satchel backup BACKUP_DIR             copy the data dir (SQLite + files) while the server runs
  satchel restore BACKUP_DIR            restore a backup into an empty data dir`)
		return nil
	default:
		fmt.Fprintf(os.Stderr, "satchel: unknown command %q (try satchel help)\n", args[0])
		return errUsage
	}
}
