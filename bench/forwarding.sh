#!/usr/bin/env bash
# Forwarding cost of the tunnel (printed figures, not a pass/fail test).
# One unshaped link in the namespace testbed; in the same run, iperf3 TCP from the LAN host to the
# internet host first over the plain routed path (router -> modem NAT -> proxy host -> server),
# then through wanbond (router daemon -> modem NAT -> proxy daemon -> server). Prints both rates,
# their ratio, and CPU seconds per GB carried for the router and the proxy daemons.
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
  [ -n "${WB_KEEPLOG:-}" ] && cp "$tmp"/*.log /tmp/ 2>/dev/null
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

# Fresh keys for this run: the tunnel is always authenticated and encrypted.
dotnet "$dll" genkey --output "$tmp/router.key" >/dev/null
dotnet "$dll" genkey --output "$tmp/proxy.key" >/dev/null
router_pub=$(dotnet "$dll" pubkey < "$tmp/router.key")
proxy_pub=$(dotnet "$dll" pubkey < "$tmp/proxy.key")
printf 'port: 7700\ncontrol_socket: /run/%s/proxy.sock\nprivate_key_file: %s\npeers:\n  - public_key: %s\n    allowed_ips: [10.77.0.2/32]\n' \
  "$p" "$tmp/proxy.key" "$router_pub" > "$tmp/proxy.yml"
printf 'proxy: 10.202.0.1\nproxy_public_key: %s\nprivate_key_file: %s\nlinks: [wan0]\nlan: lan0\ncontrol_socket: /run/%s/router.sock\n' \
  "$proxy_pub" "$tmp/router.key" "$p" > "$tmp/router.yml"
ip netns exec "$p-prx" dotnet "$dll" proxy --config "$tmp/proxy.yml" > "$tmp/proxy.log" 2>&1 & proxy=$!; pids+=($proxy)
ip netns exec "$p-rtr" dotnet "$dll" router --config "$tmp/router.yml" > "$tmp/router.log" 2>&1 & router=$!; pids+=($router)
for _ in $(seq 50); do
  if dotnet "$dll" status --json --socket "/run/$p/router.sock" 2>/dev/null | jq -e '.sessions[0].established' >/dev/null 2>&1; then break; fi
  sleep 0.3
done
# Warm-up (JIT, tiered compilation) before measuring.
ip netns exec "$p-lan" iperf3 -c 10.203.0.2 -t 2 >/dev/null

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
read -r tun_up rup pup < <(measure "")
read -r tun_down rdown pdown < <(measure "-R")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
echo "forwarding over one unshaped link, iperf3 TCP ${secs} s each, $(nproc) cores shared by every process"
echo "raw: plain routed path with veth offloads (64 KiB GSO/GRO); raw1500: the same with tso/gso off (wire-size packets)"
printf '%-5s %12s %15s %7s %14s %9s %19s %18s\n' dir "raw Mbit/s" "tunnel Mbit/s" ratio "raw1500 Mbit/s" "ratio1500" "router CPU s/GB" "proxy CPU s/GB"
printf '%-5s %12.0f %15.0f %7s %14.0f %9s %19s %18s\n' up "$raw_up" "$tun_up" "$(ratio "$tun_up" "$raw_up")" "$raw1500_up" "$(ratio "$tun_up" "$raw1500_up")" "$rup" "$pup"
printf '%-5s %12.0f %15.0f %7s %14.0f %9s %19s %18s\n' down "$raw_down" "$tun_down" "$(ratio "$tun_down" "$raw_down")" "$raw1500_down" "$(ratio "$tun_down" "$raw1500_down")" "$rdown" "$pdown"
