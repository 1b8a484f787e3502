#!/usr/bin/env bash
# CDN benchmarks: Satchel's delivery side by side with peers, in one run, on
# 127.0.0.1 only. See bench/cdn/README.md for what is measured.
#   1 cold resize: 4000x3000 JPEG -> 400x300 JPEG / WebP, every request a
#     variant-cache miss, c=4; vs a minimal Go + libvips server
#     (bench/cdn/vipsserver) and imgproxy when IMGPROXY_BIN is set
#   2 warm: one cached variant, wrk -c 64; vs nginx serving the same file
#   3 originals: 100 KB and 2 MB files, wrk -c 64; vs nginx, same bytes
# Prints a markdown table of medians over rounds, with ratios and goals.
#
# Knobs (environment):
#   ROUNDS=3             rounds of every scenario (servers interleaved)
#   COLD_N=100           cold requests per round, format and server
#   COLD_C=4             concurrent cold requests
#   SATCHEL_WORKERS="0"  Satchel --image-workers values for the cold test,
#                        one Satchel process each (0 = Satchel's default:
#                        one per core)
#   VIPS_WORKERS=4       concurrent transforms of vipsserver
#   IMGPROXY_BIN=        imgproxy binary to compare with (optional)
#   SATCHEL_BASE_BIN=    another satchel binary (say, built from the main
#                        branch) served as "satchel-base" in every scenario
#                        (with its default workers in the cold one), for
#                        before/after in one run
#   DURATION=10s         wrk duration of every warm / original round
#   CONNS=64             wrk connections
#   THREADS=2            wrk threads
#   NGINX_WORKERS=auto   nginx worker_processes
#   GOREF=1              also serve the warm/original files with plain Go
#                        http.FileServer (bench/cdn/gostatic), for reference
#   ONLY="cold warm orig"   scenarios to run
#   PERF=0               1: perf record -g every Satchel server (slows it)
#   PORT=18300           first port (uses PORT..PORT+6 and PORT+10..)
#   OUT=bench/cdn/out    data, logs, results (gitignored)
#   SATCHEL_BIN=         benchmark this satchel binary instead of building the work tree
# Quick check: ROUNDS=1 COLD_N=20 DURATION=3s bench/cdn/run.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/../lib.sh"
BIN=$HERE/.bin
OUT=${OUT:-$HERE/out}
ROUNDS=${ROUNDS:-3}
COLD_N=${COLD_N:-100}
COLD_C=${COLD_C:-4}
SATCHEL_WORKERS=${SATCHEL_WORKERS:-"0"}
VIPS_WORKERS=${VIPS_WORKERS:-4}
IMGPROXY_BIN=${IMGPROXY_BIN:-}
SATCHEL_BASE_BIN=${SATCHEL_BASE_BIN:-}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
NGINX_WORKERS=${NGINX_WORKERS:-auto}
GOREF=${GOREF:-1}
ONLY=${ONLY:-"cold warm orig"}
PERF=${PERF:-0}
PORT=${PORT:-18300}
SATCHEL_BIN=${SATCHEL_BIN:-}
SATCHEL=${SATCHEL_BIN:-$BIN/satchel}
PUB=benchpub
SECRET=benchsecret
HOST=127.0.0.1
W=400
H=300

DATA=$OUT/data
LOGS=$OUT/logs
SRV=$OUT/srv
RESULTS=$OUT/results.tsv
T0=$(date +%s)

say() { printf '== %s\n' "$*" >&2; }
has() { [[ " $ONLY " == *" $1 "* ]]; }

# ---- processes: everything started here is stopped on exit, data removed
PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$SRV"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() { # url
	local i
	for i in $(seq 150); do
		if curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "server at $1 did not come up" >&2
	return 1
}

port_free() {
	if curl -s -o /dev/null --max-time 1 "http://$HOST:$1/"; then
		echo "port $1 is already in use: set PORT" >&2
		exit 1
	fi
}

# Each start_* sets LAST_PID.
start_satchel() { # name port [extra flags...]; SATCHEL_EXE overrides the binary
	local name=$1 port=$2
	shift 2
	port_free "$port"
	mkdir -p "$SRV/$name"
	SATCHEL_DEMO_PUBLIC_KEY=$PUB SATCHEL_DEMO_SECRET_KEY=$SECRET \
		"${SATCHEL_EXE:-$SATCHEL}" serve --addr "$HOST:$port" --data-dir "$SRV/$name" --rate-limit 0 "$@" \
		>"$LOGS/$name.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
	wait_http "http://$HOST:$port/healthz"
}

start_vipsserver() { # port
	port_free "$1"
	MALLOC_ARENA_MAX=2 "$BIN/vipsserver" -addr "$HOST:$1" -root "$DATA" -workers "$VIPS_WORKERS" \
		>"$LOGS/vipsserver.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
	wait_http "http://$HOST:$1/healthz"
}

start_imgproxy() { # port
	port_free "$1"
	IMGPROXY_BIND=$HOST:$1 IMGPROXY_LOCAL_FILESYSTEM_ROOT=$DATA \
		"$IMGPROXY_BIN" >"$LOGS/imgproxy.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
	wait_http "http://$HOST:$1/health"
}

start_gostatic() { # port root [-mem]
	port_free "$1"
	"$BIN/gostatic" -addr "$HOST:$1" -root "$2" ${3:-} >"$LOGS/gostatic${3:-}.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
	wait_http "http://$HOST:$1/healthz"
}

start_nginx() { # port root
	local ng=$SRV/nginx
	port_free "$1"
	mkdir -p "$ng/tmp"
	cat >"$ng/nginx.conf" <<-EOF
		worker_processes $NGINX_WORKERS;
		daemon off;
		pid $ng/nginx.pid;
		error_log $ng/error.log warn;
		events { worker_connections 4096; }
		http {
			access_log off;
			sendfile on;
			tcp_nopush on;
			tcp_nodelay on;
			keepalive_timeout 65;
			keepalive_requests 1000000;
			client_body_temp_path $ng/tmp;
			types { image/jpeg jpg; image/webp webp; application/octet-stream bin; }
			default_type application/octet-stream;
			server {
				listen $HOST:$1;
				root $2;
				location = /healthz { return 200 "ok\\n"; }
			}
		}
	EOF
	nginx -e "$ng/error.log" -c "$ng/nginx.conf" >"$LOGS/nginx.log" 2>&1 &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
	wait_http "http://$HOST:$1/healthz"
}

# pids of a process and its children (nginx master + workers).
family() { # pid
	local kids
	kids=$(pgrep -P "$1" | paste -sd, - || true)
	echo "$1${kids:+,$kids}"
}

# Peak RSS is measured from here on (uploads and setup before do not count).
reset_hwm() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || say "cannot reset VmHWM of $1: peak includes the setup"; }

PERFPID=""
perf_start() { # name pid
	if [[ $PERF == 1 && $1 == satchel* ]] && command -v perf >/dev/null; then
		perf record -q -F 499 -g -p "$2" -o "$OUT/perf-$1-$(date +%s%N).data" >/dev/null 2>&1 &
		PERFPID=$!
		PIDS+=("$PERFPID")
		sleep 0.3
	fi
}
perf_stop() {
	if [[ -n $PERFPID ]]; then
		kill -INT "$PERFPID" 2>/dev/null || true
		wait "$PERFPID" 2>/dev/null || true
		PERFPID=""
	fi
}

cold() { # scenario server pids format (-urls F | -url U -n N)
	local sc=$1 sv=$2 pids=$3 fmt=$4
	shift 4
	perf_start "$sv" "${pids%%,*}"
	"$BIN/cdnload" cold -scenario "$sc" -server "$sv" -round "$ROUND" -pids "$pids" -c "$COLD_C" \
		-format "$fmt" -w "$W" -h "$H" "$@" | tee -a "$RESULTS" >&2 || side_failed "$sv" "$sc round $ROUND"
	perf_stop
}

hammer() { # scenario server pids url expect-file
	perf_start "$2" "${3%%,*}"
	"$BIN/cdnload" hammer -scenario "$1" -server "$2" -round "$ROUND" -pids "$3" -url "$4" -expect "$5" \
		-c "$CONNS" -t "$THREADS" -d "$DURATION" | tee -a "$RESULTS" >&2 || side_failed "$2" "$1 round $ROUND"
	perf_stop
}

# ---- tools
mkdir -p "$BIN" "$DATA" "$LOGS"
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
	say "installing nginx and wrk with apt-get (log: $LOGS/apt.log)"
	if [[ $(id -u) == 0 ]]; then
		(apt-get install -y nginx-light wrk || { apt-get update && apt-get install -y nginx-light wrk; } ||
			apt-get install -y nginx wrk) >"$LOGS/apt.log" 2>&1 || true
	fi
fi
command -v nginx >/dev/null || { echo "nginx is required (apt-get install nginx-light)" >&2; exit 1; }
command -v wrk >/dev/null || say "wrk is missing: the warm and original rounds use the Go client (slower client, lower figures for every server)"
if [[ -n $SATCHEL_BASE_BIN && ! -x $SATCHEL_BASE_BIN ]]; then
	echo "SATCHEL_BASE_BIN=$SATCHEL_BASE_BIN is not executable" >&2
	exit 1
fi
if [[ -n $IMGPROXY_BIN && ! -x $IMGPROXY_BIN ]]; then
	echo "IMGPROXY_BIN=$IMGPROXY_BIN is not executable" >&2
	exit 1
fi

rm -rf "$SRV"
mkdir -p "$SRV"
if [[ -n $SATCHEL_BIN ]]; then
	say "building cdnload, vipsserver, gostatic; satchel is $SATCHEL_BIN"
else
	say "building satchel, cdnload, vipsserver, gostatic"
	(cd "$ROOT" && go build -o "$BIN/satchel" ./cmd/satchel)
fi
(cd "$ROOT" && go build -o "$BIN/cdnload" ./bench/cdn/cdnload &&
	go build -o "$BIN/vipsserver" ./bench/cdn/vipsserver && go build -o "$BIN/gostatic" ./bench/cdn/gostatic)

# ---- data (deterministic; kept between runs)
[[ -s $DATA/photo.jpg ]] || "$BIN/cdnload" photo -out "$DATA/photo.jpg" -w 4000 -h 3000 -q 90
[[ -s $DATA/orig-100KB.bin ]] || "$BIN/cdnload" bytes -out "$DATA/orig-100KB.bin" -size 100000 -seed 1
[[ -s $DATA/orig-2MB.bin ]] || "$BIN/cdnload" bytes -out "$DATA/orig-2MB.bin" -size 2000000 -seed 2
PHOTO_BYTES=$(stat -c %s "$DATA/photo.jpg")
need_mb=$((PHOTO_BYTES * ROUNDS * COLD_N * ($(wc -w <<<"$SATCHEL_WORKERS") + 1) / 1000000 + 500))
avail_mb=$(df -Pm "$OUT" | awk 'NR==2 {print $4}')
if ((avail_mb < need_mb)); then
	echo "only $avail_mb MB free under $OUT, need about $need_mb MB" >&2
	exit 1
fi
sync
: >"$RESULTS"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_START%% *}" 'BEGIN { exit !(l > 1.0) }'; then
	say "warning: load average ${LOAD_START%% *} before the run: other jobs share the CPUs, figures will be noisy"
fi
REFS=()
GOALS=()

# ---- 1: cold resize
if has cold; then
	say "scenario 1: cold resize, $ROUNDS round(s) x $COLD_N requests per format and server, c=$COLD_C"
	K=$((ROUNDS * COLD_N))
	snames=() spids=() sports=()
	i=0
	cold_sides=()
	for wk in $SATCHEL_WORKERS; do cold_sides+=("$wk"); done
	# The other build, with its own default workers, for before/after.
	[[ -n $SATCHEL_BASE_BIN ]] && cold_sides+=(base)
	for wk in "${cold_sides[@]}"; do
		name=satchel
		[[ $wk != 0 ]] && name=satchel-w$wk
		[[ $wk == base ]] && name=satchel-base
		port=$((PORT + 10 + i))
		flags=()
		[[ $wk != 0 && $wk != base ]] && flags=(--image-workers "$wk")
		if [[ $wk == base ]]; then
			SATCHEL_EXE=$SATCHEL_BASE_BIN start_satchel "$name" "$port"
		else
			start_satchel "$name" "$port" "${flags[@]}"
		fi
		say "$name: uploading the photo $K times"
		"$BIN/cdnload" upload -base "http://$HOST:$port" -pub "$PUB" -file "$DATA/photo.jpg" -n "$K" -c 4 \
			-out "$SRV/$name.uuids"
		"$BIN/cdnload" idle -pids "$LAST_PID"
		reset_hwm "$LAST_PID"
		snames+=("$name") spids+=("$LAST_PID") sports+=("$port")
		i=$((i + 1))
	done
	start_vipsserver $((PORT + 1))
	VIPS_PID=$LAST_PID
	cold_servers=("${snames[@]}" vipsserver)
	refs=vipsserver
	if [[ -n $IMGPROXY_BIN ]]; then
		start_imgproxy $((PORT + 2))
		IMGPROXY_PID=$LAST_PID
		cold_servers+=(imgproxy)
		refs=vipsserver,imgproxy
	else
		say "IMGPROXY_BIN is not set: imgproxy is not compared (shared/PERF.md: imgproxy = 1.18x (JPEG), 1.13x (WebP) a vips_thumbnail server)"
	fi
	REFS+=(-ref "cold-*=$refs")
	for s in "${snames[@]}"; do
		if [[ -n $IMGPROXY_BIN ]]; then
			GOALS+=(-goal "rps:cold-*:$s:imgproxy:1.0" -rss-goal "cold-*:$s:192")
		else
			# Stand-in for "as fast as imgproxy": shared/PERF.md measured
			# imgproxy at 1.18x (JPEG) and 1.13x (WebP) a vips_thumbnail server.
			GOALS+=(-goal "rps:cold-jpeg:$s:vipsserver:1.18" -goal "rps:cold-webp:$s:vipsserver:1.13" -rss-goal "cold-*:$s:192")
		fi
	done
	for ((r = 1; r <= ROUNDS; r++)); do
		ROUND=$r
		round_load cold "$r" before
		for fmt in jpeg webp; do
			n=${#cold_servers[@]}
			for ((j = 0; j < n; j++)); do # rotate the order every round
				sv=${cold_servers[$(((j + r - 1) % n))]}
				case $sv in
				vipsserver)
					cold "cold-$fmt" vipsserver "$VIPS_PID" "$fmt" -n "$COLD_N" \
						-url "http://$HOST:$((PORT + 1))/thumb?path=$DATA/photo.jpg&w=$W&h=$H&format=$fmt" ;;
				imgproxy)
					ext=jpg
					[[ $fmt == webp ]] && ext=webp
					cold "cold-$fmt" imgproxy "$IMGPROXY_PID" "$fmt" -n "$COLD_N" \
						-url "http://$HOST:$((PORT + 2))/insecure/rs:fit:$W:$H/plain/local:///photo.jpg@$ext" ;;
				*)
					for ((k = 0; k < ${#snames[@]}; k++)); do [[ ${snames[$k]} == "$sv" ]] && break; done
					sed -n "$(((r - 1) * COLD_N + 1)),$((r * COLD_N))p" "$SRV/$sv.uuids" |
						sed "s#^#http://$HOST:${sports[$k]}/#; s#\$#/-/resize/${W}x$H/-/format/$fmt/#" >"$SRV/urls"
					cold "cold-$fmt" "$sv" "${spids[$k]}" "$fmt" -urls "$SRV/urls" ;;
				esac
			done
		done
		round_load cold "$r" after
	done
	for pid in "${spids[@]}" "$VIPS_PID" ${IMGPROXY_PID:-}; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
	for s in "${snames[@]}"; do rm -rf "${SRV:?}/$s"; done
fi

# ---- 2 and 3: warm variant and originals vs nginx
if has warm || has orig; then
	say "scenarios 2-3: warm variant and originals vs nginx, $ROUNDS round(s) x $DURATION, c=$CONNS"
	SP=$((PORT + 3))
	NP=$((PORT + 4))
	start_satchel satchel-static "$SP"
	SAT_PID=$LAST_PID
	NGROOT=$SRV/nginx-root
	mkdir -p "$NGROOT"
	"$BIN/cdnload" upload -base "http://$HOST:$SP" -pub "$PUB" -file "$DATA/photo.jpg" -n 1 -out "$SRV/photo.uuid" 2>/dev/null
	PHOTO_UUID=$(cat "$SRV/photo.uuid")
	WARM_URL=http://$HOST:$SP/$PHOTO_UUID/-/resize/${W}x$H/-/format/jpeg/
	curl -fsS -o /dev/null "$WARM_URL"
	variant=$(find "$SRV/satchel-static/variants/$PHOTO_UUID" -type f -name '*.jpg' | head -1)
	[[ -n $variant ]] || { echo "no cached variant under $SRV/satchel-static/variants/$PHOTO_UUID" >&2; exit 1; }
	cp "$variant" "$NGROOT/variant.jpg"
	declare -A ORIG_UUID
	for sz in 100KB 2MB; do
		"$BIN/cdnload" upload -base "http://$HOST:$SP" -pub "$PUB" -file "$DATA/orig-$sz.bin" -n 1 -out "$SRV/$sz.uuid" 2>/dev/null
		ORIG_UUID[$sz]=$(cat "$SRV/$sz.uuid")
		cp "$DATA/orig-$sz.bin" "$NGROOT/orig-$sz.bin"
	done
	static_servers=(satchel nginx)
	if [[ -n $SATCHEL_BASE_BIN ]]; then
		BP=$((PORT + 7))
		SATCHEL_EXE=$SATCHEL_BASE_BIN start_satchel satchel-base "$BP"
		BASE_PID=$LAST_PID
		"$BIN/cdnload" upload -base "http://$HOST:$BP" -pub "$PUB" -file "$DATA/photo.jpg" -n 1 -out "$SRV/base-photo.uuid" 2>/dev/null
		BASE_WARM_URL=http://$HOST:$BP/$(cat "$SRV/base-photo.uuid")/-/resize/${W}x$H/-/format/jpeg/
		curl -fsS -o /dev/null "$BASE_WARM_URL"
		declare -A BASE_UUID
		for sz in 100KB 2MB; do
			"$BIN/cdnload" upload -base "http://$HOST:$BP" -pub "$PUB" -file "$DATA/orig-$sz.bin" -n 1 -out "$SRV/base-$sz.uuid" 2>/dev/null
			BASE_UUID[$sz]=$(cat "$SRV/base-$sz.uuid")
		done
		"$BIN/cdnload" idle -pids "$BASE_PID"
		reset_hwm "$BASE_PID"
		static_servers+=(satchel-base)
	fi
	chmod -R a+rX "$SRV"
	start_nginx "$NP" "$NGROOT"
	NGX_PIDS=$(family "$LAST_PID")
	refs=nginx
	if [[ $GOREF == 1 ]]; then
		GP=$((PORT + 5))
		start_gostatic "$GP" "$NGROOT"
		GO_PID=$LAST_PID
		GM=$((PORT + 6))
		start_gostatic "$GM" "$NGROOT" -mem
		GOMEM_PID=$LAST_PID
		static_servers+=(go-servefile go-memory)
		refs=nginx,go-servefile,go-memory
	fi
	"$BIN/cdnload" idle -pids "$SAT_PID"
	reset_hwm "$SAT_PID"
	REFS+=(-ref "warm-*=$refs" -ref "orig-*=$refs")
	GOALS+=(-goal "rps:warm-*:satchel:nginx:0.8" -goal "rps:orig-100KB:satchel:nginx:0.9" -goal "mbps:orig-2MB:satchel:nginx:1.0")
	cases=()
	has warm && cases+=(warm)
	has orig && cases+=(100KB 2MB)
	for ((r = 1; r <= ROUNDS; r++)); do
		ROUND=$r
		round_load "${cases[*]}" "$r" before
		for c in "${cases[@]}"; do
			# go-memory (bytes from memory, one write) is the reference for
			# the small cached variant only.
			list=()
			for s in "${static_servers[@]}"; do [[ $s == go-memory && $c != warm ]] || list+=("$s"); done
			n=${#list[@]}
			for ((j = 0; j < n; j++)); do # rotate the order every round
				sv=${list[$(((j + r - 1) % n))]}
				if [[ $c == warm ]]; then
					sc=warm-jpeg-${W}x$H file=variant.jpg surl=$WARM_URL expect=$NGROOT/variant.jpg burl=${BASE_WARM_URL:-}
				else
					sc=orig-$c file=orig-$c.bin surl=http://$HOST:$SP/${ORIG_UUID[$c]}/ expect=$DATA/orig-$c.bin
					[[ -n $SATCHEL_BASE_BIN ]] && burl=http://$HOST:$BP/${BASE_UUID[$c]}/
				fi
				case $sv in
				satchel) hammer "$sc" satchel "$SAT_PID" "$surl" "$expect" ;;
				satchel-base) hammer "$sc" satchel-base "$BASE_PID" "$burl" "$expect" ;;
				nginx) hammer "$sc" nginx "$NGX_PIDS" "http://$HOST:$NP/$file" "$expect" ;;
				go-servefile) hammer "$sc" go-servefile "$GO_PID" "http://$HOST:$GP/$file" "$expect" ;;
				go-memory) hammer "$sc" go-memory "$GOMEM_PID" "http://$HOST:$GM/$file" "$expect" ;;
				esac
			done
		done
		round_load "${cases[*]}" "$r" after
	done
fi

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "CDN benchmarks, $(date -u +%Y-%m-%d), $(nproc) cores, load average before/after: $LOAD_START / $LOAD_END, $(($(date +%s) - T0)) s"
echo "(medians over $ROUNDS rounds; MB = 10^6 bytes of response bodies; peak RSS = VmHWM, summed over nginx's processes)"
echo
"$BIN/cdnload" report -in "$RESULTS" "${REFS[@]}" "${GOALS[@]}"
