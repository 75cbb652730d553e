#!/usr/bin/env bash
# Installs what flowedge needs to build, test and benchmark, from Debian 12
# packages. Idempotent: installs only what is missing. Run as root (or with
# sudo available).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git python3 python3-pytest
  clang libclang-rt-14-dev
  liburing-dev android-libboringssl-dev libabsl-dev libhiredis-dev
  libbenchmark-dev libgtest-dev libgmock-dev
  redis-server sip-tester iproute2 procps
  baresip-core
)
if [[ "${FE_WITH_KAMAILIO:-0}" == 1 ]]; then
  packages+=(kamailio kamailio-outbound-modules)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
