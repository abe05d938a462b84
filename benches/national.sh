#!/usr/bin/env bash
# National scale on one backend (README, "National scale"): generate 1,000,000
# returnee profiles and 100,000 vacancies, import them, start `serve` and time it
# to /readyz, then measure candidates, search and partner batches over HTTP with
# benches/national.py; with REPLICAS=2 a second `serve` on the same database is
# started, timed and measured alongside the first.
#
#   benches/national.sh target/release/jobmatch sqlite /tmp/national
#   benches/national.sh target/release/jobmatch postgres://postgres@127.0.0.1:5432/national /tmp/national
#
# The rate limit is lifted: it is what the bench measures past. The PostgreSQL
# database must exist and be empty. WORKERS and VACANCIES
# override the sizes; the generated files are kept in DIR/gen and reused.
set -euo pipefail
bin=$(realpath "$1"); database=$2; dir=$3
workers=${WORKERS:-1000000}; vacancies=${VACANCIES:-100000}; replicas=${REPLICAS:-1}
here=$(dirname "$(realpath "$0")")
mkdir -p "$dir"; cd "$dir"
rm -rf data-1 data-2
if [ "$database" = sqlite ]; then
  # Replica 1 keeps the database in its data directory; replica 2 opens it there.
  mkdir -p data-1
  export JOBMATCH_DATABASE_URL="sqlite:$dir/data-1/jobmatch.db"
else
  export JOBMATCH_DATABASE_URL=$database
fi
gen="gen-$workers-$vacancies"
if [ ! -f "$gen/workers.ndjson" ]; then
  "$bin" gen --workers "$workers" --vacancies "$vacancies" --out "$gen" >/dev/null
fi
seconds() { date +%s.%N; }
for kind in employers vacancies workers; do
  start=$(seconds)
  summary=$("$bin" import "$kind" "$gen/$kind.ndjson" --source gen 2>/dev/null | tail -n 1)
  printf 'import %-9s %6.1f s  %s\n' "$kind" "$(echo "$(seconds) - $start" | bc)" "$summary"
done
staff=$("$bin" keys create --role staff --name "national bench staff" 2>/dev/null | head -n 1)
partner=$("$bin" keys create --role partner --name "national bench partner" 2>/dev/null | head -n 1)

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
start_replica() { # number port: starts serve, prints seconds to /readyz 200
  mkdir -p "data-$1"
  local start; start=$(seconds)
  JOBMATCH_LOG=warn "$bin" serve --bind "127.0.0.1:$2" --data-dir "data-$1" \
    --rate-limit-per-minute 1000000 --rate-limit-burst 100000 >"serve-$1.log" 2>&1 &
  pids+=($!)
  until curl -fs "http://127.0.0.1:$2/readyz" >/dev/null 2>&1; do sleep 0.05; done
  printf 'replica %s start-up to /readyz %6.1f s\n' "$1" "$(echo "$(seconds) - $start" | bc)"
}
start_replica 1 18081
addresses=http://127.0.0.1:18081
if [ "$replicas" = 2 ]; then
  start_replica 2 18082
  addresses="$addresses,http://127.0.0.1:18082"
fi
python3 "$here/national.py" "$addresses" "$staff" "$partner" "$gen/workers.ndjson"
