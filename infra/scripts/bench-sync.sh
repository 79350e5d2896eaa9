#!/usr/bin/env bash
# Catalog sync benchmark: a full sync and a re-sync of a large Shopify catalog, and the rate-limit
# exactness of a paced one, through the sync-worker handler on the embedded backend. Run from anywhere.
#
#   infra/scripts/bench-sync.sh [products=100000] [paced_products=2000]
#
# Builds the `sync` bench binary in release mode, then runs it (the build first, so the figures are not
# measured next to a compiler). The exit status is the benchmark's: non-zero if a target was missed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=infra/scripts/lib.sh
source infra/scripts/lib.sh

log "cargo build --release -p pivota-bench --bin sync"
cargo build --release -p pivota-bench --bin sync
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
log "sync $*"
exec "$target_dir/release/sync" "$@"
