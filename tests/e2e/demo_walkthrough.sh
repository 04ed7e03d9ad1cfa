#!/usr/bin/env bash
# End to end: the README's demo walkthrough against a real hub process on
# its own ports and data directory; checks what a person would look at.
set -euo pipefail
lingua=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/lx-e2e-demo-XXXXXX)
trap 'rm -rf "$work"' EXIT
# Ports from the pid, away from the demo's defaults.
base=$(( 30000 + ($$ % 2000) * 2 ))
cat >"$work/lingua.json" <<JSON
{"data_dir": "$work/data", "schemas": "$top/schemas/canonical",
 "bus": {"pub": "tcp://127.0.0.1:$base", "router": "tcp://127.0.0.1:$((base + 1))"},
 "store": {"sync": true}, "log": {"level": "warn"},
 "systems": {"hr": {}, "ehr": {}}}
JSON
out=$work/out.txt
LINGUA=$lingua DEMO_CONFIG=$work/lingua.json DEMO_DATA=$work/data DEMO_EXIT=1 \
  bash "$top/appliance/demo/run.sh" >"$out" 2>&1 || { cat "$out"; exit 1; }

fail() { echo "e2e demo: $*" >&2; cat "$out" >&2; exit 1; }
expect() { grep -qE -- "$1" "$out" || fail "missing: $1"; }
expect '"created": true'
expect '"unchanged": true'
expect '"version": 2'
expect '"native_id": "MRN-77812"'
expect '"native_id": "E-1001"'
expect '^v2 .* from ehr/Patient/MRN-77812'
expect 'rejected by the hub: LX_ESCHEMA: at /birth_date'
expect '/nickname: property is not allowed'
# The store holds exactly four events: person created, organization,
# worker, person updated; the rejected and unchanged ingests wrote nothing.
n=$("$lingua" events --data-dir "$work/data" | wc -l)
[ "$n" = 4 ] || fail "expected 4 events, found $n"
"$lingua" events --data-dir "$work/data" --from 4 | grep -q '"type":"person.updated"' ||
  fail "event 4 is not person.updated"
echo "e2e demo: ok"
