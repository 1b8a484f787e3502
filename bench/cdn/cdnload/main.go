// Command cdnload is the client side of Satchel's CDN benchmarks (see
// bench/cdn/README.md): it makes the test data, uploads it, drives one
// benchmark round against one server and turns the result lines into a
// markdown table. All traffic goes to the URLs it is given (run.sh only
// gives it 127.0.0.1), and every loop is bounded in count and time.
//
//	cdnload photo  -out F [-w 4000 -h 3000 -q 90]
//	cdnload bytes  -out F -size N
//	cdnload upload -base http://host:port -pub KEY -file F -n K [-c 2] -out uuids.txt
//	cdnload idle   -pids P[,P...]
//	cdnload cold   -scenario S -server N -round R -pids P (-urls F | -url U -n N) -c 4 -format jpeg|webp -w 400 -h 300
//	cdnload hammer -scenario S -server N -round R -pids P -url U -c 64 -d 10s [-expect F] [-tool wrk|go]
//	cdnload report -in results.tsv [-ref scenario=server ...] [-goal ...] [-rss-goal ...]
//
// cold and hammer print one tab-separated result line (see result) on
// stdout; -pids names the server processes whose peak RSS (VmHWM, summed)
// and CPU time are recorded with it.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	args := os.Args[2:]
	var err error
	switch os.Args[1] {
	case "photo":
		err = cmdPhoto(args)
	case "bytes":
		err = cmdBytes(args)
	case "upload":
		err = cmdUpload(args)
	case "idle":
		err = cmdIdle(args)
	case "cold":
		err = cmdCold(args)
	case "hammer":
		err = cmdHammer(args)
	case "report":
		err = cmdReport(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cdnload %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: cdnload photo|bytes|upload|idle|cold|hammer|report [flags]")
	os.Exit(2)
}
