#!/usr/bin/env bash
# Upload benchmarks: Satchel side by side with tusd (v2.9.1, filestore) and a
# minimal durable Go handler ("ceiling", bench/cmd/ceiling), in one run, on
# 127.0.0.1 only. See
# bench/README.md for what is measured. Prints a markdown table of medians.
#
# Knobs (environment):
#   SIZE_MB=1024         large upload, MiB (scenario 1)
#   ROUNDS=3             rounds of scenario 1 (each server, interleaved; every
#                        scenario rotates the order of its servers each round)
#   PART_SIZES="5242880 67108864"   Satchel multipart part sizes tried
#   WORKERS=4            parts in flight
#   DIRECT_MB=100        direct upload, MB = 10^6 bytes (scenario 2)
#   DIRECT_ROUNDS=5      rounds of scenario 2
#   DURATION=10s         run time of each small-upload round (scenario 3)
#   SMALL_ROUNDS=3       rounds of scenario 3
#   SMALL_BYTES=10000    small file size
#   CONC=16              small-upload connections
#   MAX_REQS=200000      cap on requests of one small-upload round
#   ONLY="big direct small"   scenarios to run
#   PERF=0               1: perf record every Satchel server (slows it; off for figures)
#   PORT=18080           first of the ports used (PORT..PORT+4 with two part sizes)
#   SATCHEL_BIN=         benchmark this satchel binary instead of building the work tree
#   SATCHEL_BASE_BIN=    small uploads: also run this satchel binary (say, main's) as
#                        satchel-old in the same rounds, on PORT+3
#   OUT=bench/out        data, logs and results (gitignored)
#   SRV=$OUT/srv         where the servers' data directories are made (removed on exit)
# Quick run: SIZE_MB=256 ROUNDS=1 DIRECT_ROUNDS=1 SMALL_ROUNDS=1 DURATION=3s bench/run.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
BIN=$HERE/.bin
OUT=${OUT:-$HERE/out}
SIZE_MB=${SIZE_MB:-1024}
ROUNDS=${ROUNDS:-3}
PART_SIZES=${PART_SIZES:-"5242880 67108864"}
WORKERS=${WORKERS:-4}
DIRECT_MB=${DIRECT_MB:-100}
DIRECT_ROUNDS=${DIRECT_ROUNDS:-5}
DURATION=${DURATION:-10s}
SMALL_ROUNDS=${SMALL_ROUNDS:-3}
SMALL_BYTES=${SMALL_BYTES:-10000}
CONC=${CONC:-16}
MAX_REQS=${MAX_REQS:-200000}
ONLY=${ONLY:-"big direct small"}
PERF=${PERF:-0}
PORT=${PORT:-18080}
SATCHEL_BIN=${SATCHEL_BIN:-}
TUSD_VERSION=v2.9.1
PUB=benchpub
SECRET=benchsecret
HOST=127.0.0.1

SIZE=$((SIZE_MB * 1024 * 1024))
DIRECT=$((DIRECT_MB * 1000000))
RESULTS=$OUT/results.tsv
LOGS=$OUT/logs
SRV=${SRV:-$OUT/srv}

say() { printf '== %s\n' "$*" >&2; }

# ---- processes: every server and perf recorder started here is killed on exit
PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$SRV"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() { # url log
	local i
	for i in $(seq 300); do
		if curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "server at $1 did not come up in 30 s; its log ($2):" >&2
	tail -5 "$2" >&2
	return 1
}

port_free() {
	if curl -s -o /dev/null --max-time 1 "http://$HOST:$1/"; then
		echo "port $1 is already in use: set PORT" >&2
		exit 1
	fi
}

# Each start_* sets LAST_PID; the server's files live in $SRV/<name>.
start_satchel() { # name port
	local dir=$SRV/$1
	port_free "$2"
	mkdir -p "$dir"
	SATCHEL_DEMO_PUBLIC_KEY=$PUB SATCHEL_DEMO_SECRET_KEY=$SECRET \
		"${SATCHEL_EXE:-$SATCHEL}" serve --addr "$HOST:$2" --data-dir "$dir" --rate-limit 0 \
		--max-direct-upload $((DIRECT > 100000000 ? DIRECT : 100000000)) >"$LOGS/$1.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
	wait_http "http://$HOST:$2/healthz" "$LOGS/$1.log"
}

start_tusd() { # name port
	local dir=$SRV/$1
	port_free "$2"
	mkdir -p "$dir"
	"$BIN/tusd" -host "$HOST" -port "$2" -upload-dir "$dir" >"$LOGS/$1.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
	wait_http "http://$HOST:$2/" "$LOGS/$1.log"
}

start_ceiling() { # name port durable
	local dir=$SRV/$1
	port_free "$2"
	mkdir -p "$dir"
	"$BIN/ceiling" -addr "$HOST:$2" -dir "$dir" -durable="$3" >"$LOGS/$1.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
	wait_http "http://$HOST:$2/healthz" "$LOGS/$1.log"
}

stop() { # pid name
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	rm -rf "${SRV:?}/$2"
}

# measure name pid load-args...: one round, result line appended to $RESULTS.
measure() {
	local name=$1 pid=$2 perfpid=""
	shift 2
	if [[ $PERF == 1 && $name == satchel* ]]; then
		perf record -q -F 499 -g -p "$pid" -o "$OUT/perf-$name-$(date +%s%N).data" >/dev/null 2>&1 &
		perfpid=$!
		PIDS+=("$perfpid")
		sleep 0.3
	fi
	"$BIN/load" "$@" -server "$name" -pid "$pid" | tee -a "$RESULTS" >&2 || side_failed "$name" "load $*"
	if [[ -n $perfpid ]]; then
		kill -INT "$perfpid" 2>/dev/null || true
		wait "$perfpid" 2>/dev/null || true
	fi
}

# Drop the uploaded bytes of a server (keeping its database) and write back
# every dirty page, so that no round pays for the previous one's writeback.
drop_uploads() { # name
	local dir=$SRV/$1
	case $1 in
	satchel*) rm -rf "$dir/blobs" "$dir/multipart"/* ; mkdir -p "$dir/blobs" ;;
	tusd*) find "$dir" -mindepth 1 -delete ;;
	ceiling*) rm -rf "$dir/blobs" && mkdir -p "$dir/blobs" ;;
	esac
	sync
}

# ---- build
mkdir -p "$BIN" "$LOGS" "$SRV"
if [[ -n $SATCHEL_BIN ]]; then
	SATCHEL=$SATCHEL_BIN
	SATCHEL_REV=$SATCHEL_BIN
	say "building load, ceiling; satchel is $SATCHEL"
else
	SATCHEL=$BIN/satchel
	SATCHEL_REV="work tree at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
	if [[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]]; then SATCHEL_REV+=" (modified)"; fi
	say "building satchel, load, ceiling"
	(cd "$ROOT" && go build -o "$SATCHEL" ./cmd/satchel)
fi
(cd "$ROOT" && go build -o "$BIN/load" ./bench/cmd/load && go build -o "$BIN/ceiling" ./bench/cmd/ceiling)
if ! go version -m "$BIN/tusd" 2>/dev/null | grep -q "github.com/tus/tusd/v2[[:space:]]*$TUSD_VERSION"; then
	say "installing tusd $TUSD_VERSION into $BIN"
	(cd "$HERE" && GOBIN=$BIN go install "github.com/tus/tusd/v2/cmd/tusd@$TUSD_VERSION")
fi

# ---- disk and data
need_mb=$((SIZE_MB * 3 + DIRECT_MB * 4 + 2048))
avail_mb=$(df -Pm "$OUT" | awk 'NR==2 {print $4}')
if ((avail_mb < need_mb)); then
	echo "only ${avail_mb} MB free under $OUT, need about ${need_mb} MB" >&2
	exit 1
fi
if ((DIRECT > SIZE)); then
	echo "DIRECT_MB must not exceed SIZE_MB (MiB)" >&2
	exit 1
fi
say "data: $SIZE_MB MiB file, $DIRECT_MB MB direct body ($OUT)"
find "$OUT" -maxdepth 1 -name 'data-*.bin' ! -name "data-$SIZE_MB.bin" -delete
"$BIN/load" gen -data "$OUT/data-$SIZE_MB.bin" -size "$SIZE" \
	-direct-body "$OUT/direct.body" -direct-size "$DIRECT" -pub "$PUB"
sync
: >"$RESULTS"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_START%% *}" 'BEGIN { exit !(l > 1.0) }'; then
	say "warning: load average ${LOAD_START%% *} before the run: other jobs share the CPUs, figures will be noisy"
fi

has() { [[ " $ONLY " == *" $1 "* ]]; }

# rotated N R prints the side indexes 0..N-1 of round R, the order rotated
# by one each round (A B C, then B C A, then C A B; A B, then B A), so that
# no side always runs first, on a machine warmed or tired by the others.
rotated() {
	local j
	for ((j = 0; j < $1; j++)); do echo $(((j + $2 - 1) % $1)); done
}

# ---- 1: large upload: Satchel multipart (one server per part size) vs tusd
if has big; then
	say "scenario 1: $SIZE_MB MiB upload, $ROUNDS round(s)"
	names=() pids=() argsets=()
	p=$PORT
	for ps in $PART_SIZES; do
		n="satchel-multipart-$((ps / 1048576))MiB-x$WORKERS"
		start_satchel "$n" "$p"
		names+=("$n") pids+=("$LAST_PID")
		argsets+=("multipart -url http://$HOST:$p -pub $PUB -data $OUT/data-$SIZE_MB.bin -size $SIZE -part-size $ps -workers $WORKERS")
		p=$((p + 1))
	done
	start_tusd tusd-patch "$p"
	names+=(tusd-patch) pids+=("$LAST_PID")
	argsets+=("tus -url http://$HOST:$p/files/ -data $OUT/data-$SIZE_MB.bin -size $SIZE")
	p=$((p + 1))
	start_ceiling ceiling-put-fsync "$p" true
	names+=(ceiling-put-fsync) pids+=("$LAST_PID")
	argsets+=("put -url http://$HOST:$p/put/ -data $OUT/data-$SIZE_MB.bin -size $SIZE")
	for r in $(seq "$ROUNDS"); do
		round_load "upload-${SIZE_MB}MiB" "$r" before
		for i in $(rotated "${#names[@]}" "$r"); do
			# shellcheck disable=SC2086 # argsets are word lists by design
			measure "${names[$i]}" "${pids[$i]}" ${argsets[$i]} -scenario "upload-${SIZE_MB}MiB" -round "$r"
			drop_uploads "${names[$i]}"
		done
		round_load "upload-${SIZE_MB}MiB" "$r" after
	done
	for i in "${!names[@]}"; do stop "${pids[$i]}" "${names[$i]}"; done
fi

# ---- 2: direct upload: Satchel POST /base/ vs tusd (one PATCH)
if has direct; then
	say "scenario 2: $DIRECT_MB MB direct upload, $DIRECT_ROUNDS round(s)"
	start_satchel satchel-base "$PORT"
	spid=$LAST_PID
	start_tusd tusd-patch "$((PORT + 1))"
	tpid=$LAST_PID
	start_ceiling ceiling-durable "$((PORT + 2))" true
	cpid=$LAST_PID
	names=(satchel-base tusd-patch ceiling-durable) pids=("$spid" "$tpid" "$cpid")
	argsets=("direct -url http://$HOST:$PORT -body $OUT/direct.body -size $DIRECT"
		"tus -url http://$HOST:$((PORT + 1))/files/ -data $OUT/data-$SIZE_MB.bin -size $DIRECT"
		"direct -url http://$HOST:$((PORT + 2)) -body $OUT/direct.body -size $DIRECT")
	for r in $(seq "$DIRECT_ROUNDS"); do
		round_load "direct-${DIRECT_MB}MB" "$r" before
		for i in $(rotated "${#names[@]}" "$r"); do
			# shellcheck disable=SC2086 # argsets are word lists by design
			measure "${names[$i]}" "${pids[$i]}" ${argsets[$i]} -scenario "direct-${DIRECT_MB}MB" -round "$r"
			drop_uploads "${names[$i]}"
		done
		round_load "direct-${DIRECT_MB}MB" "$r" after
	done
	stop "$spid" satchel-base
	stop "$tpid" tusd-patch
	stop "$cpid" ceiling-durable
fi

# ---- 3: small uploads: Satchel vs the minimal handler, durable and not
if has small; then
	say "scenario 3: ${SMALL_BYTES}-byte uploads, $CONC connections, $SMALL_ROUNDS round(s) of $DURATION"
	start_satchel satchel-base "$PORT"
	spid=$LAST_PID
	start_ceiling ceiling-durable "$((PORT + 1))" true
	cpid=$LAST_PID
	start_ceiling ceiling-nodurable "$((PORT + 2))" false
	npid=$LAST_PID
	small="-pub $PUB -file-size $SMALL_BYTES -c $CONC -duration $DURATION -max $MAX_REQS -scenario small-${SMALL_BYTES}B-c$CONC"
	names=(satchel-base ceiling-durable ceiling-nodurable) pids=("$spid" "$cpid" "$npid") ports=("$PORT" "$((PORT + 1))" "$((PORT + 2))")
	if [[ -n ${SATCHEL_BASE_BIN:-} ]]; then
		# Another Satchel binary (say, main's) in the same rounds, for an A/B.
		SATCHEL_EXE=$SATCHEL_BASE_BIN start_satchel satchel-old "$((PORT + 3))"
		names+=(satchel-old) pids+=("$LAST_PID") ports+=("$((PORT + 3))")
	fi
	for r in $(seq "$SMALL_ROUNDS"); do
		round_load "small-${SMALL_BYTES}B-c$CONC" "$r" before
		for i in $(rotated "${#names[@]}" "$r"); do
			# shellcheck disable=SC2086
			measure "${names[$i]}" "${pids[$i]}" small -url "http://$HOST:${ports[$i]}/base/" $small -round "$r"
			sync
		done
		round_load "small-${SMALL_BYTES}B-c$CONC" "$r" after
	done
	stop "$spid" satchel-base
	stop "$cpid" ceiling-durable
	stop "$npid" ceiling-nodurable
	if [[ -n ${SATCHEL_BASE_BIN:-} ]]; then stop "${pids[3]}" satchel-old; fi
fi

# ---- report
echo
echo "Satchel upload benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(go version | awk '{print $3}'),"
echo "satchel: $SATCHEL_REV"
echo "load average before: $LOAD_START, after: $(cut -d' ' -f1-3 /proc/loadavg) (anything near 2 means another job shared the CPUs)"
echo
"$BIN/load" report -in "$RESULTS" \
	-ref "upload-${SIZE_MB}MiB=tusd-patch" -ref "upload-${SIZE_MB}MiB=ceiling-put-fsync" \
	-ref "direct-${DIRECT_MB}MB=tusd-patch" -ref "direct-${DIRECT_MB}MB=ceiling-durable" \
	-ref "small-${SMALL_BYTES}B-c$CONC=ceiling-durable" -ref "small-${SMALL_BYTES}B-c$CONC=ceiling-nodurable"
echo
echo "MB = 10^6 bytes; medians over rounds; peak RSS = VmHWM of the server process; server CPU = its user+system"
echo "time per GB or per upload. tusd does not fsync; Satchel and ceiling-durable fsync every upload."
