#!/usr/bin/env bash
# No import cycles in the workspace's library crates, checked at two levels in each crate:
#   modules              no cycle among its modules. An edge between a module and its own ancestor or
#                        descendant is left out (a mod.rs re-exporting its child while the child uses
#                        `super::` is no cycle).
#   top-level modules    every module counted as its top-level module (`pivota::stores::credentials` as
#                        `pivota::stores`): no cycle between them. In pivota-shared these are the bounded
#                        contexts (kernel, ports, record, onboarding, payments, stores, catalog, orders, app, …).
#
# The graph is cargo-modules' (rust-analyzer's name resolution): A -> B when module A, or an item in it, names
# something defined in module B: in `use` declarations, signatures, fields, impl headers. Paths are resolved to
# where things are defined, so a module re-exported elsewhere is still itself. Not seen: paths written inside
# function bodies, and `#[cfg(test)]` code. The verdict is coreutils' `tsort`.
#
#   infra/scripts/module-cycles.sh [PACKAGE...]    (default: every library crate of the workspace in .)
#
# Needs jq, and cargo-modules: CARGO_MODULES names the binary (default: cargo-modules on PATH); test.sh
# installs the pinned version (ensure_cargo_modules in lib.sh). Exit status 1 on any cycle.
set -euo pipefail

cm=${CARGO_MODULES:-cargo-modules}
metadata=$(cargo metadata --no-deps --format-version 1)
# cargo-modules first runs `cargo check --compile-time-deps`: in the workspace's own target dir it finds the
# build scripts and proc macros clippy and the tests already built.
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(jq -r .target_directory <<<"$metadata")}
export CARGO_TARGET_DIR RUST_BACKTRACE=0

count() { grep -c . <<<"$1" || true; }

# acyclic LEVEL EDGES: lines "FROM TO SHOWN…"; tsort decides on FROM -> TO. On a loop, prints each loop tsort
# found (it then drops one of the loop's edges and goes on) and under it the SHOWN text of the edges that
# make it: the uses to undo.
acyclic() {
    local loops
    loops=$(cut -d' ' -f1,2 <<<"$2" | sort -u | tsort 2>&1 >/dev/null) && return 0
    awk -v level="$1" '
        FNR == NR { from[NR] = $1; to[NR] = $2; $1 = $2 = ""; shown[NR] = substr($0, 3); n = NR; next }
        function report(i) {
            if (cycle == "") return
            print "  FAIL, cycle between " level ": " cycle " -> " first
            next_in[last] = first
            for (i = 1; i <= n; i++) if (next_in[from[i]] == to[i]) print "      " shown[i]
            cycle = ""; delete next_in
        }
        /input contains a loop/ { report(); next }
        { sub(/^tsort: /, ""); if (cycle == "") first = cycle = $0; else { cycle = cycle " -> " $0; next_in[last] = $0 }; last = $0 }
        END { report() }' <(printf '%s\n' "$2") <(printf '%s\n' "$loops")
    return 1
}

# check_crate PACKAGE CRATE: one cargo-modules run, both levels; adds to $edges_seen.
check_crate() {
    local pkg=$1 crate=$2 dot raw edges modules contexts status=0 started=$SECONDS
    dot=$("$cm" dependencies --package "$pkg" --lib --no-externs --no-sysroot \
        --no-fns --no-types --no-traits --no-owns --layout dot) || { echo "$pkg: cargo-modules failed"; return 1; }
    # `"a::b" -> "a::c" [label="uses", …]`: the crate's node must be there and every edge line must parse.
    raw=$(sed -nE 's/^ *"([^"]+)" -> "([^"]+)" \[label="uses".*/\1 \2/p' <<<"$dot")
    if ! grep -qF "\"$crate\" [label=\"crate|$crate\"" <<<"$dot" ||
        (($(grep -c -- ' -> ' <<<"$dot") != $(count "$raw"))); then
        echo "$pkg: cargo-modules' graph of $crate is missing or not understood"
        return 1
    fi
    edges=$(sort -u <<<"$raw")
    edges_seen=$((edges_seen + $(count "$edges")))
    modules=$(awk 'index($2 "::", $1 "::") != 1 && index($1 "::", $2 "::") != 1 { print $1, $2, $1 " -> " $2 }' \
        <<<"$edges")
    contexts=$(awk '{ split($1, a, "::"); split($2, b, "::") }
        a[2] != "" && b[2] != "" && a[2] != b[2] { print a[1] "::" a[2], b[1] "::" b[2], $1 " -> " $2 }' <<<"$edges")
    echo "$pkg ($crate): $(count "$edges") use edges, $(count "$modules") between modules," \
        "$(count "$contexts") between top-level modules ($((SECONDS - started)) s)"
    acyclic modules "$modules" || status=1
    acyclic "top-level modules" "$contexts" || status=1
    return $status
}

# "PACKAGE CRATE" for every library target (of the packages named, if any).
libs=$(jq -r --args '.packages[] | select($ARGS.positional == [] or (.name | IN($ARGS.positional[])))
    | .name as $p | .targets[] | select(.kind | index("lib")) | "\($p) \(.name)"' "$@" <<<"$metadata")
[[ -n $libs ]] || { echo "no library crate found${*:+ in: $*}" >&2; exit 2; }

failed=0 total=0 edges_seen=0
while read -r pkg crate; do
    check_crate "$pkg" "$crate" </dev/null || failed=$((failed + 1))
    total=$((total + 1))
done <<<"$libs"
# A graph with no edge at all means cargo-modules resolved nothing: that proves nothing.
if ((edges_seen == 0)); then
    echo "FAIL: cargo-modules found no use edge in $total library crate(s)"
    exit 1
fi
if ((failed)); then
    echo "FAIL: $failed of $total library crate(s) with an import cycle (or not checked)"
    exit 1
fi
echo "ok: no import cycle in $total library crate(s), $edges_seen use edges"
