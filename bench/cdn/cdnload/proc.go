package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// pidList parses "1,2,3".
func pidList(s string) ([]int, error) {
	var pids []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("bad pid %q", f)
		}
		pids = append(pids, p)
	}
	return pids, nil
}

// clkTck is USER_HZ, 100 on every Linux this runs on.
const clkTck = 100

// cpuSeconds is user+system time of the processes (from /proc/PID/stat).
func cpuSeconds(pids []int) float64 {
	var ticks int64
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		// After the command: state(0) ... utime(11) stime(12).
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + st
		}
	}
	return float64(ticks) / clkTck
}

// peakRSS is the sum of VmHWM of the processes, in MB (10^6 bytes).
func peakRSS(pids []int) float64 {
	var kb int64
	for _, p := range pids {
		f, err := os.Open(fmt.Sprintf("/proc/%d/status", p))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "VmHWM:") {
				v, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
				kb += v
			}
		}
		f.Close()
	}
	return float64(kb) * 1024 / 1e6
}

// cmdIdle waits (at most 60 s) until the processes have used no CPU for
// half a second, so that a round does not pay for work left by the setup.
func cmdIdle(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	pidsFlag := fs.String("pids", "", "server pids")
	fs.Parse(args)
	pids, err := pidList(*pidsFlag)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	last := cpuSeconds(pids)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		now := cpuSeconds(pids)
		if now-last < 0.02 {
			return nil
		}
		last = now
	}
	fmt.Fprintln(os.Stderr, "idle: server still busy after 60 s; going on")
	return nil
}
