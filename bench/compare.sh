#!/usr/bin/env bash
# One comparison of Satchel with its peers, on 127.0.0.1 only:
#
#   bench/compare.sh [ingest|small|static|variants|transform|list|s3|all]...
#
#   ingest     large multipart upload and 100 MB direct upload vs tusd v2.9.1
#              and the durable ceiling (bench/run.sh: big, direct)
#   small      10 KB uploads vs the durable ceiling (bench/run.sh: small)
#   static     100 KB and 2 MB originals vs nginx and net/http's FileServer
#              (bench/cdn/run.sh: orig)
#   variants   one cached variant vs nginx, net/http's FileServer and a
#              net/http handler answering from memory (bench/cdn/run.sh: warm)
#   transform  cold 4000x3000 JPEG -> 400x300 JPEG/WebP vs imgproxy
#              ($IMGPROXY_BIN) or the stand-in bench/cdn/vipsserver
#              (bench/cdn/run.sh: cold)
#   list       REST list p50/p99 over LIST_N files vs the raw keyset query,
#              SQLite and PostgreSQL (bench/restlist)
#   s3         multipart upload through Satchel with an S3 storage URL vs
#              straight to the same S3 server (bench/s3multipart)
#
# Every scenario alternates its sides round by round (round 1 of every side,
# then round 2, ...). The run is refused (exit 1 or 3, no table) when a side
# fails or answers errors. Prints one markdown table: per scenario and side
# the median over rounds, the spread and the paired ratio to each peer, with
# the load average before and after every round. See bench/README.md.
#
# Knobs (environment):
#   ROUNDS=3          rounds of every scenario
#   DURATION=10s      length of a timed round (small, static, variants)
#   SIZE_MB=1024      large upload, MiB (ingest, s3); direct = min(100 MB, SIZE_MB)
#   COLD_N=100        cold transforms per round, format and side
#   LIST_N=1000000    files in the listed project (inserted once, kept in OUT)
#   LIST_REQUESTS=1000  requests per list measurement and round
#   LIST_DBS="sqlite pg"  databases of the list scenario
#   S3_PART_MB=       part size of the s3 scenario (default min(64, SIZE_MB/4), at least 5)
#   SATCHEL_BIN=      benchmark this satchel binary instead of building the work tree
#   IMGPROXY_BIN=     imgproxy binary: the transform peer (else the stand-in)
#   RECORD=0          1: append the report to RESULTS_MD
#   RESULTS_MD=bench/RESULTS.md
#   PORT=18600        first port (uses PORT..PORT+3 and PORT+20..PORT+36)
#   OUT=bench/out/compare   data kept between runs, and one directory per run
# Quick check (a few minutes): ROUNDS=1 DURATION=2s SIZE_MB=64 bench/compare.sh all
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
# The knobs given in the environment, for the command line of the report.
GIVEN=""
for k in ROUNDS DURATION SIZE_MB COLD_N LIST_N LIST_REQUESTS LIST_DBS S3_PART_MB SATCHEL_BIN IMGPROXY_BIN PORT OUT; do
	if [[ -n ${!k:-} ]]; then GIVEN+="$k=$(printf %q "${!k}") "; fi
done
BIN=$HERE/.bin
OUT=${OUT:-$HERE/out/compare}
# Absolute: nginx reads a relative path from its own prefix, not from here.
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
SIZE_MB=${SIZE_MB:-1024}
COLD_N=${COLD_N:-100}
LIST_N=${LIST_N:-1000000}
LIST_REQUESTS=${LIST_REQUESTS:-1000}
LIST_DBS=${LIST_DBS:-"sqlite pg"}
S3_PART_MB=${S3_PART_MB:-$((SIZE_MB / 4 > 64 ? 64 : (SIZE_MB / 4 < 5 ? 5 : SIZE_MB / 4)))}
SATCHEL_BIN=${SATCHEL_BIN:-}
IMGPROXY_BIN=${IMGPROXY_BIN:-}
RECORD=${RECORD:-0}
RESULTS_MD=${RESULTS_MD:-$HERE/RESULTS.md}
PORT=${PORT:-18600}
DIRECT_MB=$((SIZE_MB * 1048576 / 1000000 < 100 ? SIZE_MB * 1048576 / 1000000 : 100))
# What shared/PERF.md measured: imgproxy v3.31.4 = 1.18x (JPEG), 1.13x (WebP)
# a vips_thumbnail server like bench/cdn/vipsserver.
IMGPROXY_JPEG=1.18
IMGPROXY_WEBP=1.13

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'compare: %s\n' "$*" >&2; exit 1; }

ALL="ingest small static variants transform list s3"
ARGV=${*:-all}
WANT=()
for a in "${@:-all}"; do
	case $a in
	all) WANT+=($ALL) ;;
	ingest | small | static | variants | transform | list | s3) WANT+=("$a") ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//; /^set -e/d'; exit 0 ;;
	*) die "unknown scenario $a (want: $ALL all)" ;;
	esac
done
want() { [[ " ${WANT[*]} " == *" $1 "* ]]; }
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ $SIZE_MB =~ ^[1-9][0-9]*$ ]] && ((SIZE_MB >= 16)) || die "SIZE_MB must be an integer of at least 16"
[[ $DURATION =~ ^[0-9]+(ms|s|m)$ ]] || die "DURATION must look like 10s"
if [[ -n $IMGPROXY_BIN && ! -x $IMGPROXY_BIN ]]; then die "IMGPROXY_BIN=$IMGPROXY_BIN is not executable"; fi

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
RUN=$OUT/run-$STAMP
mkdir -p "$RUN" "$BIN"
export LOADLOG=$RUN/load.tsv
: >"$LOADLOG"
T0=$(date +%s)

# ---- processes this script starts itself (the tools stop their own)
S3_STARTED=0
cleanup() {
	if [[ $S3_STARTED == 1 ]]; then
		env SATCHEL_S3_DIR="$OUT/s3server" bash "$ROOT/scripts/s3server.sh" stop >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build
if [[ -n $SATCHEL_BIN ]]; then
	SATCHEL=$(readlink -f "$SATCHEL_BIN")
	[[ -x $SATCHEL ]] || die "SATCHEL_BIN=$SATCHEL_BIN is not executable"
	SATCHEL_REV="binary $SATCHEL_BIN"
	rev=$(go version -m "$SATCHEL" 2>/dev/null | awk '$2 == "vcs.revision" { print substr($3, 1, 7) }')
	if [[ -n $rev ]]; then SATCHEL_REV+=" (built from commit $rev)"; fi
	say "building the benchmark tools; satchel is $SATCHEL"
else
	SATCHEL=$BIN/satchel
	SATCHEL_REV="commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
	if [[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]]; then SATCHEL_REV+=" (work tree modified)"; fi
	say "building satchel and the benchmark tools"
	(cd "$ROOT" && go build -o "$SATCHEL" ./cmd/satchel)
fi
(cd "$ROOT" && go build -o "$BIN/compare" ./bench/cmd/compare)
want list && (cd "$ROOT" && go build -o "$BIN/restlist" ./bench/restlist)
want s3 && (cd "$ROOT" && go build -o "$BIN/s3multipart" ./bench/s3multipart)

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_START%% *}" 'BEGIN { exit !(l > 1.0) }'; then
	say "warning: load average ${LOAD_START%% *} before the run: other jobs share the CPUs, figures will be noisy"
fi

# step NAME CMD...: runs one tool; its stdout (its own report) goes to
# $RUN/NAME.out, its stderr to the terminal and $RUN/NAME.log. A failure
# stops the comparison: no table is printed for a run with a failed side.
TIMES=()
step() {
	local name=$1 t=$SECONDS rc
	shift
	say "$name: $*"
	set +e
	{ "$@" 2>&1 1>"$RUN/$name.out" | tee "$RUN/$name.log" >&2; }
	rc=${PIPESTATUS[0]}
	set -e
	if ((rc != 0)); then
		printf '\ncompare: %s failed (exit %d); not reporting this run.\n' "$name" "$rc" >&2
		tail -n 4 "$RUN/$name.log" | sed 's/^/  /' >&2
		printf '  full log: %s\n' "$RUN/$name.log" >&2
		exit 1
	fi
	TIMES+=("$name $((SECONDS - t)) s")
}

ARGS=()
NOTES=()

# ---- ingest and small: bench/run.sh
if want ingest; then
	step ingest env OUT="$OUT/upload" SATCHEL_BIN="$SATCHEL" PORT="$PORT" ONLY="big direct" \
		SIZE_MB="$SIZE_MB" ROUNDS="$ROUNDS" DIRECT_MB="$DIRECT_MB" DIRECT_ROUNDS="$ROUNDS" bash "$HERE/run.sh"
	cp "$OUT/upload/results.tsv" "$RUN/ingest.tsv"
	ARGS+=(-load "$RUN/ingest.tsv" -ref "upload-*=tusd-patch,ceiling-put-fsync" -ref "direct-*=tusd-patch,ceiling-durable")
	NOTES+=("ingest: MB/s of file content (MB = 10^6 bytes); tusd does not fsync, Satchel and the ceiling do.")
fi
if want small; then
	# The same SIZE_MB and DIRECT_MB as ingest: run.sh keeps that data file.
	step small env OUT="$OUT/upload" SATCHEL_BIN="$SATCHEL" PORT="$PORT" ONLY=small SIZE_MB="$SIZE_MB" DIRECT_MB="$DIRECT_MB" \
		SMALL_ROUNDS="$ROUNDS" DURATION="$DURATION" bash "$HERE/run.sh"
	cp "$OUT/upload/results.tsv" "$RUN/small.tsv"
	ARGS+=(-load "$RUN/small.tsv" -ref "small-*=ceiling-durable,ceiling-nodurable")
	NOTES+=("small: uploads/s over 16 connections; ceiling-durable is bench/cmd/ceiling (file + fsync + SQLite row), the durable ceiling.")
fi

# ---- static, variants, transform: bench/cdn/run.sh
cdn() { # name only
	step "$1" env OUT="$OUT/cdn" SATCHEL_BIN="$SATCHEL" IMGPROXY_BIN="$IMGPROXY_BIN" PORT=$((PORT + 20)) ONLY="$2" \
		ROUNDS="$ROUNDS" DURATION="$DURATION" COLD_N="$COLD_N" GOREF=1 bash "$HERE/cdn/run.sh"
	cp "$OUT/cdn/results.tsv" "$RUN/$1.tsv"
	ARGS+=(-cdn "$RUN/$1.tsv")
}
if want static && want variants; then
	cdn static-variants "warm orig"
elif want static; then
	cdn static orig
elif want variants; then
	cdn variants warm
fi
if want static; then
	ARGS+=(-ref "orig-*=nginx,go-servefile")
	NOTES+=("static: req/s of GET of an original (same bytes everywhere); go-servefile is net/http's FileServer, the net/http wall.")
fi
if want variants; then
	ARGS+=(-ref "warm-*=nginx,go-servefile,go-memory")
	NOTES+=("variants: req/s of one cached 400x300 variant; go-memory answers from memory with one write, the fastest net/http handler.")
fi
if want transform; then
	cdn transform cold
	if [[ -n $IMGPROXY_BIN ]]; then
		ARGS+=(-ref "cold-*=imgproxy,vipsserver")
		NOTES+=("transform: req/s of cold resizes (every request a variant-cache miss), imgproxy from $IMGPROXY_BIN.")
	else
		ARGS+=(-ref "cold-*=vipsserver" -offset "cold-jpeg:vipsserver:$IMGPROXY_JPEG:imgproxy" -offset "cold-webp:vipsserver:$IMGPROXY_WEBP:imgproxy")
		NOTES+=("transform: imgproxy was NOT run (IMGPROXY_BIN unset); the peer is the stand-in bench/cdn/vipsserver. shared/PERF.md measured imgproxy v3.31.4 at ${IMGPROXY_JPEG}× the stand-in on JPEG and ${IMGPROXY_WEBP}× on WebP; the imgproxy ratios shown are estimated from that offset, not measured.")
	fi
fi

# ---- list: bench/restlist, SQLite and PostgreSQL
if want list; then
	for db in $LIST_DBS; do
		case $db in
		sqlite)
			step list-sqlite "$BIN/restlist" -n "$LIST_N" -satchel "$SATCHEL" -dir "$OUT/list-sqlite-$LIST_N" \
				-requests "$LIST_REQUESTS" -rounds "$ROUNDS" -results "$RUN/list.tsv" ;;
		pg)
			say "list-pg: PostgreSQL from scripts/pgserver.sh"
			pgenv=$(bash "$ROOT/scripts/pgserver.sh") || die "scripts/pgserver.sh failed"
			eval "$pgenv"
			step list-pg "$BIN/restlist" -n "$LIST_N" -satchel "$SATCHEL" -dir "$OUT/list-pg" \
				-database-url "$SATCHEL_TEST_DATABASE_URL" -requests "$LIST_REQUESTS" -rounds "$ROUNDS" -results "$RUN/list.tsv" ;;
		*) die "LIST_DBS: unknown database $db (sqlite, pg)" ;;
		esac
	done
	ARGS+=(-in "$RUN/list.tsv" -ref "list-*=raw-keyset")
	NOTES+=("list: latency of GET /files/?limit=100 (first page; deep = from the middle of $LIST_N files) against the same keyset SELECT through database/sql; lower is better, so a ratio of 2× means twice the raw query's time.")
fi

# ---- s3: bench/s3multipart against versitygw (scripts/s3server.sh)
if want s3; then
	say "s3: versitygw from scripts/s3server.sh (state in $OUT/s3server)"
	mkdir -p "$OUT/s3server"
	if ! env SATCHEL_S3_DIR="$OUT/s3server" bash "$ROOT/scripts/s3server.sh" stop >/dev/null 2>&1; then :; fi
	S3_STARTED=1
	s3env=$(env SATCHEL_S3_DIR="$OUT/s3server" bash "$ROOT/scripts/s3server.sh") || die "scripts/s3server.sh failed"
	eval "$s3env"
	step s3 "$BIN/s3multipart" -size $((SIZE_MB << 20)) -part-size $((S3_PART_MB << 20)) -rounds "$ROUNDS" \
		-s3-url "$SATCHEL_TEST_S3_URL" -s3-pid "$(cat "$OUT/s3server/pid" 2>/dev/null || echo 0)" \
		-satchel-bin "$SATCHEL" -results "$RUN/s3.tsv"
	ARGS+=(-in "$RUN/s3.tsv" -ref "s3-*=direct-s3")
	NOTES+=("s3: MB/s of one multipart upload of $SIZE_MB MiB in $S3_PART_MB MiB parts, 4 in flight, through Satchel (SQLite metadata, blobs in the S3 server) against the AWS SDK straight to the same versitygw.")
fi

# ---- report
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
set +e
"$BIN/compare" report "${ARGS[@]}" -loadlog "$LOADLOG" >"$RUN/table.md" 2>"$RUN/report.err"
rc=$?
set -e
if ((rc != 0)); then
	cat "$RUN/report.err" >&2
	exit "$rc"
fi
{
	echo "## $STARTED: ${WANT[*]}"
	echo
	echo "- satchel: $SATCHEL_REV; $(go version | awk '{print $3}'); $(nproc) cores ($(uname -r))"
	echo "- knobs: ROUNDS=$ROUNDS DURATION=$DURATION SIZE_MB=$SIZE_MB COLD_N=$COLD_N LIST_N=$LIST_N LIST_REQUESTS=$LIST_REQUESTS S3_PART_MB=$S3_PART_MB"
	echo "- load average (1/5/15 min) before: $LOAD_START, after: $LOAD_END; $(($(date +%s) - T0)) s ($(IFS=,; echo "${TIMES[*]}" | sed 's/,/, /g'))"
	echo "- command: \`${GIVEN}bench/compare.sh ${ARGV}\`"
	echo
	cat "$RUN/table.md"
	echo
	for n in "${NOTES[@]}"; do echo "- $n"; done
} >"$RUN/report.md"

echo
cat "$RUN/report.md"
echo
echo "Each tool's own table (peak RSS, server CPU, latencies) is in $RUN/*.out."
if [[ $RECORD == 1 ]]; then
	if [[ ! -s $RESULTS_MD ]]; then
		results_header >"$RESULTS_MD"
	fi
	{
		echo
		cat "$RUN/report.md"
		for f in "$RUN"/*.out; do
			echo
			echo "<details><summary>$(basename "$f" .out): the tool's own report</summary>"
			echo
			cat "$f"
			echo
			echo "</details>"
		done
	} >>"$RESULTS_MD"
	say "appended to $RESULTS_MD"
fi
