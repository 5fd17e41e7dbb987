#!/bin/bash
# Cassandra 5.0 in k8s/datastores-plain, from the jars and the config templates
# the local stack runs (stack/cassandra, copied into the image): one node, its
# data in /data, CQL on 0.0.0.0:9042 announced as the pod's address (POD_IP).
set -euo pipefail
HOME_DIR=/opt/cassandra
DATA_DIR=/data
CONF_DIR="$DATA_DIR/conf"
HEAP="${CASSANDRA_HEAP:-768M}"
mkdir -p "$CONF_DIR" "$DATA_DIR"/{data,commitlog,saved_caches,hints,cdc_raw,logs,tmp,triggers}
sed -e "s|@DATA_DIR@|$DATA_DIR|g" -e "s|@NATIVE_PORT@|9042|g" -e "s|@STORAGE_PORT@|7000|g" \
    -e "s|^rpc_address:.*|rpc_address: 0.0.0.0\nbroadcast_rpc_address: ${POD_IP:?set from status.podIP}|" \
    "$HOME_DIR/templates/cassandra.yaml.tmpl" > "$CONF_DIR/cassandra.yaml"
cp "$HOME_DIR/templates/logback.xml" "$CONF_DIR/logback.xml"
JVM_OPTS=()
while IFS= read -r line; do
    line="${line%%#*}"
    read -r -a words <<<"$line"
    JVM_OPTS+=("${words[@]}")
done < "$HOME_DIR/templates/jvm17.options"
exec java "${JVM_OPTS[@]}" "-Xms$HEAP" "-Xmx$HEAP" \
    "-javaagent:$(ls "$HOME_DIR"/lib/jamm-*.jar | head -n1)" \
    "-Dcassandra.config=file://$CONF_DIR/cassandra.yaml" \
    "-Dlogback.configurationFile=file://$CONF_DIR/logback.xml" \
    "-Dcassandra.logdir=$DATA_DIR/logs" "-Dcassandra.storagedir=$DATA_DIR" \
    "-Djava.io.tmpdir=$DATA_DIR/tmp" "-Dcassandra.triggers_dir=$DATA_DIR/triggers" \
    -cp "$CONF_DIR:$HOME_DIR/lib/*" org.apache.cassandra.service.CassandraDaemon
