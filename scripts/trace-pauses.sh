#!/usr/bin/env bash
# How much of a trace's time no sender can keep within the engine issue's delay bar (one-way delay + 50 ms)
# while delivering in order (docs/engine.md, "Against the ideal aggregate"):
#   scripts/trace-pauses.sh [DELAY_MS ...] [-- TRACE ...]   (defaults: 30 60, every bundled .down trace)
# A packet that reaches a link's queue in a pause waits until the pause ends or until a copy sent over another
# link arrives. The sender can learn of the pause no sooner than one round trip after it began (the last packet
# out before it is acknowledged 2 × DELAY_MS later), so a copy lands at the earliest 2 × DELAY_MS after the first
# stuck packet would have. Every packet released in order behind that packet waits as long: in each pause of P ms,
# (min(P, 2 × DELAY_MS) − 50)⁺ ms of deliveries are held more than 50 ms, with ideal detection, instant copies and
# an empty queue on the other link. Prints, per trace and delay, pauses over 50 ms per second and the share of the
# trace's time held that way; on a bond these shares add up over its links (they rarely overlap).
set -euo pipefail
cd "$(dirname "$0")/.."
delays=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  case "$1" in
    ''|*[!0-9]*) echo "trace-pauses.sh: DELAY_MS must be a whole number of milliseconds, got '$1'" >&2; exit 2 ;;
  esac
  delays+=("$1")
  shift
done
[ $# -gt 0 ] && shift
[ ${#delays[@]} -gt 0 ] || delays=(30 60)
traces=("$@")
[ ${#traces[@]} -gt 0 ] || traces=(traces/*.down)
for t in "${traces[@]}"; do [ -s "$t" ] || { echo "trace-pauses.sh: $t: missing or empty" >&2; exit 2; }; done
printf '| trace | pauses over 50 ms per s |'
for d in "${delays[@]}"; do printf ' held over 50 ms, %s ms links |' "$d"; done
printf '\n|---|---|'
for _ in "${delays[@]}"; do printf -- '---|'; done
printf '\n'
for t in "${traces[@]}"; do
  awk -v name="$(basename "$t")" -v delays="${delays[*]}" '
    $1 !~ /^[0-9]+$/ { printf "trace-pauses.sh: %s line %d: expected a whole number of milliseconds\n", FILENAME, NR > "/dev/stderr"; bad = 1; exit 2 }
    NR > 1 { g = $1 - prev; if (g > 50) { n++; gaps[n] = g } }
    { prev = $1 }
    END {
      if (bad) exit 2
      if (prev <= 0) { printf "trace-pauses.sh: %s: no time span\n", FILENAME > "/dev/stderr"; exit 2 }
      k = split(delays, ds, " ")
      printf "| %s | %.2f |", name, n / (prev / 1000)
      for (j = 1; j <= k; j++) {
        s = 0
        for (i = 1; i <= n; i++) { m = gaps[i] < 2 * ds[j] ? gaps[i] : 2 * ds[j]; if (m > 50) s += m - 50 }
        printf " %.1f %% |", 100 * s / prev
      }
      printf "\n"
    }' "$t"
done
