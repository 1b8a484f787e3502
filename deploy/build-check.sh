#!/usr/bin/env bash
# Checks deploy/Dockerfile's stages without a container engine (none runs on
# the development and CI machines). It reads the Dockerfile itself, so the two
# cannot drift apart silently, and on this Debian host:
#
#   build stage:   installs the stage's apt packages when missing and runs its
#                  `go build` command as written (same flags) into a temporary
#                  directory instead of /out;
#   runtime stage: installs the stage's apt packages when missing, checks that
#                  the binary finds every shared library, then starts the
#                  ENTRYPOINT + CMD as the USER's uid:gid with only the ENV
#                  variables (and PATH), a fresh data dir made like the image's,
#                  and the port changed to a free one; runs the HEALTHCHECK
#                  command against it, checks /readyz, and stops it with the
#                  STOPSIGNAL, expecting a clean exit.
#
# Run it as root from anywhere: bash deploy/build-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dockerfile=${BUILD_CHECK_DOCKERFILE:-deploy/Dockerfile}

fail() { echo "build-check: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root (it installs packages and switches to the image's user)"

# instructions STAGE prints the instructions of stage STAGE (1 = first,
# last = final), one per line, continuation lines joined, comments dropped.
instructions() {
  awk -v want="$1" '
    /^[[:space:]]*#/ { next }
    {
      line = line $0
      if (line ~ /\\$/) { sub(/\\$/, " ", line); next }
      if (line ~ /^[[:space:]]*$/) { line = ""; next }
      if (line ~ /^FROM[[:space:]]/) stage++
      out[stage] = out[stage] line "\n"
      line = ""
    }
    END { printf "%s", out[want == "last" ? stage : want] }
  ' "$dockerfile"
}

# apt_packages prints the packages of the stage's apt-get install commands.
apt_packages() {
  grep -o 'apt-get install [^&]*' <<<"$1" | sed -E 's/apt-get install//; s/(^| )-[^ ]*//g' | tr -s ' ' '\n' | sed '/^$/d'
}

install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "build-check: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

build=$(instructions 1)
runtime=$(instructions last)
[ -n "$build" ] && [ -n "$runtime" ] || fail "cannot read the stages of $dockerfile"

tmp=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
chmod 0755 "$tmp"

echo "== build stage"
mapfile -t pkgs < <(apt_packages "$build")
install_missing "${pkgs[@]}"
gobuild=$(grep -E '^RUN .*go build ' <<<"$build" | head -n 1)
[ -n "$gobuild" ] || fail "no go build in the build stage"
gobuild=$(sed -E 's/^RUN //; s/--mount=[^ ]+ //g; s/^ +//' <<<"$gobuild")
gobuild=${gobuild//\/out\//$tmp/out/}
echo "build-check: $gobuild"
mkdir -p "$tmp/out"
eval "$gobuild"

echo "== runtime stage"
mapfile -t pkgs < <(apt_packages "$runtime")
[ "${#pkgs[@]}" -gt 0 ] || fail "no packages in the runtime stage"
install_missing "${pkgs[@]}"

copy=$(grep -E '^COPY --from=build ' <<<"$runtime") || fail "no COPY --from=build in the runtime stage"
read -r _ _ built target <<<"$copy"
bin=${built/\/out\//$tmp/out/}
[ -x "$bin" ] || fail "$built was not built"
chmod 0755 "$tmp/out" "$bin"
if ldd "$bin" | grep 'not found'; then fail "the binary misses shared libraries"; fi

user=$(grep -E '^USER ' <<<"$runtime" | awk '{print $2}') || fail "no USER in the runtime stage"
uid=${user%%:*}
gid=${user#*:}
[ "$uid" != 0 ] && [ "$uid" != root ] || fail "the image runs as root"

# ENV KEY=VALUE … (values without spaces, as in the Dockerfile).
declare -A envs=()
while read -r kv; do
  envs[${kv%%=*}]=${kv#*=}
done < <(grep -E '^ENV ' <<<"$runtime" | sed -E 's/^ENV +//' | tr -s ' ' '\n' | sed '/^$/d')
[ -n "${envs[SATCHEL_ADDR]:-}" ] && [ -n "${envs[SATCHEL_DATA_DIR]:-}" ] || fail "ENV lacks SATCHEL_ADDR or SATCHEL_DATA_DIR"
port=${envs[SATCHEL_ADDR]##*:}
# The image's data dir and HOME, made as the Dockerfile makes it (owned by the
# user, mode 0750), under the temporary directory; any free port.
data=$tmp/data
install -d -o "$uid" -g "$gid" -m 0750 "$data"
for k in "${!envs[@]}"; do
  if [ "${envs[$k]}" = "${envs[SATCHEL_DATA_DIR]}" ]; then envs[$k]=$data; fi
done
envs[SATCHEL_ADDR]=${envs[SATCHEL_ADDR]%:*}:0
envargs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
for k in "${!envs[@]}"; do envargs+=("$k=${envs[$k]}"); done

json_words() { sed -E 's/^[A-Z]+ +\[//; s/\] *$//; s/", *"/\n/g; s/"//g'; }
mapfile -t entry < <(grep -E '^ENTRYPOINT ' <<<"$runtime" | json_words)
mapfile -t cmd < <(grep -E '^CMD ' <<<"$runtime" | json_words)
[ "${entry[0]:-}" = "$target" ] || fail "ENTRYPOINT ${entry[0]:-none} is not the copied binary $target"
entry[0]=$bin
as_user=(setpriv --reuid="$uid" --regid="$gid" --clear-groups env -i "${envargs[@]}")

echo "build-check: ${as_user[*]} ${entry[*]} ${cmd[*]}"
"${as_user[@]}" "${entry[@]}" "${cmd[@]}" >"$tmp/log" 2>&1 &
pid=$!
addr=""
for _ in $(seq 1 300); do
  addr=$(grep -o 'msg="satchel listening" addr=[^ ]*' "$tmp/log" | head -n 1 | sed 's/.*addr=//') || true
  [ -n "$addr" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/log" >&2; fail "the server exited at start"; }
  sleep 0.1
done
[ -n "$addr" ] || { cat "$tmp/log" >&2; fail "the server did not start listening"; }
live=${addr##*:}

health=$(grep -E '^HEALTHCHECK ' <<<"$runtime" | sed -E 's/.* CMD +//') || fail "no HEALTHCHECK in the runtime stage"
health=${health//:$port/:$live}
echo "build-check: HEALTHCHECK $health"
"${as_user[@]}" sh -c "$health" >/dev/null || { cat "$tmp/log" >&2; fail "the HEALTHCHECK failed"; }
ready=$(curl -fsS --max-time 5 "http://127.0.0.1:$live/readyz") || { cat "$tmp/log" >&2; fail "/readyz is not ready"; }
[ "$ready" = ok ] || fail "/readyz answered $ready"

sig=$(grep -E '^STOPSIGNAL ' <<<"$runtime" | awk '{print $2}')
kill -s "${sig:-SIGTERM}" "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" = 0 ] || { cat "$tmp/log" >&2; fail "the server exited with $status after ${sig:-SIGTERM}"; }
echo "build-check: the image's build and runtime steps work (binary $(du -h "$bin" | cut -f1), user $uid:$gid, /healthz and /readyz ok)"
