#!/usr/bin/env bash
# Import rates of `jobmatch import workers`, SQLite and PostgreSQL side by side,
# and two builds on PostgreSQL (e.g. main and a branch), ROUNDS times in turn on
# the same file, each into a fresh database; prints each run's summary rate and
# the import's own CPU time (user+system).
#
# usage: benches/import-rates.sh BEFORE_BIN AFTER_BIN WORKERS_NDJSON EMPLOYERS_NDJSON ROUNDS [ADMIN_URL]
#   BEFORE_BIN, AFTER_BIN   two release builds; SQLite runs with AFTER_BIN
#   *_NDJSON                files from `jobmatch gen` (the employers first, so
#                           that the profiles' references resolve)
#   ADMIN_URL               a PostgreSQL server (default postgres://postgres@127.0.0.1:5432);
#                           the databases jm_rates_before and jm_rates_after are
#                           dropped and created on it
# BEFORE_PLAN_MODE=force_custom_plan sets plan_cache_mode on the "before"
# database, for a build older than the one that sets it on every connection.
set -euo pipefail
before=$(realpath "$1"); after=$(realpath "$2"); workers=$3; employers=$4; rounds=$5
admin=${6:-postgres://postgres@127.0.0.1:5432}
sqlite_dir=$(mktemp -d)
trap 'rm -rf "$sqlite_dir"' EXIT

summary() { # the summary line's rate and time, and the CPU line
  grep -v INFO | tail -2 | tr '\n' ' ' | grep -oE 'in [0-9.]+ s \([0-9]+ rows/s\)|cpu [0-9.+]+ s' | tr '\n' ' '
}
import_postgres() { # label binary database [plan_cache_mode]
  local label=$1 bin=$2 db=$3 mode=${4:-}
  psql "$admin/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
  [ -n "$mode" ] && psql "$admin/postgres" -qc "ALTER DATABASE $db SET plan_cache_mode = $mode"
  local url="$admin/$db"
  "$bin" import employers "$employers" --source gen --database-url "$url" >/dev/null 2>&1
  echo "$label $( { /usr/bin/time -f 'cpu %U+%S s' "$bin" import workers "$workers" --source gen --database-url "$url"; } 2>&1 | summary)"
  psql "$admin/postgres" -qc "DROP DATABASE $db"
}
import_sqlite() {
  rm -rf "${sqlite_dir:?}"/*
  "$after" import employers "$employers" --source gen --data-dir "$sqlite_dir" >/dev/null 2>&1
  echo "sqlite            $( { /usr/bin/time -f 'cpu %U+%S s' "$after" import workers "$workers" --source gen --data-dir "$sqlite_dir"; } 2>&1 | summary)"
}
echo "$(wc -l < "$workers") profiles; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq 1 "$rounds"); do
  import_sqlite
  import_postgres "postgres before  " "$before" jm_rates_before "${BEFORE_PLAN_MODE:-}"
  import_postgres "postgres after   " "$after" jm_rates_after
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
