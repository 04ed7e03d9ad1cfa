#!/usr/bin/env bash
# End to end: the README's demo (appliance/demo/run.sh) on a real hub and
# real stand-in servers, on their own ports and data directory. Checks what
# each system received: the EHR's FHIR Patient and Coverage, the insurer's
# 834, the badge system's OAuth2 token request and holder calls, HR's HR
# Open document after the EHR's address change, and that the change made
# in the EHR did not echo back to it.
set -euo pipefail
lingua=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/lx-e2e-demo-XXXXXX)
trap 'rm -rf "$work"' EXIT
# Six free ports in a row, below the kernel's ephemeral range: a port in
# that range can be taken at any moment by another test's outgoing
# connection (CI once failed on exactly that), and the demo's defaults
# may be in use on a developer machine.
low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "$low" -gt 12000 ] 2>/dev/null || low=32768
port_taken() { # any socket of any state on that local or remote port
  grep -qi "$(printf ':%04X ' "$1")" /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
base=
for try in $(seq 1 200); do
  b=$(( 10000 + ((($$ + try * 7919 + RANDOM) % ((low - 10008) / 8)) * 8) ))
  ok=1
  for i in 0 1 2 3 4 5; do port_taken $((b + i)) && { ok=0; break; }; done
  [ $ok = 1 ] && { base=$b; break; }
done
[ -n "$base" ] || { echo "e2e demo: no six free loopback ports below $low" >&2; exit 1; }
http=$base ehr=$((base + 3)) badge=$((base + 4)) hr=$((base + 5))
sed -e "s|127.0.0.1:8080|127.0.0.1:$http|" \
    -e "s|tcp://127.0.0.1:5560|tcp://127.0.0.1:$((base + 1))|" \
    -e "s|tcp://127.0.0.1:5561|tcp://127.0.0.1:$((base + 2))|" \
    -e "s|127.0.0.1:9101|127.0.0.1:$ehr|g" \
    -e "s|127.0.0.1:9102|127.0.0.1:$badge|g" \
    -e "s|127.0.0.1:9103|127.0.0.1:$hr|g" \
    -e "s|\"level\": \"info\"|\"level\": \"warn\"|" \
    -e "s|../../build/demo-data|$work/data|g" \
    -e "s|../../schemas/canonical|$top/schemas/canonical|" \
    "$top/appliance/demo/lingua.json" >"$work/lingua.json"
out=$work/out.txt
LINGUA=$lingua DEMO_CONFIG=$work/lingua.json DEMO_DATA=$work/data \
  DEMO_HUB=http://127.0.0.1:$http DEMO_EHR_PORT=$ehr DEMO_BADGE_PORT=$badge \
  DEMO_HR_PORT=$hr DEMO_EXIT=1 \
  bash "$top/appliance/demo/run.sh" >"$out" 2>&1 || { cat "$out"; exit 1; }

logs=$work/data/stand-ins
fail() { echo "e2e demo: $*" >&2; cat "$out" >&2; exit 1; }
expect() { grep -qE -- "$1" "$out" || fail "missing in the output: $1"; }
# Line N (1-based) of a stand-in's JSON log holds every pattern given.
call() { # SYSTEM N PATTERN...
  local sys=$1 n=$2 line
  shift 2
  line=$(sed -n "${n}p" "$logs/$sys.jsonl")
  [ -n "$line" ] || fail "$sys: no call #$n"
  for p in "$@"; do
    grep -qF -- "$p" <<<"$line" || fail "$sys call #$n lacks $p: $line"
  done
}
calls() { wc -l <"$logs/$1.jsonl"; }

# 1-2. Accepted by the hub.
expect '"entity":"person","canonical_id":"per_[0-9A-Z]{26}","version":1,"created":true'
expect '"entity":"coverage","native_id":"ENR-1001-MED"'
# 3. Canonical records and versions.
expect '^v1 .* from hr/person/E-1001'
expect '^v1 .* from hr/Enrollment/ENR-1001-MED'
expect '^v2 .* from ehr/Patient/ehr-1'

# 4. The EHR: a conditional update of the Patient, then the Coverage; and
# nothing after the change it made itself (no echo).
[ "$(calls ehr)" = 2 ] || fail "ehr received $(calls ehr) calls, expected 2"
call ehr 1 '"method":"PUT"' '"path":"/fhir/Patient"' \
  '"identifier":"urn:lingua:hropen:worker-id|E-1001"' '"family":"Okafor"' \
  '"12 Harbour Street"' '"birthDate":"1990-04-17"' '"resourceType":"Patient"'
call ehr 2 '"method":"PUT"' '"path":"/fhir/Coverage"' \
  '"identifier":"urn:lingua-demo:hr:enrollment|ENR-1001-MED"' \
  '"value":"PPO-GOLD"' '"resourceType":"Coverage"'

# 5. The insurer: one 834 in its outbox, addressed with the partner's ids.
edi=$(find "$work/data/edi/insurer/out" -maxdepth 1 -name '*-834.x12' | sort | head -n 1)
[ -n "$edi" ] || fail "no 834 in the insurer's outbox"
x12=$(tr -d '\r\n' <"$edi")
for p in '*ZZ*LINGUADEMO     *ZZ*INSURERDEMO    *' 'ST*834*' 'INS*Y*18*021' \
         'NM1*IL*1*Okafor*Amara' 'HD*021' 'DMG*D8*19900417'; do
  grep -qF -- "$p" <<<"$x12" || fail "834 lacks $p: $x12"
done
[ "$(grep -o 'ISA\*' <<<"$x12" | wc -l)" = 1 ] || fail "one interchange expected"

# 5b. The insurer's 999 for our 834 is recorded against our group.
expect '^group 1 +999 +accepted +received'
expect '^  834 0001: accepted'

# 6. Badge: a client-credentials token, then the holder created with it,
# then, after the EHR's change, updated on the id badge returned.
[ "$(calls badge)" = 3 ] || fail "badge received $(calls badge) calls, expected 3"
call badge 1 '"method":"POST"' '"path":"/token"' 'grant_type=client_credentials' \
  '"Authorization":"Basic '
call badge 2 '"method":"POST"' '"path":"/api/holders"' \
  '"Authorization":"Bearer badge-token-1"' '"employee_no":"E-1001"' \
  '"last_name":"Okafor"' '"street":"12 Harbour Street"'
call badge 3 '"method":"PUT"' '"path":"/api/holders/badge-1"' \
  '"Authorization":"Bearer badge-token-1"' '"employee_no":"E-1001"' \
  '"street":"48 Lakeview Avenue"'

# 8. HR: nothing for its own new hire, one HR Open document after the
# EHR's change, carrying the new address.
[ "$(calls hr)" = 1 ] || fail "hr received $(calls hr) calls, expected 1"
call hr 1 '"method":"POST"' '"path":"/hr/jedx/workers"' '"workers":[' \
  '"48 Lakeview Avenue"' '"value":"E-1001"'
expect '0 new calls to ehr'
# The insurer: a second 834 after the EHR's change, a maintenance (INS03
# 001) of the member's coverage carrying the new address, without the 2300
# loop: the coverage itself did not change. (INS04 is 25, not 43: the EHR's
# Patient's identifiers carry no type, so identifying data changed too.)
edis=$(find "$work/data/edi/insurer/out" -maxdepth 1 -name '*-834.x12' | sort)
[ "$(wc -l <<<"$edis")" = 2 ] || fail "expected 2 834 files, found: $edis"
x12b=$(tr -d '\r\n' <"$(sed -n 2p <<<"$edis")")
for p in '*ZZ*LINGUADEMO     *ZZ*INSURERDEMO    *' 'ST*834*' 'INS*Y*18*001*' \
         'NM1*IL*1*Okafor*Amara' 'N3*48 Lakeview Avenue'; do
  grep -qF -- "$p" <<<"$x12b" || fail "834 change lacks $p: $x12b"
done
! grep -qF 'HD*' <<<"$x12b" || fail "834 change carries a 2300 loop: $x12b"
expect 'an 834 change'
# The EHR's own change was skipped by ehr-out (echo suppression), with the
# worker event it does not subscribe to.
expect '^lingua_delivery_skipped_total\{instance="ehr-out"\} [1-9]'

# 9. Bad input: located, nothing written.
expect '"code":"LX_ESCHEMA","message":"at /workers/0/person/birthDate'
expect '\(HTTP 422\)'
expect '/nickname: property is not allowed'
# The store holds exactly four events: person, worker, coverage created,
# person updated by the EHR; the refused document wrote nothing.
n=$("$lingua" events --data-dir "$work/data" | wc -l)
[ "$n" = 4 ] || fail "expected 4 events, found $n"
"$lingua" events --data-dir "$work/data" --from 4 | grep -q '"type":"person.updated"' ||
  fail "event 4 is not person.updated"
echo "e2e demo: ok"
