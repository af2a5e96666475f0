#!/usr/bin/env bash
# Judges an engine change on one TCP flow over many runs (docs/simulator.md, "Judging an engine change"):
#   scripts/sim-tcp-set.sh OUT                 150 runs of `wanbond sim --workload tcp:1` at this checkout; one line
#                                              per run in OUT: name<TAB>goodput_mbps<TAB>efficiency<TAB>delay_p95_ms
#   scripts/sim-tcp-set.sh --compare A B       geometric mean (and spread) of B's goodput over A's, run by run
#   SIM_ARGS=--hystart scripts/sim-tcp-set.sh OUT   the same runs with further flags
# Needs dotnet and jq (as root, jq is installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = --compare ]; then
  [ $# -eq 3 ] || { echo "usage: scripts/sim-tcp-set.sh --compare BEFORE AFTER" >&2; exit 2; }
  for f in "$2" "$3"; do [ -s "$f" ] || { echo "sim-tcp-set.sh: $f: missing or empty" >&2; exit 2; }; done
  join -t $'\t' <(sort "$2") <(sort "$3") | awk -F'\t' '
    $2 > 0 && $5 > 0 { r = $5 / $2; l += log(r); ll += log(r) * log(r); n++; if (n == 1 || r < mn) mn = r; if (n == 1 || r > mx) mx = r }
    END {
      if (n == 0) { print "sim-tcp-set.sh: no run in common" > "/dev/stderr"; exit 1 }
      m = l / n; sd = sqrt(ll / n - m * m)
      printf "runs %d: goodput after/before geometric mean %.3f (standard error x%.3f), per run %.2f to %.2f\n", n, exp(m), exp(sd / sqrt(n)), mn, mx
    }'
  exit 0
fi
[ $# -eq 1 ] || { echo "usage: scripts/sim-tcp-set.sh OUT | --compare BEFORE AFTER" >&2; exit 2; }
out="$1"
. scripts/lib/packages.sh
need_packages sim-tcp-set.sh required jq:jq
dotnet build -c Release src/WanBond -v quiet -nologo >/dev/null
cli=(dotnet src/WanBond/bin/Release/net10.0/wanbond.dll sim --duration 60 --workload tcp:1 --start-jitter 3000 --json)
# SIM_ARGS: further flags for every run, e.g. SIM_ARGS=--hystart (word-split on purpose).
# shellcheck disable=SC2206
cli+=(${SIM_ARGS:-})
declare -A trace=([TM]=TMobile-LTE-short [VZ]=Verizon-LTE-short [ATT]=ATT-LTE-driving-2016 [UMTS]=TMobile-UMTS-driving)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for seed in 1 2 3 4 5; do
  for combo in "TM VZ" "VZ ATT" "TM ATT" "UMTS VZ" "TM VZ ATT"; do
    for dir in down up; do
      for d in 30 60 20/80; do
        links=() k=0
        for t in $combo; do
          case "$d" in 20/80) dd=$([ $k = 0 ] && echo 20 || echo 80) ;; *) dd=$d ;; esac
          links+=(--link "${trace[$t]},$dd,200"); k=$((k + 1))
        done
        name="s$seed/${combo// /+}/$dir/$d"
        # Two at a time: the machine has two cores.
        "${cli[@]}" "${links[@]}" --direction "$dir" --seed "$seed" \
          | jq -r --arg n "$name" '"\($n)\t\(.goodput_mbps)\t\(.efficiency)\t\(.delay_ms.p95)"' >"$work/$(echo "$name" | tr '/' '_')" &
        [ "$(jobs -rp | wc -l)" -lt 2 ] || wait -n
      done
    done
  done
done
wait
cat "$work"/* | sort >"$out"
echo "sim-tcp-set.sh: $(wc -l <"$out") runs in $out" >&2
