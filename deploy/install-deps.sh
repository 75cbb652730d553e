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
  baresip-core nodejs
)
if [[ "${FE_WITH_KAMAILIO:-0}" == 1 ]]; then
  packages+=(kamailio kamailio-outbound-modules)
fi

# tests/integration/test_ws.py drives JsSIP (a browser SIP stack) under
# Node.js: the versions pinned in tests/integration/jssip/package-lock.json,
# from the npm registry. Best effort: without them those tests skip.
install_jssip() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/integration/jssip"
  if [[ -d "$dir/node_modules/jssip" && -d "$dir/node_modules/ws" ]]; then
    return 0
  fi
  if ! command -v npm >/dev/null; then
    echo "install-deps: no npm: the JsSIP tests will skip"
    return 0
  fi
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) ||
    echo "install-deps: npm ci in $dir failed: the JsSIP tests will skip"
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  install_jssip
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
install_jssip
