#!/usr/bin/env bash
# tests/bench/run_edi_bench.sh: the EDI parse benchmark (README.md, "EDI").
#
# Generates a ~100 MB X12 834 and a ~100 MB EDIFACT ORDERS interchange in
# /tmp, streams them with bench_edi (our readers: envelope checks, and with
# the definitions of schemas/ loops/groups, order, repeats, element types
# and lengths), installs the npm packages node-x12 and edifact into a temp
# dir, times them on the same files in the same run and prints throughput
# (wall-clock MB/s, and MB per CPU second, which other load on the machine
# disturbs less), peak RSS and the ratios. A 10 MB file of the same shape shows that our
# peak RSS does not grow with the input.
#
# The npm parsers load the whole file into memory (node-x12 ~57 bytes of
# heap per input byte), so node gets a large heap (NODE_HEAP_MB, default
# 16384) and needs ~6 GiB for 100 MB; NODE_MB=10 gives them the 10 MB file
# instead, for a quicker run.
#
# Usage: tests/bench/run_edi_bench.sh [path/to/bench_edi]
#   (default build-stream-rel/tests/bench/bench_edi; build it with
#    cmake -B build-stream-rel -DCMAKE_BUILD_TYPE=Release)
# Environment: MB (default 100), NODE_MB (default MB), SMALL_MB (default
# 10), KEEP=1 keeps /tmp files, NPM_DIR reuses an install dir.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
bench=${1:-$here/build-stream-rel/tests/bench/bench_edi}
mb=${MB:-100}
node_mb=${NODE_MB:-$mb}
small_mb=${SMALL_MB:-10}
node_heap=${NODE_HEAP_MB:-16384}
tmp=$(mktemp -d /tmp/lx_edi_bench.XXXXXX)
npm_dir=${NPM_DIR:-$tmp/npm}
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$tmp"; }
trap cleanup EXIT

[ -x "$bench" ] || { echo "no bench_edi at $bench" >&2; exit 2; }
command -v node >/dev/null || { echo "node is required" >&2; exit 2; }
timev=/usr/bin/time
[ -x "$timev" ] || { echo "/usr/bin/time (GNU time) is required" >&2; exit 2; }

echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "host: $(uname -srm), $(nproc) cpus, node $(node --version)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

for size in $(printf '%s\n' "$mb" "$node_mb" "$small_mb" | sort -u); do
    "$bench" gen-x12 "$tmp/834_$size.x12" "$size"
    "$bench" gen-edifact "$tmp/orders_$size.edi" "$size"
done

# Peak RSS of a command in KiB, from GNU time -v; its stdout goes to $out.
run_timed() { # out-file cmd...
    local out=$1; shift
    "$timev" -v "$@" >"$out" 2>"$out.time"
    awk -F': ' '/Maximum resident set size/ {print $2}' "$out.time"
}
# MB per CPU second (user + system, all threads, whole process) of a run
# of $2 MB: less sensitive than wall-clock MB/s to other load on the
# machine, which makes a process wait rather than work.
cpu_rate() { # out-file MB
    awk -F': ' -v mb="$2" '/User time/ {u = $2} /System time/ {s = $2}
        END { if (u + s > 0) printf "%.1f", mb / (u + s); else print 0 }' \
        "$1.time"
}
field() { # file key -> value of key=value
    tr ' ' '\n' <"$1" | awk -F= -v k="$2" '$1 == k {print $2}'
}

declare -A rate rss cpu
# our_<kind>_<mode>: mode raw (envelopes only), defs (validated against
# the definitions; the tree is built on demand), tree (the JSON tree of
# every transaction/message built too), small (defs on the small file).
for kind in x12 edifact; do
    f=$tmp/834_$mb.x12; s=$tmp/834_$small_mb.x12; defs=$here/schemas/x12/005010
    if [ $kind = edifact ]; then
        f=$tmp/orders_$mb.edi; s=$tmp/orders_$small_mb.edi
        defs=$here/schemas/edifact/d96a
    fi
    for mode in raw defs tree small; do
        case $mode in
            raw) args=("$f" -) ;;
            defs) args=("$f" "$defs") ;;
            tree) args=("$f" "$defs" tree) ;;
            small) args=("$s" "$defs") ;;
        esac
        out=$tmp/our_${kind}_$mode.out
        r=$(run_timed "$out" "$bench" "$kind" "${args[@]}")
        cat "$out"
        rate[our_${kind}_$mode]=$(field "$out" MB/s)
        rss[our_${kind}_$mode]=$r
        cpu[our_${kind}_$mode]=$(cpu_rate "$out" "$(field "$out" MB)")
    done
done

mkdir -p "$npm_dir"
if [ ! -d "$npm_dir/node_modules/node-x12" ] ||
   [ ! -d "$npm_dir/node_modules/edifact" ]; then
    (cd "$npm_dir" && npm init -y >/dev/null 2>&1 &&
     npm install --no-audit --no-fund node-x12 edifact >/dev/null 2>&1)
fi
echo "npm: node-x12 $(node -p "require('$npm_dir/node_modules/node-x12/package.json').version")," \
     "edifact $(node -p "require('$npm_dir/node_modules/edifact/package.json').version")"

cat >"$tmp/x12.js" <<EOF
const fs = require('fs');
const { X12Parser } = require('$npm_dir/node_modules/node-x12');
const f = process.argv[2];
const t0 = process.hrtime.bigint();
const text = fs.readFileSync(f, 'utf8');
const ic = new X12Parser(true).parse(text);
let n = 0;
for (const g of ic.functionalGroups) n += g.transactions.length;
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const mb = fs.statSync(f).size / 1e6;
console.log('node-x12 file=' + f + ' MB=' + mb.toFixed(1) + ' units=' + n +
            ' secs=' + secs.toFixed(3) + ' MB/s=' + (mb / secs).toFixed(1));
EOF
cat >"$tmp/edifact.js" <<EOF
const fs = require('fs');
const { Reader } = require('$npm_dir/node_modules/edifact');
const f = process.argv[2];
const t0 = process.hrtime.bigint();
const text = fs.readFileSync(f, 'utf8');
const segs = new Reader({ autoDetectEncoding: false }).parse(text);
let n = 0;
for (const s of segs) if (s.name === 'UNH') n++;
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const mb = fs.statSync(f).size / 1e6;
console.log('edifact file=' + f + ' MB=' + mb.toFixed(1) + ' units=' + n +
            ' secs=' + secs.toFixed(3) + ' MB/s=' + (mb / secs).toFixed(1));
EOF

for kind in x12 edifact; do
    g=$tmp/834_$node_mb.x12
    [ $kind = edifact ] && g=$tmp/orders_$node_mb.edi
    if r=$(run_timed "$tmp/node_$kind.out" node \
             --max-old-space-size="$node_heap" "$tmp/$kind.js" "$g"); then
        cat "$tmp/node_$kind.out"
        rate[node_$kind]=$(field "$tmp/node_$kind.out" MB/s)
        rss[node_$kind]=$r
        cpu[node_$kind]=$(cpu_rate "$tmp/node_$kind.out" \
                          "$(field "$tmp/node_$kind.out" MB)")
    else
        echo "node $kind failed on $node_mb MB:"; tail -3 "$tmp/node_$kind.out.time"
        rate[node_$kind]=0; rss[node_$kind]=0; cpu[node_$kind]=0
    fi
done

echo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %10s %12s %14s\n' "parser (file)" "MB/s" "MB/CPU-s" "peak RSS MiB"
row() { # label key
    printf '%-44s %10s %12s %14s\n' "$1" "${rate[$2]}" "${cpu[$2]}" \
        "$(( ${rss[$2]:-0} / 1024 ))"
}
for kind in x12 edifact; do
    row "lingua $kind, envelopes only ($mb MB)" our_${kind}_raw
    row "lingua $kind + definitions ($mb MB)" our_${kind}_defs
    row "lingua $kind + definitions + tree ($mb MB)" our_${kind}_tree
    row "lingua $kind + definitions ($small_mb MB)" our_${kind}_small
    name=node-x12; [ $kind = edifact ] && name=edifact
    row "npm $name ($node_mb MB)" node_$kind
done
echo
for kind in x12 edifact; do
    awk -v a="${rate[our_${kind}_defs]}" -v t="${rate[our_${kind}_tree]}" \
        -v r="${rate[our_${kind}_raw]}" -v b="${rate[node_$kind]}" -v k=$kind \
        'BEGIN { if (b > 0) printf "%s lingua/npm throughput: %.1fx validated (tree on demand), %.1fx with every tree built, %.1fx envelopes only\n", k, a / b, t / b, r / b }'
    awk -v a="${cpu[our_${kind}_defs]}" -v t="${cpu[our_${kind}_tree]}" \
        -v b="${cpu[node_$kind]}" -v k=$kind \
        'BEGIN { if (b > 0) printf "%s lingua/npm per CPU second: %.1fx validated, %.1fx with every tree built\n", k, a / b, t / b }'
    awk -v a="${rss[our_${kind}_defs]}" -v s="${rss[our_${kind}_small]}" \
        -v b="${rss[node_$kind]}" -v k=$kind -v m=$mb -v sm=$small_mb \
        'BEGIN { printf "%s peak RSS: lingua %d MiB (%d MB) vs %d MiB (%s MB); npm %d MiB\n", k, a / 1024, m, s / 1024, sm, b / 1024 }'
done
