#!/usr/bin/env bash
# The Lingua demo: four systems that never talk to each other directly.
#   hr       HR Open (JEDx) workers over a webhook, enrollments as JSON
#   ehr      a FHIR R4 server
#   insurer  X12 834 enrollment files in an outbox
#   badge    a REST access-control API behind OAuth2
# The script installs and builds Lingua, starts loopback stand-ins for the
# ehr, badge and hr servers (`lingua stand-in`), starts the hub on
# appliance/demo/lingua.json, and walks through a new hire and an address
# change made in the EHR.
#   bash appliance/demo/run.sh              walkthrough, then keep serving
#   DEMO_EXIT=1 bash appliance/demo/run.sh  stop after the walkthrough
# For tests: LINGUA=path/to/lingua skips the build; DEMO_CONFIG, DEMO_DATA
# (its data_dir), DEMO_HUB (its HTTP base URL) and DEMO_EHR_PORT,
# DEMO_BADGE_PORT, DEMO_HR_PORT (the stand-ins' ports in that
# configuration) point at another setup.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
demo=$top/appliance/demo
cfg=${DEMO_CONFIG:-$demo/lingua.json}
data=${DEMO_DATA:-$top/build/demo-data}
hub_url=${DEMO_HUB:-http://127.0.0.1:8080}
ehr_port=${DEMO_EHR_PORT:-9101}
badge_port=${DEMO_BADGE_PORT:-9102}
hr_port=${DEMO_HR_PORT:-9103}

if [ -n "${LINGUA:-}" ]; then
  lingua=$LINGUA
else
  bash "$top/appliance/setup.sh"
  lingua=$top/build/lingua
fi
command -v curl >/dev/null || { echo "demo: needs curl (apt-get install curl)" >&2; exit 1; }

# A fresh store each run, so the walkthrough shows versions 1, 2, ...
rm -rf "$data"
mkdir -p "$data/edi/insurer/in" "$data/edi/insurer/out" "$data/stand-ins"
logs=$data/stand-ins
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop_all EXIT

for s in "ehr:$ehr_port" "badge:$badge_port" "hr:$hr_port"; do
  name=${s%%:*}
  show=14; [ "$name" = hr ] && show=32
  "$lingua" stand-in --name "$name" --listen "127.0.0.1:${s##*:}" --show "$show" \
    --log "$logs/$name.jsonl" >"$logs/$name.out" 2>&1 &
  pids+=($!)
done
# The badge API's OAuth2 client secret, as an operator would provide it.
export LINGUA_DEMO_BADGE_SECRET=${LINGUA_DEMO_BADGE_SECRET:-demo-client-secret}
hublog=$data/hub.log
"$lingua" serve --config "$cfg" >"$hublog" 2>&1 &
hub=$!
pids+=("$hub")
for _ in $(seq 1 100); do
  grep -q "hub ready" "$hublog" && break
  kill -0 "$hub" 2>/dev/null || { cat "$hublog"; echo "demo: the hub did not start" >&2; exit 1; }
  sleep 0.1
done
grep -q "hub ready" "$hublog" || { cat "$hublog"; exit 1; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ lingua %s\n' "$*"; "$lingua" "$@"; }
post() { # METHOD PATH FILE CONTENT-TYPE
  printf '$ curl -X %s %s%s --data-binary @%s\n' "$1" "$hub_url" "$2" "${3#"$top"/}"
  curl -sS -X "$1" -H "Content-Type: $4" --data-binary "@$3" \
    -w '\n(HTTP %{http_code})\n' "$hub_url$2"
}
# The first "NAME": "value" of a JSON text.
field() { grep -o "\"$1\": *\"[^\"]*\"" | head -n 1 | sed 's/.*: *"\(.*\)"/\1/'; }
# Lines a stand-in printed since line $2 of its output.
since() { tail -n +"$(( $2 + 1 ))" "$logs/$1.out"; }
lines() { wc -l <"$logs/$1.out"; }
# Wait (at most 10 s) until a file holds at least N lines matching.
wait_for() { # FILE PATTERN N
  for _ in $(seq 1 100); do
    [ "$(grep -c -- "$2" "$1" 2>/dev/null || true)" -ge "$3" ] && return 0
    sleep 0.1
  done
  echo "demo: timed out waiting for '$2' in $1" >&2
  return 1
}
count_files() { find "$1" -maxdepth 1 -type f -name "$2" | wc -l; }

step "0. Four systems, one hub. Stand-ins answer for the servers:"
echo "   ehr   FHIR R4 server      http://127.0.0.1:$ehr_port/fhir"
echo "   badge REST API + OAuth2  http://127.0.0.1:$badge_port/api"
echo "   hr    HR Open endpoint   http://127.0.0.1:$hr_port/hr/jedx/workers"
echo "   insurer: X12 834 files in ${data#"$top"/}/edi/insurer/out"
ehr0=$(lines ehr); badge0=$(lines badge); hr0=$(lines hr)

step "1. HR hires Amara Okafor: an HR Open (JEDx) workers request on the hr webhook"
post POST /adapters/hr-in/inbound "$demo/records/new-hire.json" application/json | tee "$data/p1"
person=$(field canonical_id <"$data/p1")
worker=$(grep -o '"wor_[^"]*"' "$data/p1" | head -n 1 | tr -d '"')

step "2. ... and her health plan enrollment, as HR's benefits API sends it (JSON)"
post POST /adapters/hr-benefits-in/inbound "$demo/records/enrollment.json" application/json | tee "$data/p2"
coverage=$(field canonical_id <"$data/p2")

step "3. The canonical records Lingua keeps (every version, with its source)"
run get person "$person" --config "$cfg"
run history person "$person" --summary --config "$cfg"
run history worker "$worker" --summary --config "$cfg"
run history coverage "$coverage" --summary --config "$cfg"

wait_for "$logs/ehr.out" "^ehr <- PUT" 2
wait_for "$logs/badge.out" "^badge <- POST /api/holders" 1
for _ in $(seq 1 100); do
  [ "$(count_files "$data/edi/insurer/out" '*.x12')" -ge 1 ] && break
  sleep 0.1
done

step "4. The EHR received a FHIR Patient and Coverage (conditional updates by identifier)"
since ehr "$ehr0"

step "5. The insurer received an X12 834 benefit enrollment file"
edi=$(find "$data/edi/insurer/out" -maxdepth 1 -type f -name '*.x12' | sort | head -n 1)
if [ -n "$edi" ]; then
  echo "${edi#"$top"/}:"
  tr '~' '\n' <"$edi" | sed '/^$/d; s/^/    /'
else
  echo "(no 834 written: see $hublog)"
fi

step "5b. The insurer accepts it: a 999 in the insurer's inbox, recorded against our group"
if [ -n "$edi" ]; then
  gs06=$(tr '~' '\n' <"$edi" | sed -n 's/^GS\*\([^*]*\*\)\{5\}\([^*]*\)\*.*/\2/p')
  st02=$(tr '~' '\n' <"$edi" | sed -n 's/^ST\*834\*\([^*]*\)\*.*/\1/p')
  ack=$data/edi/insurer/in/999-for-$gs06.x12
  {
    printf 'ISA*00*          *00*          *ZZ*INSURERDEMO    *ZZ*LINGUADEMO     *'
    printf '%s*%s*^*00501*000000501*0*T*:~' "$(date -u +%y%m%d)" "$(date -u +%H%M)"
    printf 'GS*FA*INSURERDEMO*LINGUADEMO*%s*%s*501*X*005010X231A1~' "$(date -u +%Y%m%d)" "$(date -u +%H%M)"
    printf 'ST*999*0001*005010X231A1~AK1*BE*%s*005010X220A1~' "$gs06"
    printf 'AK2*834*%s*005010X220A1~IK5*A~AK9*A*1*1*1~SE*6*0001~' "$st02"
    printf 'GE*1*501~IEA*1*000000501~'
  } >"$ack.part"
  mv "$ack.part" "$ack"   # the inbox takes files that appear whole
  wait_for "$hublog" "acknowledgement(s) of our interchanges" 1 || true
  run edi acks insurer --config "$cfg"
fi

step "6. The badge system was called with an OAuth2 token it issued"
since badge "$badge0"
echo "(hr sent this person, so hr got nothing back: $(( $(lines hr) - hr0 )) calls)"

step "7. Her address changes in the EHR: a FHIR PUT on the EHR's own id"
ehr_id=$(sed -n 's/^ehr <- PUT \/fhir\/Patient.* id \(.*\)$/\1/p' "$logs/ehr.out" | head -n 1)
ehr1=$(lines ehr); badge1=$(lines badge); hr1=$(lines hr)
post PUT "/fhir/r4/Patient/$ehr_id" "$demo/records/patient-ehr-update.json" application/fhir+json |
  grep -E '^\$|^\(HTTP' || true
run history person "$person" --summary --config "$cfg"

wait_for "$logs/hr.out" "^hr <- " 1
wait_for "$logs/badge.out" "^badge <- PUT" 1
for _ in $(seq 1 100); do
  [ "$(count_files "$data/edi/insurer/out" '*-834.x12')" -ge 2 ] && break
  sleep 0.1
done

step "8. The change reached hr (HR Open), badge (REST) and the insurer (an 834 change) ..."
since hr "$hr1"
since badge "$badge1"
edi2=$(find "$data/edi/insurer/out" -maxdepth 1 -type f -name '*-834.x12' | sort | sed -n 2p)
if [ -n "$edi2" ]; then
  echo "${edi2#"$top"/} (INS03 001: a change, INS04 its reason; no 2300: the coverage did not change):"
  tr '~' '\n' <"$edi2" | grep -E '^(INS|REF|NM1\*IL|N3|N4)' | sed 's/^/    /'
else
  echo "(no 834 change written: see $hublog)"
fi
echo
echo "... and did not echo back to the EHR it came from: $(( $(lines ehr) - ehr1 )) new calls to ehr"
curl -sS "$hub_url/metrics" | grep -E '^lingua_delivery_(delivered|skipped)_total\{instance="ehr-out"' || true

step "9. Bad input is refused with its location, and nothing is written"
post POST /adapters/hr-in/inbound "$demo/records/new-hire-invalid.json" application/json || true
run schema validate person "$demo/records/person-invalid.json" --config "$cfg" || echo "(exit code $?)"

step "10. The event log, as subscribers receive it"
run events --from 1 --config "$cfg" | cut -c1-150

rm -f "$data/p1" "$data/p2"
if [ "${DEMO_EXIT:-0}" = 1 ]; then
  step "Done. Stopping the hub and the stand-ins."
  exit 0
fi
step "The hub keeps running on ${cfg#"$top"/} (Ctrl-C stops everything). Try, in another terminal:"
echo "  $lingua events --follow --config $cfg"
echo "  curl $hub_url/fhir/r4/Patient/$ehr_id"
echo "  tail -f $logs/*.out"
trap 'stop_all' INT TERM
trap - EXIT
tail -n +1 -f "$hublog" --pid "$hub" &
wait "$hub" || true
stop_all
