#!/usr/bin/env bash
# Size of every Lambda function's release binary, and the median of the HTTP functions (issue 13's
# figure: at or under 12 MiB). Run from anywhere.
#
#   infra/scripts/bench-binary-sizes.sh
#
# Builds functions/* with `cargo build --release` (the profile cargo-lambda uses: opt-level s, fat LTO,
# stripped; see Cargo.toml), then prints one line per function, sorted by size.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

mapfile -t functions < <(ls functions)
# The functions that are no HTTP API: the console serves pages, the rest are event handlers.
non_http=" console kyc-approve payment-worker sync-worker search-indexer "
packages=()
for function in "${functions[@]}"; do
    packages+=(-p "$function")
done
cargo build --release "${packages[@]}" -p hello-lambda
target=${CARGO_TARGET_DIR:-target}/release

rows=()
http_sizes=()
for function in "${functions[@]}" hello-lambda; do
    bytes=$(stat -c %s "$target/$function")
    kind=http
    [[ $non_http == *" $function "* ]] && kind=event
    [[ $function == console ]] && kind=console
    [[ $function == hello-lambda ]] && kind=baseline
    [[ $kind == http ]] && http_sizes+=("$bytes")
    rows+=("$(printf '%s %-18s %9.1f  %s' "$bytes" "$function" "$(bc -l <<<"$bytes / 1048576")" "$kind")")
done
printf '%-18s %9s  %s\n' function MiB kind
printf '%s\n' "${rows[@]}" | sort -n | cut -d' ' -f2-
mapfile -t sorted < <(printf '%s\n' "${http_sizes[@]}" | sort -n)
count=${#sorted[@]}
if (( count % 2 )); then
    median=${sorted[count / 2]}
else
    median=$(( (sorted[count / 2 - 1] + sorted[count / 2]) / 2 ))
fi
printf 'median of the %d HTTP functions: %.1f MiB\n' "$count" "$(bc -l <<<"$median / 1048576")"
