#!/usr/bin/env bash
# The simulator demo (./demo.sh --sim): two real LTE links (bundled cellular traces), one
# TCP download, each link alone against the two bonded by wanbond, and against gobonding's
# proportional split. Runs the production engine in the deterministic simulator (no root, no
# network). ./demo.sh runs the same links emulated, with real router and proxy processes.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dotnet >/dev/null || { echo "sim-demo.sh: the .NET 10 SDK (dotnet) is required" >&2; exit 2; }
echo "building…"
dotnet build -c Release src/WanBond -v quiet -nologo >/dev/null
w=(dotnet src/WanBond/bin/Release/net10.0/wanbond.dll sim --duration 60 --seed 1)
a=TMobile-LTE-short,30
b=Verizon-LTE-short,30

line() { # label, then sim args: prints goodput, delay p50/p95, efficiency
  local label="$1"
  shift
  "${w[@]}" "$@" --json | jq -r --arg l "$label" '"\($l)\t\(.goodput_mbps * 10 | round / 10) Mbit/s\tof \(.capacity_mbps * 10 | round / 10) capacity\tdelay p50 \(.delay_ms.p50 | round) / p95 \(.delay_ms.p95 | round) ms"'
}
command -v jq >/dev/null || { echo "sim-demo.sh: jq is required (apt-get install jq)" >&2; exit 2; }
echo
echo "Two LTE links (T-Mobile and Verizon traces, 30 ms one way, 200 ms modem buffers), 60 s."
echo
echo "One TCP download (NewReno):"
{
  line "  T-Mobile link alone" --link "$a" --workload tcp:1
  line "  Verizon link alone" --link "$b" --workload tcp:1
  line "  wanbond, both links" --link "$a" --link "$b" --workload tcp:1
  line "  gobonding-style split" --link "$a" --link "$b" --workload tcp:1 --scheduler weighted
} | column -t -s $'\t'
echo
echo "A sender that always has data (bulk UDP):"
{
  line "  wanbond, both links" --link "$a" --link "$b" --workload bulk
  line "  gobonding-style split" --link "$a" --link "$b" --workload bulk --scheduler weighted
} | column -t -s $'\t'
echo
echo "More: wanbond sim --help; the full matrix: scripts/sim-matrix.sh (docs/sim-matrix.md)."
