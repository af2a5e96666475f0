#!/usr/bin/env bash
# How much of a trace's time no sender can keep within the engine issue's delay bar (one-way delay + 50 ms)
# while delivering in order (docs/engine.md, "Against the ideal aggregate"):
#   scripts/trace-pauses.sh [--until SECONDS] [DELAY_MS ...] [-- TRACE ...]
#     defaults: the whole trace; delays 30 60; every bundled .down trace, one row each
#   scripts/trace-pauses.sh --bond [--until SECONDS] [DELAY_MS ...] -- TRACE TRACE ...
#     one row for a bond of the traces: the union of their held time
# A packet that reaches a link's queue in a pause waits until the pause ends or until a copy sent over another
# link arrives. The sender can learn of the pause no sooner than one round trip after it began (the last packet
# out before it is acknowledged 2 × DELAY_MS later), so a copy lands at the earliest 2 × DELAY_MS after the first
# stuck packet would have. Every packet released in order behind that packet waits as long: in each pause of P ms,
# (min(P, 2 × DELAY_MS) − 50)⁺ ms of deliveries are held more than 50 ms, with ideal detection, instant copies and
# an empty queue on the other link. Prints pauses over 50 ms per second and the share of the time held that way.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { echo "usage: scripts/trace-pauses.sh [--bond] [--until SECONDS] [DELAY_MS ...] [-- TRACE ...]" >&2; exit 2; }
bond=0
until_ms=0
delays=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  case "$1" in
    --bond) bond=1 ;;
    --until)
      [ $# -ge 2 ] || usage
      case "$2" in ''|*[!0-9]*|0) echo "trace-pauses.sh: --until: expected a whole number of seconds > 0, got '$2'" >&2; exit 2 ;; esac
      until_ms=$(($2 * 1000))
      shift ;;
    ''|*[!0-9]*) echo "trace-pauses.sh: DELAY_MS must be a whole number of milliseconds, got '$1'" >&2; exit 2 ;;
    *) delays+=("$1") ;;
  esac
  shift
done
[ $# -gt 0 ] && shift
[ ${#delays[@]} -gt 0 ] || delays=(30 60)
traces=("$@")
if [ ${#traces[@]} -eq 0 ]; then
  [ "$bond" = 0 ] || { echo "trace-pauses.sh: --bond needs its traces after --" >&2; exit 2; }
  traces=(traces/*.down)
fi
for t in "${traces[@]}"; do [ -s "$t" ] || { echo "trace-pauses.sh: $t: missing or empty" >&2; exit 2; }; done

# windows D TRACE: "start end" of each held window (ms), then "span S" and "pauses N" for the part examined.
windows() {
  awk -v d="$1" -v lim="$until_ms" '
    $1 !~ /^[0-9]+$/ { printf "trace-pauses.sh: %s line %d: expected a whole number of milliseconds\n", FILENAME, NR > "/dev/stderr"; bad = 1; exit 2 }
    lim > 0 && $1 > lim { over = 1; exit }
    NR > 1 { g = $1 - prev; if (g > 50) { n++; m = g < 2 * d ? g : 2 * d; if (m > 50) print prev, prev + m - 50 } }
    { prev = $1 }
    END {
      if (bad) exit 2
      span = over ? lim : prev
      if (span <= 0) { printf "trace-pauses.sh: %s: no time span\n", FILENAME > "/dev/stderr"; exit 2 }
      print "span", span
      print "pauses", n + 0
    }' "$2"
}
# held: the union of the windows on stdin as a share of the shortest span; pauses per second summed
held() {
  sort -k1,1n | awk '
    $1 == "span" { if (!span || $2 < span) span = $2; next }
    $1 == "pauses" { n += $2; next }
    { if (have && $1 <= e) { if ($2 > e) e = $2 } else { if (have) tot += e - s; s = $1; e = $2; have = 1 } }
    END { if (have) tot += e - s; printf "%.2f %.1f", n / (span / 1000), 100 * tot / span }'
}

row() { # NAME TRACE...
  local name="$1" d rate="" cells="" r t
  shift
  for d in "${delays[@]}"; do
    r=$(for t in "$@"; do windows "$d" "$t" || exit 2; done | held) || exit 2
    rate=${r% *}
    cells="$cells ${r#* } % |"
  done
  echo "| $name | $rate |$cells"
}
# Every row first, so a bad trace stops the script before anything is printed.
if [ "$bond" = 1 ]; then
  names=()
  for t in "${traces[@]}"; do names+=("$(basename "$t")"); done
  rows=$(row "$(IFS=+; echo "${names[*]}")" "${traces[@]}")
else
  rows=$(for t in "${traces[@]}"; do row "$(basename "$t")" "$t" || exit 2; done)
fi
printf '| %s | pauses over 50 ms per s |' "$([ "$bond" = 1 ] && echo bond || echo trace)"
for d in "${delays[@]}"; do printf ' held over 50 ms, %s ms links |' "$d"; done
printf '\n|---|---|'
for _ in "${delays[@]}"; do printf -- '---|'; done
printf '\n'
echo "$rows"
