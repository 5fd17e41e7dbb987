#!/usr/bin/env bash
# Compiles the Go and TypeScript stubs and the interop tests that use them
# (`make lint`; CI), so a contract change that breaks another language fails
# before any test runs. Modules and packages come from the caches (GOMODCACHE,
# node_modules), so a warm run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/stub_plugins.sh >/dev/null  # node_modules as locked
(cd generated/go && go vet ./...)
(cd tests/interop/go && go vet ./...)
node_modules/.bin/tsc -p tests/interop/ts
