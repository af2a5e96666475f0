#!/usr/bin/env bash
# Runs the scheduler × scenario matrix of `wanbond sim` and writes docs/sim-matrix.md:
# the engine issue's acceptance checks first, then every scheduler on every scenario.
# Usage: scripts/sim-matrix.sh [DURATION_S]   (default 60; seed 1; needs dotnet, jq and bc)
# One TCP flow on these traces moves by ±30 % with its start time, so the one-flow acceptance table takes the
# mean over OFFSETS start offsets (seeds 1..OFFSETS, --start-jitter 3000; default 10) for every system it
# compares; the per-scheduler table below it shows the single run with the flow starting at once.
# Runs go NPROC at a time (default: the machine's cores).
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-60}"
offsets="${OFFSETS:-10}"
par="${NPROC:-$(nproc)}"
out=docs/sim-matrix.md
if ! command -v jq >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq >/dev/null && apt-get install -y -qq jq >/dev/null
  else
    echo "sim-matrix.sh: jq is required (apt-get install jq)" >&2
    exit 1
  fi
fi

dotnet build -c Release src/WanBond -v quiet -nologo >/dev/null
cli=(dotnet src/WanBond/bin/Release/net10.0/wanbond.dll sim --direction down --duration "$duration" --json)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

declare -A trace=([TM]=TMobile-LTE-short [VZ]=Verizon-LTE-short [ATT]=ATT-LTE-driving-2016 [UMTS]=TMobile-UMTS-driving)
combos=("TM VZ" "VZ ATT" "TM ATT" "UMTS VZ" "TM VZ ATT")
delays=(30 60)
schedulers=(adaptive roundrobin weighted minrtt)
workloads=(bulk tcp:1)

# run NAME ARGS...: one simulation in the background (at most $par at once), JSON kept in $work/NAME.json
run() { run_seed "$1" 1 "${@:2}"; }
# run_seed NAME SEED ARGS...
run_seed() {
  local name="$1" seed="$2"
  shift 2
  while [ "$(jobs -rp | wc -l)" -ge "$par" ]; do wait -n || exit 1; done
  echo "  $name" >&2
  "${cli[@]}" --seed "$seed" "$@" >"$work/$name.json" &
}
# run_offsets NAME ARGS...: the same one-flow simulation from $offsets start offsets, NAME-o1 … NAME-oK
run_offsets() {
  local name="$1" k
  shift
  for k in $(seq 1 "$offsets"); do run_seed "$name-o$k" "$k" "$@" --start-jitter 3000; done
}
# sum_of combo delay -> the --link flag of the ideal aggregate: one link with the summed traces
sum_of() {
  local names=() t
  for t in $1; do names+=("${trace[$t]}"); done
  printf -- '--link %s,%s,200' "$(IFS=+; echo "${names[*]}")" "$2"
}
links_of() { # combo delay -> --link flags
  local d="$2" t
  for t in $1; do printf -- '--link %s,%s,200 ' "${trace[$t]}" "$d"; done
}
key() { echo "$1" | tr ' ' '+'; }

for combo in "${combos[@]}"; do
  for d in "${delays[@]}"; do
    for w in "${workloads[@]}"; do
      for s in "${schedulers[@]}"; do
        # shellcheck disable=SC2046
        run "$(key "$combo")-$d-${w%%:*}-$s" $(links_of "$combo" "$d") --workload "$w" --scheduler "$s"
        # shellcheck disable=SC2046
        [ "$w" = bulk ] || run_offsets "$(key "$combo")-$d-${w%%:*}-$s" $(links_of "$combo" "$d") --workload "$w" --scheduler "$s"
      done
    done
  done
done
for combo in "${combos[@]}"; do
  for d in "${delays[@]}"; do
    # shellcheck disable=SC2046
    run "agg-$(key "$combo")-$d-bulk" $(sum_of "$combo" "$d") --workload bulk
    # shellcheck disable=SC2046
    run_offsets "agg-$(key "$combo")-$d-tcp" $(sum_of "$combo" "$d") --workload tcp:1
  done
done
run "agg-C10+C20-30-bulk" --link-rate 30,30,200 --workload bulk
run_offsets "agg-C10+C20-30-tcp" --link-rate 30,30,200 --workload tcp:1
for t in "${!trace[@]}"; do
  for d in "${delays[@]}"; do
    run_offsets "single-$t-$d" --link "${trace[$t]},$d,200" --workload tcp:1
    run_offsets "raw-$t-$d" --link "${trace[$t]},$d,200" --workload tcp:1 --no-tunnel
  done
done
for w in "${workloads[@]}"; do
  for s in "${schedulers[@]}"; do
    run "C10+C20-30-${w%%:*}-$s" --link-rate 10,30,200 --link-rate 20,30,200 --workload "$w" --scheduler "$s"
    [ "$w" = bulk ] || run_offsets "C10+C20-30-${w%%:*}-$s" --link-rate 10,30,200 --link-rate 20,30,200 --workload "$w" --scheduler "$s"
  done
done
run_offsets "single-C10-30" --link-rate 10,30,200 --workload tcp:1
run_offsets "single-C20-30" --link-rate 20,30,200 --workload tcp:1
run_offsets "raw-C10-30" --link-rate 10,30,200 --workload tcp:1 --no-tunnel
run_offsets "raw-C20-30" --link-rate 20,30,200 --workload tcp:1 --no-tunnel
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || exit 1; done

j() { jq -r "$2" "$work/$1.json"; }
# mean_of NAME FIELD: a JSON field averaged over NAME's start offsets
mean_of() {
  local k files=()
  for k in $(seq 1 "$offsets"); do files+=("$work/$1-o$k.json"); done
  jq -s "map($2) | add / length" "${files[@]}"
}
mean_goodput() { mean_of "$1" .goodput_mbps; } # NAME
f() { printf '%.*f' "$1" "$2"; }
sum_singles() { # prefix combo delay
  local total=0 t
  for t in $2; do total=$(echo "$total + $(mean_goodput "$1-$t-$3")" | bc -l); done
  echo "$total"
}
command -v bc >/dev/null || { echo "sim-matrix.sh: bc is required" >&2; exit 1; }

all_combos=("${combos[@]}")
tmp="$work/out.md"
{
  echo "# Simulator matrix"
  echo
  echo "Generated by \`scripts/sim-matrix.sh $duration\` at commit \`$(git rev-parse --short HEAD)\`; do not edit by hand."
  echo "Downlink, ${duration} s per run (start-up included), seed 1 unless said, 200 ms drop-tail link queues."
  echo "TM = TMobile-LTE-short, VZ = Verizon-LTE-short, ATT = ATT-LTE-driving-2016, UMTS = TMobile-UMTS-driving"
  echo "(traces/README.md); C10/C20 = constant 10/20 Mbit/s. Metric definitions: docs/simulator.md."
  echo
  echo "## Bulk, adaptive: efficiency and delay"
  echo
  echo "Targets (engine issue): efficiency ≥ 0.95 on constant links, ≥ 0.85 on traces; p95 delay ≤ largest path delay + 50 ms."
  echo
  echo "The last two columns run the same engine over one link with the summed traces (the ideal aggregate a bond of"
  echo "them could be; for C10+C20 a constant 30 Mbit/s link): no reordering, no guess of which link is faster."
  echo
  echo "| links | delay ms | capacity Mbit/s | goodput Mbit/s | efficiency | delay p50 / p95 ms | p95 bound ms | reorder hold p95 ms | aggregate: efficiency | aggregate: p95 ms |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for combo in "C10+C20" "${all_combos[@]}"; do
    for d in "${delays[@]}"; do
      n="$(key "$combo")-$d-bulk-adaptive"
      [ -f "$work/$n.json" ] || continue
      echo "| $(key "$combo") | $d | $(f 2 "$(j "$n" .capacity_mbps)") | $(f 2 "$(j "$n" .goodput_mbps)") | $(f 3 "$(j "$n" .efficiency)") | $(f 0 "$(j "$n" .delay_ms.p50)") / $(f 0 "$(j "$n" .delay_ms.p95)") | $((d + 50)) | $(f 0 "$(j "$n" .reorder_hold_ms_p95)") | $(f 3 "$(j "agg-$(key "$combo")-$d-bulk" .efficiency)") | $(f 0 "$(j "agg-$(key "$combo")-$d-bulk" .delay_ms.p95)") |"
    done
  done
  echo
  echo "## One inner TCP flow (NewReno): bonded against each link alone"
  echo
  echo "Target: adaptive ≥ 0.9 × the sum of what each link alone gives the same workload. \"alone, tunnel\" runs each"
  echo "link through the engine (same simulator, same workload); \"alone, raw\" runs TCP straight over the link (\`--no-tunnel\`),"
  echo "where it fills the 200 ms modem buffer. Every figure here is the mean over $offsets start offsets of the flow"
  echo "(seeds 1–$offsets, \`--start-jitter 3000\`): one flow on these traces moves by ±30 % with its start time."
  echo "\"ideal aggregate\" runs the flow through the engine over one link with the summed traces: what a perfect bond"
  echo "would give it. Timeouts: the flow's retransmission timeouts per run, bonded (adaptive) and over the aggregate."
  echo
  echo "| links | delay ms | adaptive Mbit/s | sum alone, tunnel | ratio | sum alone, raw | ratio | best baseline Mbit/s | adaptive / weighted | ideal aggregate Mbit/s | adaptive ÷ aggregate | timeouts, adaptive / aggregate |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  for combo in "C10 C20" "${all_combos[@]}"; do
    for d in "${delays[@]}"; do
      n="$(key "$combo")-$d-tcp-adaptive"
      [ -f "$work/$n.json" ] || continue
      a=$(mean_goodput "$n")
      st=$(sum_singles single "$combo" "$d")
      sr=$(sum_singles raw "$combo" "$d")
      best=0
      for s in roundrobin weighted minrtt; do
        g=$(mean_goodput "$(key "$combo")-$d-tcp-$s")
        best=$(echo "if ($g > $best) $g else $best" | bc -l)
      done
      wt=$(mean_goodput "$(key "$combo")-$d-tcp-weighted")
      an="agg-$(key "$combo")-$d-tcp"
      ag=$(mean_goodput "$an")
      echo "| $(key "$combo") | $d | $(f 2 "$a") | $(f 2 "$st") | $(f 2 "$(echo "$a / $st" | bc -l)") | $(f 2 "$sr") | $(f 2 "$(echo "$a / $sr" | bc -l)") | $(f 2 "$best") | $(f 1 "$(echo "$a / $wt" | bc -l)") | $(f 2 "$ag") | $(f 2 "$(echo "$a / $ag" | bc -l)") | $(f 1 "$(mean_of "$n" .inner_timeouts)") / $(f 1 "$(mean_of "$an" .inner_timeouts)") |"
    done
  done
  echo
  echo "## Every scheduler, every scenario"
  echo
  echo "One run each (seed 1; a TCP flow starts at once), with the engine's counters."
  echo
  echo "| links | delay ms | workload | scheduler | goodput Mbit/s | efficiency | delay p50 / p95 / p99 ms | reorder hold p95 ms | inner retx | tunnel lost / repaired | reorder skipped | path shares |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  for combo in "C10+C20" "${all_combos[@]}"; do
    for d in "${delays[@]}"; do
      for w in bulk tcp; do
        for s in "${schedulers[@]}"; do
          n="$(key "$combo")-$d-$w-$s"
          [ -f "$work/$n.json" ] || continue
          jq -r --arg links "$(key "$combo")" --arg d "$d" '
            def f(p): if . == null then "–" else (. * pow(10; p) | round / pow(10; p) | tostring) end;
            "| \($links) | \($d) | \(.scenario.workload) | \(.scenario.scheduler) | \(.goodput_mbps | f(2)) | \(.efficiency | f(3)) | \(.delay_ms.p50 | f(0)) / \(.delay_ms.p95 | f(0)) / \(.delay_ms.p99 | f(0)) | \(.reorder_hold_ms_p95 | f(0)) | \(.inner_retransmits) | \(.engine.tunnel_lost) / \(.engine.repaired) | \(.engine.reorder_skipped) | \([.paths[].share | f(2)] | join(" / ")) |"' "$work/$n.json"
        done
      done
    done
  done
} >"$tmp"
mv "$tmp" "$out"
echo "wrote $out" >&2
