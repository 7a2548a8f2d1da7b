#!/usr/bin/env bash
# Install the Debian 12 packages Sluice needs to build, test and run its lab,
# but only those missing (apt-get update runs only when something is missing).
# Needs root when anything is missing.
set -euo pipefail

PKGS=(
  meson ninja-build pkg-config gcc clang libclang-rt-14-dev
  dpdk dpdk-dev libdpdk-dev
  libconfig-dev liburcu-dev libssl-dev check libraft-dev libuv1-dev libjansson-dev
  libhttp-parser-dev libcurl4-openssl-dev libmnl-dev
  python3-scapy python3-pytest
  curl iproute2 tcpdump iputils-ping nftables openssl bird2
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi
if ((EUID != 0)); then
  echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
