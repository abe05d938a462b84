#!/usr/bin/env bash
# What TLS costs a client: the p50 of a candidates request
# (GET /v1/vacancies/{id}/candidates?limit=20) over plain HTTP and over TLS,
# on one kept-alive connection and on a new connection each, side by side in
# one run. Two `jobmatch serve` processes share one SQLite database (the demo
# set), one plain, one with a `tls init` certificate; curl is the client
# (`time_total`: connect, handshake, request and answer; not curl's start).
#
#   cargo build --release -p jobmatch
#   benches/tls-overhead.sh target/release/jobmatch 300
#
# Loopback only; everything it starts is stopped when it ends.
set -euo pipefail
binary=${1:-target/release/jobmatch}
requests=${2:-300}
work=$(mktemp -d)
cleanup() {
  if [ -f "$work/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$work/pids"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

database="sqlite:$work/jobmatch.db"
"$binary" tls init --out "$work/tls" >/dev/null
export JOBMATCH_LOG=warn JOBMATCH_RATE_LIMIT_PER_MINUTE=10000000 JOBMATCH_RATE_LIMIT_BURST=1000000

start() { # name, then serve's arguments; prints the address it listens on
  local name=$1
  shift
  mkdir -p "$work/$name"
  "$binary" serve --bind 127.0.0.1:0 --database-url "$database" --data-dir "$work/$name" "$@" \
    >"$work/$name.out" 2>"$work/$name.err" &
  echo $! >>"$work/pids" # start runs in a subshell: its variables do not come back
  for _ in $(seq 600); do
    if grep -q '^jobmatch is listening on ' "$work/$name.out"; then
      sed -n 's/^jobmatch is listening on //p' "$work/$name.out"
      return
    fi
    sleep 0.1
  done
  echo "$name did not start" >&2
  cat "$work/$name.err" >&2
  exit 1
}

plain=$(start plain --demo)
key=$(sed -n "s/.*Bearer \(jm_[0-9a-f]*\).*/\1/p" "$work/plain.out" | head -1)
tls=$(start tls --tls-cert "$work/tls/cert.pem" --tls-key "$work/tls/key.pem")
tls=${tls/127.0.0.1/localhost}
auth="Authorization: Bearer $key"
for base in "$plain" "$tls"; do
  until curl -sf --cacert "$work/tls/cert.pem" "$base/readyz" >/dev/null; do sleep 0.2; done
done
vacancy=$(curl -sf -H "$auth" "$plain/v1/vacancies?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
path="/v1/vacancies/$vacancy/candidates?limit=20"
for base in "$plain" "$tls"; do # both warm
  curl -sf --cacert "$work/tls/cert.pem" -H "$auth" "$base$path" -o /dev/null
done

p50() { sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] * 1000 }'; }

# name, base URL, curl options: one curl for every request (one connection,
# kept alive), then one curl per request (a new connection each).
measure() {
  local name=$1 base=$2
  shift 2
  local urls=()
  for _ in $(seq "$requests"); do urls+=(-o /dev/null "$base$path"); done
  local kept fresh
  # Every answer must be a 200 with candidates; kept-alive counts only the
  # requests that reused the connection.
  kept=$(curl -s "$@" --cacert "$work/tls/cert.pem" -H "$auth" \
    -w '%{http_code} %{num_connects} %{size_download} %{time_total}\n' "${urls[@]}" |
    awk '$1 != 200 || $3 < 100 { print "bad answer: " $0 > "/dev/stderr"; exit 1 } $2 == 0 { print $4 }' | p50)
  fresh=$(for _ in $(seq "$requests"); do
    curl -s "$@" --cacert "$work/tls/cert.pem" -H "$auth" -o /dev/null \
      -w '%{http_code} %{size_download} %{time_total}\n' "$base$path"
  done | awk '$1 != 200 || $2 < 100 { print "bad answer: " $0 > "/dev/stderr"; exit 1 } { print $3 }' | p50)
  printf '%-22s %12s %14s\n' "$name" "$kept" "$fresh"
}

echo "$requests requests each; p50 in ms; answers of $(curl -sf -H "$auth" "$plain$path" | wc -c) bytes; $(nproc) cores; $(curl --version | head -1 | cut -d' ' -f1-2,5)"
printf '%-22s %12s %14s\n' "" "kept-alive" "new connection"
measure "plain HTTP/1.1" "$plain" --http1.1
measure "TLS 1.3, HTTP/1.1" "$tls" --http1.1
measure "TLS 1.3, HTTP/2" "$tls" --http2
measure "TLS 1.2, HTTP/1.1" "$tls" --http1.1 --tls-max 1.2
