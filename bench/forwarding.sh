#!/usr/bin/env bash
# Forwarding cost of the tunnel (printed figures, not a pass/fail test).
# One unshaped link in the namespace testbed; in the same run, iperf3 TCP from the LAN host to the
# internet host (up, and down with -R) over: the plain routed path (router -> modem NAT -> proxy host
# -> server), with offloads and with wire-size packets; wanbond as deployed (encrypted); and wanbond
# with the benchmark-only null seal (insecure_null_transport + WANBOND_INSECURE_BENCHMARK=1), so the
# cost of encryption shows. Prints the rates, their ratios, and CPU seconds per GB carried for the
# router and the proxy daemons.
# Usage (root): bench/forwarding.sh [SECONDS]   needs: ip, nft, iperf3, jq, a built src/WanBond (Release)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
dll=src/WanBond/bin/Release/net10.0/wanbond.dll
[ -f "$dll" ] || { echo "forwarding.sh: build first (dotnet build -c Release)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "forwarding.sh: needs root (network namespaces)" >&2; exit 2; }
p=wbb$$
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  bench/netns-testbed.sh down "$p"
  if [ -n "${WB_KEEPLOG:-}" ]; then cp "$tmp"/*.log /tmp/ 2>/dev/null || true; fi
  rm -rf "$tmp" "/run/$p"
}
trap cleanup EXIT
bench/netns-testbed.sh up "$p" 1
ip netns exec "$p-srv" iperf3 -s >/dev/null 2>&1 & pids+=($!)
sleep 0.5

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime, clock ticks
hz=$(getconf CLK_TCK)

run() { # $1: extra iperf3 flags; prints "mbps bytes"
  ip netns exec "$p-lan" iperf3 -c 10.203.0.2 -t "$secs" -J $1 > "$tmp/out.json"
  jq -r '[.end.sum_received.bits_per_second / 1e6, .end.sum_received.bytes] | @tsv' "$tmp/out.json"
}

# Plain routed path: the router NATs its LAN out of the link and forwards, like any home router.
ip netns exec "$p-rtr" sysctl -qw net.ipv4.ip_forward=1
printf 'table ip plain {\n chain post {\n  type nat hook postrouting priority srcnat;\n  oifname "wan0" masquerade\n }\n}\n' | ip netns exec "$p-rtr" nft -f -
ip netns exec "$p-prx" sysctl -qw net.ipv4.ip_forward=1
read -r raw_up _ < <(run "")
read -r raw_down _ < <(run "-R")
# The same plain path with segmentation offloads (tso, gso) off on every testbed interface: each packet crosses
# the stack at its 1500-byte wire size, as on a real modem link (no 64 KiB TSO/GRO super-packets).
offloads() { # $1: on|off
  local ns dev
  for ns in $(ip netns list | awk -v p="$p-" 'index($1, p) == 1 {print $1}'); do
    for dev in $(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
      [ "$dev" = lo ] && continue
      ip netns exec "$ns" ethtool -K "$dev" tso "$1" gso "$1" >/dev/null 2>&1 || true   # veth: gro is off by default
    done
  done
}
raw1500_up=0; raw1500_down=0
if command -v ethtool >/dev/null 2>&1; then
  offloads off
  read -r raw1500_up _ < <(run "")
  read -r raw1500_down _ < <(run "-R")
  offloads on
fi
ip netns exec "$p-rtr" nft delete table ip plain
ip netns exec "$p-rtr" sysctl -qw net.ipv4.ip_forward=0
ip netns exec "$p-prx" sysctl -qw net.ipv4.ip_forward=0

# Fresh keys for this run: the tunnel is authenticated (and, unless null, encrypted).
dotnet "$dll" genkey --output "$tmp/router.key" >/dev/null
dotnet "$dll" genkey --output "$tmp/proxy.key" >/dev/null
router_pub=$(dotnet "$dll" pubkey < "$tmp/router.key")
proxy_pub=$(dotnet "$dll" pubkey < "$tmp/proxy.key")

measure() { # $1: iperf3 flags; prints "mbps router_s_per_gb proxy_s_per_gb"
  local r0 p0 r1 p1 mbps bytes
  r0=$(cpu "$router"); p0=$(cpu "$proxy")
  if [ -n "${WB_STATUS:-}" ]; then (sleep $((secs / 2)); head -1 /proc/stat; sleep 1; head -1 /proc/stat; top -b -n 1 -w 200 | head -20) >&2 & fi
  read -r mbps bytes < <(run "$1")
  r1=$(cpu "$router"); p1=$(cpu "$proxy")
  if [ -n "${WB_STATUS:-}" ]; then   # engine counters and TUN/link drops after the run, for diagnosis
    ip netns exec "$p-rtr" ip -s link show wb0 >&2 || true
    ip netns exec "$p-prx" ip -s link show wb0 >&2 || true
    dotnet "$dll" status --json --socket "/run/$p/router.sock" >&2 || true
    dotnet "$dll" status --json --socket "/run/$p/proxy.sock" >&2 || true
  fi
  awk -v m="$mbps" -v b="$bytes" -v r=$((r1 - r0)) -v q=$((p1 - p0)) -v hz="$hz" \
    'BEGIN { printf "%.0f %.2f %.2f\n", m, r / hz / (b / 1e9), q / hz / (b / 1e9) }'
}

# Starts both daemons, measures up and down, stops them. $1: encrypted|null. Prints "up rup pup down rdown pdown".
tunnel() {
  local extra="" envs=()
  if [ "$1" = null ]; then
    # The null seal: same handshake, same wire layout and overhead, no ChaCha20-Poly1305. Refused without the variable.
    extra="insecure_null_transport: true"$'\n'; envs=(env WANBOND_INSECURE_BENCHMARK=1)
  fi
  printf 'port: 7700\ncontrol_socket: /run/%s/proxy.sock\nprivate_key_file: %s\n%speers:\n  - public_key: %s\n    allowed_ips: [10.77.0.2/32]\n' \
    "$p" "$tmp/proxy.key" "$extra" "$router_pub" > "$tmp/proxy.yml"
  printf 'proxy: 10.202.0.1\nproxy_public_key: %s\nprivate_key_file: %s\nlinks: [wan0]\nlan: lan0\ncontrol_socket: /run/%s/router.sock\n%s' \
    "$proxy_pub" "$tmp/router.key" "$p" "$extra" > "$tmp/router.yml"
  ip netns exec "$p-prx" "${envs[@]}" dotnet "$dll" proxy --config "$tmp/proxy.yml" >> "$tmp/proxy-$1.log" 2>&1 & proxy=$!; pids+=($proxy)
  ip netns exec "$p-rtr" "${envs[@]}" dotnet "$dll" router --config "$tmp/router.yml" >> "$tmp/router-$1.log" 2>&1 & router=$!; pids+=($router)
  local established=""
  for _ in $(seq 50); do
    if dotnet "$dll" status --json --socket "/run/$p/router.sock" 2>/dev/null | jq -e '.sessions[0].established' >/dev/null 2>&1; then established=1; break; fi
    sleep 0.3
  done
  [ -n "$established" ] || { echo "forwarding.sh: the $1 tunnel did not come up" >&2; cat "$tmp/router-$1.log" "$tmp/proxy-$1.log" >&2; exit 1; }
  if [ "$1" = null ]; then
    dotnet "$dll" status --socket "/run/$p/router.sock" | grep -q UNENCRYPTED || { echo "forwarding.sh: status does not say UNENCRYPTED" >&2; exit 1; }
  fi
  # Warm-up (JIT, tiered compilation) before measuring.
  ip netns exec "$p-lan" iperf3 -c 10.203.0.2 -t 2 >/dev/null
  local up down
  up=$(measure ""); down=$(measure "-R")
  kill -TERM "$router" "$proxy"; wait "$router" "$proxy" || true
  echo "$up $down"
}
tunnel encrypted > "$tmp/encrypted.txt"   # (not in a subshell: the daemons' pids reach the clean-up trap)
tunnel null > "$tmp/null.txt"
read -r enc_up enc_rup enc_pup enc_down enc_rdown enc_pdown < "$tmp/encrypted.txt"
read -r null_up null_rup null_pup null_down null_rdown null_pdown < "$tmp/null.txt"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
echo "forwarding over one unshaped link, iperf3 TCP ${secs} s each, $(nproc) cores shared by every process"
echo "raw: plain routed path with veth offloads (64 KiB GSO/GRO); raw1500: the same with tso/gso off (wire-size packets)"
cipher=$(grep -o 'ChaCha20-Poly1305 by [^,]*' "$tmp/router-encrypted.log" | head -1 | sed 's/ChaCha20-Poly1305 by //' || true)
echo "encrypted: wanbond as deployed (ChaCha20-Poly1305 by ${cipher:-?}); null: wanbond with insecure_null_transport (benchmark only)"
printf '%-5s %8s %8s %10s %8s %8s %8s %9s %17s %17s\n' dir raw raw1500 encrypted null "enc/raw" "null/raw" "enc/null" "router s/GB e/n" "proxy s/GB e/n"
row() { # dir raw raw1500 enc null renc pen rnull pnull
  printf '%-5s %8.0f %8.0f %10.0f %8.0f %8s %8s %9s %17s %17s\n' "$1" "$2" "$3" "$4" "$5" "$(ratio "$4" "$2")" "$(ratio "$5" "$2")" "$(ratio "$4" "$5")" "$6 / $8" "$7 / $9"
}
echo "(Mbit/s; CPU seconds per GB carried, encrypted / null)"
row up "$raw_up" "$raw1500_up" "$enc_up" "$null_up" "$enc_rup" "$enc_pup" "$null_rup" "$null_pup"
row down "$raw_down" "$raw1500_down" "$enc_down" "$null_down" "$enc_rdown" "$enc_pdown" "$null_rdown" "$null_pdown"
