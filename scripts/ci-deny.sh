#!/usr/bin/env bash
# cargo deny: advisories (RustSec), licences (allow-list), bans (duplicates warn, wildcards
# deny) and sources (crates.io only), configured in deny.toml.
#
#   scripts/ci-deny.sh [CHECK...]     # default: all four; e.g. `scripts/ci-deny.sh licenses`
#
# Installs cargo-deny with `cargo install --locked` when it is missing (about 18 minutes of
# compilation on 2 shared cores; cache ~/.cargo/bin in CI). The check itself takes a few
# seconds. `advisories` clones the RustSec database from github.com; without network access
# run the other three: `scripts/ci-deny.sh bans licenses sources`.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.20.2
if ! cargo deny --version 2>/dev/null | grep -q "$version"; then
    cargo install cargo-deny --locked --version "$version"
fi
checks=("$@")
if [ "${#checks[@]}" -eq 0 ]; then
    checks=(advisories bans licenses sources)
fi
exec cargo deny --all-features check "${checks[@]}"
