// Command load is the client side of Satchel's upload benchmarks (see
// bench/README.md). It generates deterministic test data, drives one
// benchmark round against one server, and turns the collected result lines
// into a markdown table.
//
//	load gen      -data F -size N [-direct-body F -direct-size N -pub KEY]
//	load multipart -url http://host:port -pub KEY -data F -size N -part-size P -workers W
//	load direct   -url http://host:port -body F
//	load tus      -url http://host:port/files/ -data F -size N
//	load put      -url http://host:port/put/ -data F -size N
//	load small    -url http://host:port/base/ -pub KEY -file-size N -c 16 -duration 10s -max N
//	load report   -in results.tsv [-ref scenario=server ...]
//
// Every run subcommand prints one tab-separated result line on stdout (see
// Result); -pid names the server process whose peak RSS (VmHWM) and CPU time
// are recorded with it.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "gen":
		err = cmdGen(args)
	case "multipart":
		err = cmdMultipart(args)
	case "direct":
		err = cmdDirect(args)
	case "tus":
		err = cmdTus(args)
	case "put":
		err = cmdPut(args)
	case "small":
		err = cmdSmall(args)
	case "report":
		err = cmdReport(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "load %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: load gen|multipart|direct|tus|put|small|report [flags]")
	os.Exit(2)
}
