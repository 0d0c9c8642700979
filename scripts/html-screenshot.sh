#!/usr/bin/env bash
# Renders the incident example's HTML report in headless Chromium, checks that the page makes no
# network request, and keeps a screenshot in docs/img/report.png.
#
#   scripts/html-screenshot.sh            # installs Debian's chromium if missing (needs root)
#   CHROMIUM=/path/to/chrome scripts/html-screenshot.sh
#   CHANGELINT=target/release/changelint scripts/html-screenshot.sh   # skip `cargo run`
#
# "No network request" is checked twice:
#   1. statically: the rendered DOM (chromium --dump-dom) has no src=, <link>, <script>, @import
#      or url(http...) (links in <a href> are only followed on click, so they are allowed);
#   2. at run time: every host name resolves to nothing (--host-resolver-rules) and Chromium's
#      network log (--log-net-log) must hold no request started by the page.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
out=${OUT:-docs/img/report.png}
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z "$chromium" ]]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  chromium=$(command -v chromium)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
page="$work/report.html"

if [[ -n "${CHANGELINT:-}" ]]; then
  changelint=("$CHANGELINT")
else
  changelint=(cargo run -q -p changelint-cli --)
fi

set +e
"${changelint[@]}" check \
  --before examples/incident/before --after examples/incident/after \
  --record examples/incident/CHG-2026-01-21-OBS-0855.md --format html >"$page"
status=$?
set -e
if [[ $status -ne 1 ]]; then
  echo "expected exit code 1 (deny) from the incident, got $status" >&2
  exit 1
fi

flags=(
  --headless --no-sandbox --disable-gpu --hide-scrollbars
  --disable-background-networking --disable-component-update --disable-sync
  --disable-default-apps --disable-extensions --no-first-run --no-default-browser-check
  --host-resolver-rules="MAP * ~NOTFOUND"
)

# 1. The DOM as Chromium built it: nothing that fetches.
"$chromium" "${flags[@]}" --user-data-dir="$work/profile-dom" --dump-dom "file://$page" \
  >"$work/dom.html" 2>"$work/dom.log"
grep -q "<svg" "$work/dom.html" || { echo "the chart is missing from the DOM" >&2; exit 1; }
if grep -Eio '(<script|<link|<img|<iframe|src=|@import|url\(["'\'' ]*https?:)' "$work/dom.html"; then
  echo "the page refers to something it would fetch" >&2
  exit 1
fi

# 2. The screenshot, with the network log recorded.
mkdir -p "$(dirname "$out")"
"$chromium" "${flags[@]}" --user-data-dir="$work/profile-shot" \
  --log-net-log="$work/netlog.json" --net-log-capture-mode=Default \
  --window-size=1200,1600 --screenshot="$root/$out" "file://$page" 2>"$work/shot.log"
test -s "$root/$out"
# Chromium itself talks to Google on start (time sync, sign-in): those requests are
# browser-initiated ("initiator": "not an origin") and resolve to nothing here. Any request the
# page starts has the page's origin ("null" for file://) as initiator, and fails the check.
requests=$(python3 - "$work/netlog.json" <<'PY'
import json, sys
log = json.load(open(sys.argv[1]))
names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
for event in log["events"]:
    params = event.get("params", {})
    if names.get(event["type"]) == "URL_REQUEST_START_JOB" and "url" in params:
        if params.get("initiator") != "not an origin" and not params["url"].startswith("file:"):
            print(params["url"])
PY
)
if [[ -n "$requests" ]]; then
  echo "the page made network requests:" >&2
  echo "$requests" >&2
  exit 1
fi
echo "ok: $out (no network request)"
