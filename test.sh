#!/usr/bin/env bash
# Runs the whole wanbond test suite: installs what it needs, builds, runs every test project,
# and ends with one line "tests: N passed, N failed, N skipped".
# Network tests create their own namespaces and need root; as non-root they skip and say why.
set -euo pipefail
cd "$(dirname "$0")"

# System packages the network tests (and the fuzz run) use, Debian/Ubuntu: installed only when missing.
. scripts/lib/packages.sh
need_packages test.sh optional ip:iproute2 nft:nftables iperf3:iperf3 jq:jq bc:bc ethtool:ethtool \
  ping:iputils-ping mptcpize:mptcpize afl-fuzz:afl++

if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: the .NET 10 SDK (dotnet) is required" >&2
  exit 2
fi

dotnet restore WanBond.sln --verbosity quiet
dotnet build WanBond.sln -c Release --no-restore --verbosity quiet -warnaserror

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test WanBond.sln -c Release --no-build --verbosity quiet 2>&1 | tee "$log" || status=$?

# A short real fuzzing run (AFL++ through SharpFuzz, fuzz/run) of each target: the datagram parser and the
# handshake. Counted as one test per target: passed when nothing crashed.
fuzz_pass=0 fuzz_fail=0 fuzz_skip=0
if command -v afl-fuzz >/dev/null 2>&1; then
  fuzz_status=0
  fuzz/run "${WANBOND_FUZZ_SECONDS:-10}" all || fuzz_status=$?
  if [ $fuzz_status -eq 0 ]; then fuzz_pass=2; else fuzz_fail=2; status=1; fi
else
  echo "test.sh: skipped the AFL++ fuzz run: afl-fuzz is missing (apt-get install afl++, as root test.sh does it)" >&2
  fuzz_skip=2
fi

# Sum the per-assembly lines ("Passed!  - Failed: 0, Passed: 38, Skipped: 0, Total: 38, ...").
awk -v fp="$fuzz_pass" -v ff="$fuzz_fail" -v fs="$fuzz_skip" '
  BEGIN { p = fp; f = ff; s = fs }
  /(Passed|Failed)! +- +Failed:/ {
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:")  { f += $(i+1) + 0 }
      if ($i == "Passed:")  { p += $(i+1) + 0 }
      if ($i == "Skipped:") { s += $(i+1) + 0 }
    }
    n++
  }
  END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s; if (n == 0) exit 1 }
' "$log" || { echo "test.sh: no test results were reported" >&2; exit 1; }
exit "$status"
