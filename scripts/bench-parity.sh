#!/usr/bin/env bash
# What matching MPTCP would take (docs/testbed.md): from a bench/run results.json, per scenario and
# conditions with single links, MPTCP and wanbond measured, each system's goodput per byte its emulated
# links carried, and the share of the trace capacity wanbond's links would have to carry to deliver
# MPTCP's goodput, next to what the single links, MPTCP and wanbond did carry.
#   scripts/bench-parity.sh RESULTS.json      a Markdown table on standard output
# Needs jq (as root, jq is installed when missing).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: scripts/bench-parity.sh RESULTS.json" >&2; exit 2; }
results=$1
[ -s "$results" ] || { echo "bench-parity.sh: $results: missing or empty" >&2; exit 2; }
. "$(dirname "$0")/lib/packages.sh"
need_packages bench-parity.sh required jq:jq
jq -e '.records | type == "array"' "$results" >/dev/null 2>&1 \
  || { echo "bench-parity.sh: $results: not a bench/run results.json (no \"records\" list)" >&2; exit 2; }
table=$(jq -r '
  def carried: [.links[].carried_mbps] | add;
  def capacity: [.links[].capacity_mbps] | add;
  # n digits after the point (jq has no printf)
  def fixed(n): (. * pow(10; n) | round | tostring) as $d | ("0" * ([n + 1 - ($d | length), 0] | max) + $d)
    | .[0:length - n] + "." + .[length - n:];
  .records
  | group_by([.scenario, .cc, .direction, .flows])
  | map(
      (map(select(.system | test("^link[0-9]+$")))) as $singles
      | (map(select(.system == "mptcp")) | first) as $m
      | (map(select(.system == "wanbond")) | first) as $w
      | select($m != null and $w != null and ($singles | length) > 0
               and ($w | carried) > 0 and ($m | carried) > 0 and ($singles | map(carried) | add) > 0)
      | ($w.goodput_mbps / ($w | carried)) as $gw
      | "| \($w.scenario), \($w.cc), \($w.direction), \($w.flows) | \($gw | fixed(3)) / \($m.goodput_mbps / ($m | carried) | fixed(3)) / \(($singles | map(.goodput_mbps) | add) / ($singles | map(carried) | add) | fixed(3)) | **\($m.goodput_mbps / $gw / ($w | capacity) | fixed(2))** | \(($singles | map(carried) | add) / ($singles | map(capacity) | add) | fixed(2)) | \(($m | carried) / ($m | capacity) | fixed(2)) | \(($w | carried) / ($w | capacity) | fixed(2)) |")
  | select(length > 0)
  | (["| scenario, cc, direction, flows | goodput per carried byte: wanbond / MPTCP / single links | carried ÷ capacity wanbond would need for MPTCP'"'"'s goodput | carried ÷ capacity: single links | MPTCP | wanbond |",
      "|---|---|---|---|---|---|"] + .)[]
' "$results")
[ -n "$table" ] || { echo "bench-parity.sh: $results: no scenario with single links, mptcp and wanbond all measured" >&2; exit 1; }
printf '%s\n' "$table"
