#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks: no TCP listener, its own socket directory and
# data directory under $TMPDIR, trust authentication for the user `chargehub`.
#   scripts/pg-test-cluster.sh start          starts one; prints its conninfo (the only line on stdout)
#   scripts/pg-test-cluster.sh stop CONNINFO  stops it and removes its directory
# initdb refuses to run as root, so as root the cluster runs as the `postgres` user (Debian's package
# creates it) in a directory that user owns. PG_BINDIR overrides where initdb and pg_ctl are found.
# PG_DURABLE=1 keeps PostgreSQL's crash-safe defaults (benchmarks); otherwise fsync is off: a test
# cluster never survives a crash anyway, and fsync-free commits keep tests fast on busy machines.
set -euo pipefail
bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$bindir/initdb" ] || { echo "pg-test-cluster: no initdb (install the postgresql package)" >&2; exit 1; }
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
  start)
    d=$(mktemp -d "${TMPDIR:-/tmp}/chargehub-pg.XXXXXX")
    chmod 755 "$d"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$d"
    # The port only names the socket file in $d (no TCP listener), so any port is private to $d.
    port=$(( 20000 + RANDOM % 30000 ))
    opts="-p $port -k $d -c listen_addresses='' -c max_connections=200"
    [ "${PG_DURABLE:-0}" = 1 ] || opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if ! as_owner "$bindir/initdb" -D "$d/data" -A trust -U chargehub -E UTF8 --locale=C.UTF-8 >"$d/initdb.log" 2>&1 ||
       ! as_owner "$bindir/pg_ctl" -D "$d/data" -o "$opts" -l "$d/log" -w start >/dev/null 2>&1; then
      echo "pg-test-cluster: PostgreSQL did not start; see $d/initdb.log and $d/log:" >&2
      tail -n 5 "$d/initdb.log" "$d/log" >&2 2>/dev/null || true
      exit 1
    fi
    echo "host=$d port=$port user=chargehub dbname=postgres"
    ;;
  stop)
    d=$(sed -n 's/.*host=\([^ ]*\).*/\1/p' <<<"${2:-}")
    case "$d" in */chargehub-pg.*) ;; *) echo "pg-test-cluster: not a test cluster: ${2:-}" >&2; exit 1 ;; esac
    as_owner "$bindir/pg_ctl" -D "$d/data" stop -m immediate >/dev/null 2>&1 || true
    rm -rf "$d"
    ;;
  *) echo "usage: $0 start | stop CONNINFO" >&2; exit 2 ;;
esac
