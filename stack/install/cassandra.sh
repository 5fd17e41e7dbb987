#!/usr/bin/env bash
# Install Apache Cassandra (server jars only) from Maven Central into a cache
# outside the repo:  ${TWITTER_CACHE:-$HOME/.cache/twitter-mesh}/cassandra-<ver>/lib/
#
# Idempotent: once complete, a marker file makes re-runs return immediately.
# Needs: java 17 and mvn on PATH (Maven Central must be reachable on first run).
set -euo pipefail

CASSANDRA_VERSION="5.0.9"                 # newest 5.0.x on Maven Central
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.6.1"

CACHE="${TWITTER_CACHE:-$HOME/.cache/twitter-mesh}"
HOME_DIR="$CACHE/cassandra-$CASSANDRA_VERSION"
MARKER="$HOME_DIR/.installed"

# ---- fast path -------------------------------------------------------------
if [[ -f "$MARKER" && -d "$HOME_DIR/lib" ]]; then
  exit 0
fi

command -v java >/dev/null || { echo "cassandra install: java not found" >&2; exit 1; }
command -v mvn  >/dev/null || { echo "cassandra install: mvn not found" >&2; exit 1; }

echo "cassandra install: fetching cassandra-all $CASSANDRA_VERSION + runtime deps from Maven Central ..." >&2
mkdir -p "$HOME_DIR"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cassandra-install.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# Every runtime dependency of cassandra-all is compile scope in its pom
# (logback, jamm, chronicle-*, netty-all + native epoll, tcnative, snakeyaml,
# jffi native, zstd/snappy/lz4 ...).  'provided' ones (byteman, antlr tool,
# compile-command-annotations, ACCP) are not needed by the daemon.
cat > "$WORK/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.twitter-mesh</groupId>
  <artifactId>cassandra-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>$CASSANDRA_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM

rm -rf "$HOME_DIR/lib.tmp"
mvn -q -B -f "$WORK/pom.xml" \
  "$DEP_PLUGIN:copy-dependencies" \
  -DincludeScope=runtime \
  -DoutputDirectory="$HOME_DIR/lib.tmp" \
  >"$WORK/mvn.log" 2>&1 || { cat "$WORK/mvn.log" >&2; exit 1; }

# sanity: the jars the daemon cannot live without
for j in cassandra-all-"$CASSANDRA_VERSION" jamm- logback-classic- snakeyaml- netty-all- chronicle-queue- ; do
  ls "$HOME_DIR/lib.tmp/$j"*.jar >/dev/null 2>&1 || { echo "cassandra install: missing $j*.jar" >&2; exit 1; }
done

rm -rf "$HOME_DIR/lib"
mv "$HOME_DIR/lib.tmp" "$HOME_DIR/lib"
echo "$CASSANDRA_VERSION" > "$MARKER"
echo "cassandra install: done ($(ls "$HOME_DIR/lib" | wc -l) jars in $HOME_DIR/lib)" >&2
