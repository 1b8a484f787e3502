# Shell pieces the benchmark scripts share; source it (bash).
#
#   round_load LABEL ROUND before|after
#       append the load average to $LOADLOG (when set): bench/compare.sh
#       records it around every round of every scenario.
#   side_failed SIDE WHAT
#       say that a side failed and stop the script (exit 1): a run with a
#       failing side is not reported.

round_load() { # label round before|after
	[[ -n ${LOADLOG:-} ]] || return 0
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$LOADLOG"
}

side_failed() { # side what
	printf '== side %s failed: %s\n' "$1" "$2" >&2
	exit 1
}

# results_header prints the head of bench/RESULTS.md, which bench/compare.sh
# creates with it when missing and then appends its reports to (RECORD=1).
results_header() {
	cat <<'HEAD'
# Benchmark results

Reports of `bench/compare.sh` appended with `RECORD=1`, newest last. Each report is one run on one machine:
Satchel and every peer were started by the script, on 127.0.0.1, and measured in alternating rounds (round 1
of every side, then round 2, …), so only figures of the same report can be compared with each other.

How to read a table:

- **median**: the median over rounds of the side's figure in that round; **min–max**: the lowest and highest
  round; **±**: half of that range relative to the median, the round-to-round noise. A ratio smaller than the
  ± of the two sides is not a difference.
- **ratio**: the median over rounds of *this side's figure ÷ the peer's figure in the same round* (the sides of
  one round ran back to back, so a noisy neighbour hits them alike); `peer` marks the peer's own row. For
  MB/s, req/s and uploads/s higher is better; for latencies (`ms`) lower is better, so 2× means twice as slow.
- Estimated ratios (`≈ … (estimated: ÷ f)`) come from a factor measured elsewhere (see the report's notes), not
  from this run.
- The load average before and after every round, the number of cores, the commit and the knobs are in each
  report: a run whose load average exceeds the number of cores was sharing the CPUs and is worth little.
- A run in which any side failed or answered errors is never recorded: the script refuses to report it.
HEAD
}
