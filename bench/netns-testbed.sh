#!/usr/bin/env bash
# Builds (up) or removes (down) the namespace testbed the end-to-end test and the forwarding benchmark use:
#   lan host -- router --wan0-- modem0 (NAT) --\
#                      --wan1-- modem1 (NAT) ----- proxy -- internet host
# Usage: netns-testbed.sh up|down PREFIX [LINKS]   (PREFIX: short unique name, e.g. wbt1234; LINKS: 1 or 2, default 2)
# Nothing is connected to the host's own network: traffic never leaves these namespaces.
# Every link has IPv4 and IPv6 (ULA, no DAD) addresses; the modems NAT both, as a phone's tethering does for IPv4:
#   lan 10.200.0.0/24 fd20::/64, link i 10.201.i.0/24 fd20:1:i::/64, modem i - proxy 10.202.i.0/24 fd20:2:i::/64,
#   proxy - internet host 10.203.0.0/24 fd20:3::/64 (host .2 / ::2). On each segment the end nearer the internet is
#   .1 / ::1, except on the links, where the modem is .1 / ::1 and the router .2 / ::2.
set -euo pipefail
cmd=$1; p=$2; links=${3:-2}
ns() { echo "$p-$1"; }
if [ "$cmd" = down ]; then
  for n in lan rtr m0 m1 prx srv; do ip netns del "$(ns $n)" 2>/dev/null || true; done
  exit 0
fi
for n in lan rtr prx srv; do ip netns add "$(ns $n)"; ip -n "$(ns $n)" link set lo up; done
# LAN host <-> router
ip link add lan0 netns "$(ns lan)" type veth peer name lan0 netns "$(ns rtr)"
ip -n "$(ns lan)" addr add 10.200.0.2/24 dev lan0; ip -n "$(ns lan)" link set lan0 up
ip -n "$(ns lan)" route add default via 10.200.0.1
ip -n "$(ns lan)" addr add fd20::2/64 dev lan0 nodad; ip -n "$(ns lan)" -6 route add default via fd20::1
ip -n "$(ns rtr)" addr add 10.200.0.1/24 dev lan0; ip -n "$(ns rtr)" addr add fd20::1/64 dev lan0 nodad; ip -n "$(ns rtr)" link set lan0 up
# each link: router wanN <-> modemN in, modemN out <-> proxy mN
for i in $(seq 0 $((links - 1))); do
  m=$(ns m$i); ip netns add "$m"; ip -n "$m" link set lo up
  ip link add "wan$i" netns "$(ns rtr)" type veth peer name in netns "$m"
  ip -n "$(ns rtr)" addr add "10.201.$i.2/24" dev "wan$i"; ip -n "$(ns rtr)" link set "wan$i" up
  ip -n "$(ns rtr)" route add default via "10.201.$i.1" dev "wan$i" metric $((100 + i))
  ip -n "$(ns rtr)" addr add "fd20:1:$i::2/64" dev "wan$i" nodad
  ip -n "$(ns rtr)" -6 route add default via "fd20:1:$i::1" dev "wan$i" metric $((100 + i))
  ip -n "$m" addr add "10.201.$i.1/24" dev in; ip -n "$m" addr add "fd20:1:$i::1/64" dev in nodad; ip -n "$m" link set in up
  ip link add out netns "$m" type veth peer name "m$i" netns "$(ns prx)"
  ip -n "$m" addr add "10.202.$i.2/24" dev out; ip -n "$m" link set out up
  ip -n "$m" route add default via "10.202.$i.1"
  ip -n "$m" addr add "fd20:2:$i::2/64" dev out nodad; ip -n "$m" -6 route add default via "fd20:2:$i::1"
  ip netns exec "$m" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  # a phone's NAT: everything from the router leaves with the modem's address (IPv4 and IPv6)
  ip netns exec "$m" nft -f - <<NFT
table inet phone {
  chain post {
    type nat hook postrouting priority srcnat;
    oifname "out" masquerade
  }
}
NFT
  ip -n "$(ns prx)" addr add "10.202.$i.1/24" dev "m$i"; ip -n "$(ns prx)" addr add "fd20:2:$i::1/64" dev "m$i" nodad
  ip -n "$(ns prx)" link set "m$i" up
done
# proxy <-> internet host
ip link add srv netns "$(ns prx)" type veth peer name eth0 netns "$(ns srv)"
ip -n "$(ns prx)" addr add 10.203.0.1/24 dev srv; ip -n "$(ns prx)" link set srv up
ip -n "$(ns srv)" addr add 10.203.0.2/24 dev eth0; ip -n "$(ns srv)" link set eth0 up
ip -n "$(ns srv)" route add default via 10.203.0.1
ip -n "$(ns prx)" addr add fd20:3::1/64 dev srv nodad
ip -n "$(ns srv)" addr add fd20:3::2/64 dev eth0 nodad; ip -n "$(ns srv)" -6 route add default via fd20:3::1
