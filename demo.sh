#!/usr/bin/env bash
# The wanbond demo on its built-in default: two emulated LTE links whose capacity follows real
# cellular traces (bundled: traces/README.md), real wanbond router and proxy processes, and a
# real TCP download (iperf3, cubic) through the tunnel. It measures each link alone, then both
# bonded, and prints capacity, goodput, latency under load and where the plot was written.
# Everything runs in network namespaces it creates (removed at the end, on failure and on
# Ctrl-C); no packet leaves them. Needs root; installs iproute2, iperf3, iputils-ping, ethtool
# and jq with apt-get when missing. About 1.5 minutes once built.
#   ./demo.sh                 the emulated demo (root)
#   ./demo.sh --sim           the same links in the simulator (no root, no network; ~15 s)
#   WANBOND_DEMO_SECONDS=30 ./demo.sh    longer transfers (default 15 s each)
set -euo pipefail
cd "$(dirname "$0")"
if [ "${1:-}" = "--sim" ]; then
  exec scripts/sim-demo.sh
fi
if [ $# -gt 0 ]; then
  echo "demo.sh: unknown argument '$1' (use --sim for the simulator demo)" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ]; then
  echo "demo.sh: needs root, it creates network namespaces for the emulated links (run: sudo ./demo.sh; or ./demo.sh --sim without root)" >&2
  exit 1
fi
command -v dotnet >/dev/null 2>&1 || { echo "demo.sh: the .NET 10 SDK (dotnet) is required" >&2; exit 2; }

. scripts/lib/packages.sh
need_packages demo.sh required ip:iproute2 iperf3:iperf3 ping:iputils-ping ethtool:ethtool jq:jq
# Namespaces must work here (a container may forbid them): try one before building anything.
probe="wbdemo$$"
if ! ip netns add "$probe" 2>/dev/null; then
  echo "demo.sh: cannot create network namespaces here (ip netns add failed); the emulated demo needs them (./demo.sh --sim runs without)" >&2
  exit 1
fi
ip netns del "$probe"

echo "building…" >&2
dotnet build -c Release src/WanBond -v quiet -nologo >/dev/null || { echo "demo.sh: building src/WanBond failed (dotnet build -c Release src/WanBond shows why)" >&2; exit 1; }
dotnet build -c Release bench/WanBond.Testbed -v quiet -nologo >/dev/null || { echo "demo.sh: building the testbed failed (dotnet build -c Release bench/WanBond.Testbed shows why)" >&2; exit 1; }

bin=bench/WanBond.Testbed/bin/Release/net10.0/wanbond-testbed
secs=${WANBOND_DEMO_SECONDS:-15}
out="${TMPDIR:-/tmp}/wanbond-demo/$(date +%Y%m%d-%H%M%S)"
prefix="wbd$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')"
mkdir -p "$out"
cleanup() { "$bin" cleanup "$prefix" >/dev/null 2>&1 || true; }
trap cleanup EXIT

cat <<INTRO

Two emulated LTE links: the T-Mobile and Verizon traces (traces/), 30 ms one way, 200 ms modem
buffers. One TCP download (cubic) for ${secs} s over each link alone, then over both bonded by
wanbond (router and proxy daemons, encrypted tunnel). Ping every 100 ms measures latency under load.

INTRO
# The runner in the background so Ctrl-C reaches it (it stops its transfers and removes its namespaces).
"$bin" bench --prefix "$prefix" --scenario bench/scenarios/lte2-30ms.yml --systems single,wanbond \
  --cc cubic --direction down --flows 1 --duration "$secs" --reps 1 --out "$out" >/dev/null 2>"$out/run.log" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; echo "demo.sh: interrupted; namespaces removed" >&2; exit 130' INT TERM
# Progress: the runner's one line per transfer (tail ends with the runner).
tail --pid="$child" -n +1 -F "$out/run.log" 2>/dev/null \
  | sed -un 's/.* \(link[0-9]\|wanbond\) rep [0-9]*\/[0-9]*: \([0-9.]*\) Mbit\/s.*/  measured: \1 \2 Mbit\/s/p' &
tailer=$!
rc=0
wait "$child" || rc=$?
wait "$tailer" 2>/dev/null || true
if [ $rc -ne 0 ] || [ ! -f "$out/results.json" ]; then
  echo "demo.sh: the run failed (exit $rc); its log: $out/run.log" >&2
  tail -n 5 "$out/run.log" >&2
  exit 1
fi

echo
jq -r '
  def r1: (. * 10 | round) as $t | "\($t / 10 | floor).\($t % 10)";
  def ms: if . == null then "–" else (round | tostring) end;
  (.records | map(select(.system == "link0" or .system == "link1"))) as $singles |
  (.records | map(select(.system == "wanbond")) | .[0]) as $w |
  ($singles[] | "  \(if .system == "link0" then "T-Mobile link alone" else "Verizon link alone " end)   \(.goodput_mbps | r1) Mbit/s of \(.capacity_mbps | r1) capacity    RTT under load p50 \(.rtt_p50_ms | ms) / p95 \(.rtt_p95_ms | ms) ms"),
  (if $w == null then "  wanbond: no result (see the log)" else
   "  wanbond, both links   \($w.goodput_mbps | r1) Mbit/s of \($w.capacity_mbps | r1) capacity    RTT under load p50 \($w.rtt_p50_ms | ms) / p95 \($w.rtt_p95_ms | ms) ms",
   "",
   "  Bonded: \($w.ratio_to_single_sum * 100 | round)% of the two links alone added up (\($w.single_sum_mbps | r1) Mbit/s), \($w.goodput_mbps / ([$singles[].goodput_mbps] | max) * 100 | round)% of the better link alone.",
   "",
   "  Plot (each link: capacity against what it carried; RTT over time): \($w.plot)" end)
' "$out/results.json"
echo "  All results: $out (results.md, results.json, raw/)"
echo
echo "The full benchmark against kernel MPTCP: bench/run --help; the simulator: ./demo.sh --sim."
