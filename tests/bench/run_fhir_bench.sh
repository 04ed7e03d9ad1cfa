#!/usr/bin/env bash
# tests/bench/run_fhir_bench.sh: build a Release tree, run bench_fhir, and
# time the npm `fhir` package's JSON -> XML on the same Patient for the
# ratio (skipped, saying so, when npm cannot install it).
#
# Usage: tests/bench/run_fhir_bench.sh [BUILD_DIR] [-- bench_fhir options]
#   BUILD_DIR defaults to build-fbench at the top of the repository.
#   e.g. tests/bench/run_fhir_bench.sh -- --clients 1,8,32 --seconds 5
# Everything runs on 127.0.0.1; the hub bench_fhir starts is killed when it
# ends; the npm package goes to a temporary directory removed at the end.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build="$repo/build-fbench"
if [[ $# -gt 0 && $1 != -- ]]; then
    build=$1
    shift
fi
[[ ${1:-} == -- ]] && shift

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lx-fbench-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "== build (Release) in $build"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" 2>&1 ||
    { cat "$tmp/cmake.log"; exit 1; }
cmake --build "$build" -j2 --target lingua bench_fhir >"$tmp/build.log" 2>&1 ||
    { tail -50 "$tmp/build.log"; exit 1; }

echo "== bench_fhir $* ($(date -u '+%Y-%m-%d %H:%M UTC'))"
export LX_LINGUA="$build/lingua"
export LX_SCHEMAS_DIR="$repo/schemas/canonical"
export LX_CORPUS_DIR="${LX_CORPUS_DIR:-$repo/../shared/corpus}"
status=0
"$build/tests/bench/bench_fhir" "$@" | tee "$tmp/bench.out" || status=$?

ours=$(sed -n 's/^RESULT json_text_to_xml_per_s=\([0-9.]*\)$/\1/p' "$tmp/bench.out")
ours_tree=$(sed -n 's/^RESULT json_to_xml_per_s=\([0-9.]*\)$/\1/p' "$tmp/bench.out")
patient="$LX_CORPUS_DIR/fhir/r4/json/Patient-example.json"

echo "== npm fhir package: JSON -> XML on $(basename "$patient")"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "node or npm is not installed: comparison skipped"
    exit $status
fi
if ! (cd "$tmp" && timeout 180 npm install --no-audit --no-fund --silent \
        --prefix "$tmp" fhir@4 >"$tmp/npm.log" 2>&1); then
    echo "npm is not reachable (npm install fhir failed): comparison skipped"
    tail -5 "$tmp/npm.log"
    exit $status
fi
version=$(node -e "console.log(require('$tmp/node_modules/fhir/package.json').version)")
# jsonToXml takes the JSON text (it parses it itself), so it is compared
# with our text -> XML (lx_fhir_parse + lx_fhir_serialize); both single
# threaded, after a warm-up.
npm_rate=$(cd "$tmp" && timeout 120 node -e '
const { Fhir } = require("fhir");
const fs = require("fs");
const text = fs.readFileSync(process.argv[1], "utf8");
const fhir = new Fhir();
for (let i = 0; i < 200; i++) fhir.jsonToXml(text);
let n = 0;
const t0 = process.hrtime.bigint();
let t = t0;
while (Number(t - t0) < 3e9) {
    for (let i = 0; i < 64; i++) fhir.jsonToXml(text);
    n += 64;
    t = process.hrtime.bigint();
}
console.log((n / (Number(t - t0) / 1e9)).toFixed(0));
' "$patient")
echo "npm fhir $version jsonToXml(text): $npm_rate /s (node $(node --version))"
echo "ours, text -> XML:               $ours /s (tree -> XML: $ours_tree /s)"
awk -v a="$ours" -v b="$npm_rate" -v c="$ours_tree" 'BEGIN {
    r = a / b; met = (r >= 20) ? "met" : "NOT MET";
    printf("ratio ours / npm fhir = %.1fx (target >= 20x: %s); tree only: %.1fx\n",
           r, met, c / b) }'
echo "RESULT npm_fhir_json_to_xml_per_s=$npm_rate"
exit $status
