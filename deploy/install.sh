#!/usr/bin/env bash
# Builds wanbond and installs it as /usr/local/bin/wanbond (a framework-dependent .NET app) plus the systemd units.
# Usage (from the repository, as root): deploy/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet publish src/WanBond -c Release -o /usr/local/lib/wanbond --nologo -v quiet
ln -sf /usr/local/lib/wanbond/wanbond /usr/local/bin/wanbond
install -m 0644 deploy/wanbond-router.service deploy/wanbond-proxy.service /etc/systemd/system/
install -d -m 0755 /etc/wanbond /usr/share/doc/wanbond
install -m 0644 docs/configuration.md docs/datapath.md /usr/share/doc/wanbond/
systemctl daemon-reload
echo "installed. next, on the VPS: wanbond init proxy   (prints its public key); on the router: wanbond init router --proxy HOST --proxy-key KEY --link usb0 --link usb1   (prints the wanbond init peer command for the VPS)"
