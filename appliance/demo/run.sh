#!/usr/bin/env bash
# The Lingua demo: install, build, start the hub on the demo configuration,
# then show what the hub does with records from two systems.
#   bash appliance/demo/run.sh              walkthrough, then keep serving
#   DEMO_EXIT=1 bash appliance/demo/run.sh  stop after the walkthrough
# For tests: LINGUA=path/to/lingua skips the build; DEMO_CONFIG and
# DEMO_DATA (its data_dir) point at another configuration.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
demo=$top/appliance/demo
cfg=${DEMO_CONFIG:-$demo/lingua.json}
data=${DEMO_DATA:-$top/build/demo-data}

if [ -n "${LINGUA:-}" ]; then
  lingua=$LINGUA
else
  bash "$top/appliance/setup.sh"
  lingua=$top/build/lingua
fi

# A fresh store each run, so the walkthrough shows versions 1, 2, ...
rm -rf "$data"
log=$(mktemp)
"$lingua" serve --config "$cfg" >"$log" 2>&1 &
hub=$!
stop_hub() {
  kill -TERM "$hub" 2>/dev/null || true
  wait "$hub" 2>/dev/null || true
}
trap stop_hub EXIT
for _ in $(seq 1 100); do
  grep -q "hub ready" "$log" && break
  kill -0 "$hub" 2>/dev/null || { cat "$log"; echo "demo: the hub did not start" >&2; exit 1; }
  sleep 0.1
done
grep -q "hub ready" "$log" || { cat "$log"; exit 1; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ lingua %s\n' "$*"; "$lingua" "$@"; }
field() { sed -n "s/.*\"$1\": \"\\{0,1\\}\\([^\",]*\\).*/\\1/p" | head -n 1; }

step "1. The HR system sends a new hire (canonical Person, native id E-1001)"
run ingest "$demo/records/person-hr.json" --config "$cfg" --entity person \
    --system hr --native-type Employee --native-id E-1001 --adapter hr-in | tee "$log.p1"
person=$(field canonical_id <"$log.p1")

step "2. ... and the employer and the employment (Worker)"
run ingest "$demo/records/organization-hr.json" --config "$cfg" \
    --entity organization --system hr --native-type Company --native-id ACME
run ingest "$demo/records/worker-hr.json" --config "$cfg" --entity worker \
    --system hr --native-type Employment --native-id EMP-1001-1

step "3. The same message again changes nothing (no version, no event)"
run ingest "$demo/records/person-hr.json" --config "$cfg" --entity person \
    --system hr --native-type Employee --native-id E-1001

step "4. The EHR sends its copy with a new address: matched on the shared SSN identifier, it becomes version 2 of the same person"
run ingest "$demo/records/person-ehr.json" --config "$cfg" --entity person \
    --system ehr --native-type Patient --native-id MRN-77812

step "5. One canonical record, known to both systems"
run xref ehr Patient MRN-77812 --config "$cfg"

step "6. Its history: who changed what, when, with which trace id"
run history person "$person" --summary --config "$cfg"

step "7. The event log, as subscribers receive it (PUB live, REPLAY from any sequence)"
run events --from 1 --config "$cfg" | cut -c1-160

step "8. Bad input is refused with its location, and nothing is written"
run ingest "$demo/records/person-invalid.json" --config "$cfg" --entity person \
    --system hr --native-id E-1002 || echo "(exit code $?)"
run schema validate person "$demo/records/person-invalid.json" --config "$cfg" || echo "(exit code $?)"

rm -f "$log.p1"
if [ "${DEMO_EXIT:-0}" = 1 ]; then
  step "Done. Stopping the hub."
  exit 0
fi
step "The hub keeps running on $cfg (Ctrl-C to stop). Try, in another terminal:"
echo "  $lingua events --follow --config $cfg"
trap - EXIT
trap 'kill -TERM $hub 2>/dev/null' INT TERM
tail -n +1 -f "$log" --pid "$hub" &
wait "$hub" || true
