#!/usr/bin/env bash
# Run a single-node, loopback-only Cassandra 5.0 in the FOREGROUND
# (meant to be managed by supervisord; the JVM replaces this shell via exec).
#
# Environment (ports required: the stack passes them from services/shared/ports.py;
# the rest optional):
#   STACK_DIR               data folder (absolute); Cassandra uses $STACK_DIR/cassandra/
#                           default: ${TWITTER_CACHE:-$HOME/.cache/twitter-mesh}/stack
#   CASSANDRA_PORT          CQL native transport port
#   CASSANDRA_STORAGE_PORT  internode/gossip port
#   CASSANDRA_JMX_PORT      JMX port, bound to 127.0.0.1 only (0 = no JMX)
#   CASSANDRA_HEAP          -Xms/-Xmx, e.g. 512M, 768M, 1G   (default 512M, as the HA nodes run on 384M; capped at 1G)
#   CASSANDRA_NODE          the node's name: its data lives in $STACK_DIR/$CASSANDRA_NODE
#                           (default cassandra; TOPOLOGY=ha runs cassandra-2 and -3 too)
#   CASSANDRA_ADDRESS       the node's loopback address (default 127.0.0.1)
#   CASSANDRA_SEEDS         host:storage_port list (default: this node alone)
#   CASSANDRA_INITIAL_TOKEN this node's one token (default 0)
#   CASSANDRA_REPLICATED    true under TOPOLOGY=ha: hinted handoff (a node back from a
#                           crash gets the writes it missed) and the dynamic snitch
#                           (reads avoid a replica still warming up); default false
#   CASSANDRA_TIMER_SLACK_NS how late the kernel may wake the node's timed waits, in ns
#                           (default 250000; the kernel's own default is 50000)
#   TWITTER_CACHE           jar cache root (default $HOME/.cache/twitter-mesh)
#   JAVA                    java binary (default: java on PATH; must be Java 17)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
TEMPLATES="$REPO/stack/cassandra"

STACK_DIR="${STACK_DIR:-${TWITTER_CACHE:-$HOME/.cache/twitter-mesh}/stack}"
CASSANDRA_PORT="${CASSANDRA_PORT:?set by the stack (services/shared/ports.py)}"
CASSANDRA_STORAGE_PORT="${CASSANDRA_STORAGE_PORT:?set by the stack (services/shared/ports.py)}"
CASSANDRA_JMX_PORT="${CASSANDRA_JMX_PORT:?set by the stack (services/shared/ports.py)}"
CASSANDRA_HEAP="${CASSANDRA_HEAP:-512M}"
JAVA="${JAVA:-java}"

# Version is pinned in the installer; read it from there so there is one source.
CASSANDRA_VERSION="$(sed -n 's/^CASSANDRA_VERSION="\([^"]*\)".*/\1/p' "$REPO/stack/install/cassandra.sh")"
CASSANDRA_HOME="${TWITTER_CACHE:-$HOME/.cache/twitter-mesh}/cassandra-$CASSANDRA_VERSION"
LIB="$CASSANDRA_HOME/lib"

# Installer is idempotent and returns instantly once done.
bash "$REPO/stack/install/cassandra.sh"

# ---- heap: accept <n>[KkMmGg], never above 1 GiB -------------------------
heap_mb() {
  local v="$1" n unit
  [[ "$v" =~ ^([0-9]+)([KkMmGg]?)$ ]] || { echo "cassandra: bad CASSANDRA_HEAP='$v' (use e.g. 768M)" >&2; exit 2; }
  n="${BASH_REMATCH[1]}"; unit="${BASH_REMATCH[2]}"
  case "$unit" in
    K|k) echo $(( n / 1024 )) ;;
    M|m) echo "$n" ;;
    G|g) echo $(( n * 1024 )) ;;
    "")  echo $(( n / 1024 / 1024 )) ;;
  esac
}
HEAP_MB="$(heap_mb "$CASSANDRA_HEAP")"
if (( HEAP_MB > 1024 )); then
  echo "cassandra: CASSANDRA_HEAP=$CASSANDRA_HEAP exceeds 1G; capping at 1024M" >&2
  HEAP_MB=1024
fi
if (( HEAP_MB < 256 )); then
  echo "cassandra: CASSANDRA_HEAP=$CASSANDRA_HEAP too small; using 256M" >&2
  HEAP_MB=256
fi

# ---- directories + rendered config ----------------------------------------
case "$STACK_DIR" in /*) ;; *) STACK_DIR="$(pwd)/$STACK_DIR" ;; esac
CASSANDRA_NODE="${CASSANDRA_NODE:-cassandra}"
CASSANDRA_ADDRESS="${CASSANDRA_ADDRESS:-127.0.0.1}"
CASSANDRA_SEEDS="${CASSANDRA_SEEDS:-$CASSANDRA_ADDRESS:$CASSANDRA_STORAGE_PORT}"
CASSANDRA_INITIAL_TOKEN="${CASSANDRA_INITIAL_TOKEN:-0}"
CASSANDRA_REPLICATED="${CASSANDRA_REPLICATED:-false}"
[[ "$CASSANDRA_REPLICATED" =~ ^(true|false)$ ]] || { echo "cassandra: bad CASSANDRA_REPLICATED" >&2; exit 2; }
[[ "$CASSANDRA_NODE" =~ ^[a-z0-9-]+$ ]] || { echo "cassandra: bad CASSANDRA_NODE='$CASSANDRA_NODE'" >&2; exit 2; }
DATA_DIR="$STACK_DIR/$CASSANDRA_NODE"
CONF_DIR="$DATA_DIR/conf"
mkdir -p "$CONF_DIR" "$DATA_DIR"/{data,commitlog,saved_caches,hints,cdc_raw,logs}

sed -e "s|@DATA_DIR@|$DATA_DIR|g" \
    -e "s|@NATIVE_PORT@|$CASSANDRA_PORT|g" \
    -e "s|@STORAGE_PORT@|$CASSANDRA_STORAGE_PORT|g" \
    -e "s|@SEEDS@|$CASSANDRA_SEEDS|g" \
    -e "s|@ADDRESS@|$CASSANDRA_ADDRESS|g" \
    -e "s|@INITIAL_TOKEN@|$CASSANDRA_INITIAL_TOKEN|g" \
    -e "s|@REPLICATED@|$CASSANDRA_REPLICATED|g" \
    "$TEMPLATES/cassandra.yaml.tmpl" > "$CONF_DIR/cassandra.yaml.tmp"
mv "$CONF_DIR/cassandra.yaml.tmp" "$CONF_DIR/cassandra.yaml"
cp "$TEMPLATES/logback.xml" "$CONF_DIR/logback.xml"

# ---- JVM flags -------------------------------------------------------------
JVM_OPTS=()
while IFS= read -r line; do
  line="${line%%#*}"; line="${line#"${line%%[![:space:]]*}"}"; line="${line%"${line##*[![:space:]]}"}"
  [[ -z "$line" ]] && continue
  # "--add-opens a=b" lines carry two words
  read -r -a words <<<"$line"
  JVM_OPTS+=("${words[@]}")
done < "$TEMPLATES/jvm17.options"

JVM_OPTS+=(
  "-Xms${HEAP_MB}M" "-Xmx${HEAP_MB}M"
  "-javaagent:$(ls "$LIB"/jamm-*.jar | head -n1)"
  "-Dcassandra.config=file://$CONF_DIR/cassandra.yaml"
  "-Dlogback.configurationFile=file://$CONF_DIR/logback.xml"
  "-Dcassandra.logdir=$DATA_DIR/logs"
  "-Dcassandra.storagedir=$DATA_DIR"
  "-Djava.io.tmpdir=$DATA_DIR/tmp"
  "-XX:ErrorFile=$DATA_DIR/logs/hs_err_%p.log"
  "-Djava.rmi.server.hostname=127.0.0.1"
  "-Dcassandra.triggers_dir=$DATA_DIR/triggers"
)
mkdir -p "$DATA_DIR/tmp" "$DATA_DIR/triggers"
if [[ "$CASSANDRA_JMX_PORT" != "0" ]]; then
  # cassandra.jmx.local.port => JMX server bound to the loopback address only
  # (rmi.port pinned to the same port so no random ephemeral RMI listener)
  JVM_OPTS+=("-Dcassandra.jmx.local.port=$CASSANDRA_JMX_PORT"
             "-Dcom.sun.management.jmxremote.rmi.port=$CASSANDRA_JMX_PORT")
fi

# Cassandra calls mlockall(MCL_CURRENT) at startup. As root (CAP_IPC_LOCK) that
# succeeds and pins the whole committed heap + code cache in RAM (RSS ~1.3 GB
# and ~4 s slower start). For a dev box we drop CAP_IPC_LOCK so the call fails
# with a harmless "Unable to lock JVM memory (ENOMEM)" warning.
LAUNCH=()
if [[ "$(id -u)" == "0" ]] && command -v setpriv >/dev/null 2>&1; then
  LAUNCH=(setpriv --inh-caps=-ipc_lock --bounding-set=-ipc_lock --)
fi
ulimit -l 64 2>/dev/null || true

# TOPOLOGY=ha runs three JVMs on the machine's cores beside the services: at
# nice 10 the services come first, and a node that reboots after a crash
# (JIT warm-up, commit log replay) takes its CPU from its peers, not from the
# requests (on real hardware it has CPUs of its own).
if [[ "$CASSANDRA_REPLICATED" == "true" ]]; then
  LAUNCH=(nice -n 10 "${LAUNCH[@]}")
fi

# An idle worker of Cassandra's shared request pool waits for the next task by
# parking 10 us at a time, for up to 10 ms: with the kernel's 50 us of timer
# slack, a wake every ~60 us. With statements a few ms apart (150 mixed req/s
# on this machine) the node's two pool threads woke ~4,000 times a second each
# and burnt ~140 of the node's ~175 ms/s of CPU. With 250 us of slack they
# burn about half that, and a statement sent to an idle node waits no longer
# at the median (docs/CASSANDRA_CPU.md). The JVM's threads inherit this
# shell's slack; exec keeps it.
CASSANDRA_TIMER_SLACK_NS="${CASSANDRA_TIMER_SLACK_NS:-250000}"
[[ "$CASSANDRA_TIMER_SLACK_NS" =~ ^[1-9][0-9]*$ ]] || { echo "cassandra: bad CASSANDRA_TIMER_SLACK_NS" >&2; exit 2; }
echo "$CASSANDRA_TIMER_SLACK_NS" > /proc/self/timerslack_ns

cd "$DATA_DIR"
exec "${LAUNCH[@]}" "$JAVA" "${JVM_OPTS[@]}" -cp "$CONF_DIR:$LIB/*" org.apache.cassandra.service.CassandraDaemon
