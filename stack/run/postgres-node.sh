#!/usr/bin/env bash
# One PostgreSQL node of the TOPOLOGY=ha stack, in the FOREGROUND (supervisord
# runs it as the postgres user; stack/pg_ha.py writes the command line).
#
#   postgres-node.sh NODE ROLE_FILE DATA SOCKETS BIN -- POSTGRES_ARGV...
#
# ROLE_FILE names the primary ("<node> <port>"; the failover watcher rewrites it
# when it promotes). The primary starts as it is. Any other node becomes its
# streaming standby: a copy by pg_basebackup when it has no data yet; a former
# primary (no standby.signal) is first rewound by pg_rewind onto the promoted
# node's timeline, so the two never both take writes.
set -euo pipefail

NODE="$1" ROLE_FILE="$2" DATA="$3" SOCKETS="$4" BIN="$5"
shift 5
[[ "$1" == "--" ]] || { echo "postgres-node: usage: NODE ROLE_FILE DATA SOCKETS BIN -- ARGV" >&2; exit 2; }
shift

read -r PRIMARY PRIMARY_PORT < "$ROLE_FILE"
if [[ "$PRIMARY" == "$NODE" ]]; then
  echo "postgres-node: $NODE starts as the primary"
  exec "$@"
fi

SOURCE="host=$SOCKETS port=$PRIMARY_PORT user=postgres dbname=postgres"
wait_primary() {
  for _ in $(seq 1 240); do
    "$BIN/pg_isready" -q -h "$SOCKETS" -p "$PRIMARY_PORT" && return 0
    sleep 0.5
  done
  echo "postgres-node: primary $PRIMARY (port $PRIMARY_PORT) not ready after 120 s" >&2
  exit 1
}

copy_primary() {
  echo "postgres-node: $NODE: copying $PRIMARY with pg_basebackup"
  find "$DATA" -mindepth 1 -delete
  "$BIN/pg_basebackup" -D "$DATA" -d "$SOURCE" -X stream --checkpoint=fast
  touch "$DATA/standby.signal"
}

if [[ ! -f "$DATA/PG_VERSION" ]]; then
  wait_primary
  copy_primary
elif [[ ! -f "$DATA/standby.signal" ]]; then
  wait_primary
  echo "postgres-node: $NODE was a primary; rewinding it onto $PRIMARY's timeline"
  # A killed node needs crash recovery first. pg_rewind would run it without our
  # settings (recovery then records wal_log_hints=off, which pg_rewind refuses,
  # and its checkpoint may recycle the WAL pg_rewind reads), so recover here.
  "$BIN/postgres" --single -D "$DATA" -c wal_log_hints=on -c wal_keep_size=1GB \
    postgres < /dev/null > /dev/null
  # A node just promoted records its new timeline at its next checkpoint;
  # before it, pg_rewind sees one timeline and wrongly finds nothing to undo.
  "$BIN/psql" -X -q -d "$SOURCE" -c CHECKPOINT
  if ! "$BIN/pg_rewind" -D "$DATA" --source-server="$SOURCE" --progress; then
    # Nothing is lost: every acknowledged commit is on the primary (synchronous).
    echo "postgres-node: $NODE: pg_rewind failed; taking a fresh copy instead" >&2
    copy_primary
  fi
  touch "$DATA/standby.signal"
fi
echo "postgres-node: $NODE starts as a standby of $PRIMARY"
exec "$@" -c "primary_conninfo=host=$SOCKETS port=$PRIMARY_PORT user=postgres application_name=$NODE" \
  -c "recovery_target_timeline=latest"
