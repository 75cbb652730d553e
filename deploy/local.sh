#!/usr/bin/env bash
# Installs what is missing, builds flowedge (Release, in build/), and runs one
# node on localhost with the embedded store: UDP and TCP on 127.0.0.1:5060.
# Extra arguments are passed to flowedge (see build/cluster/flowedge --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target flowedge
listen_host=${FE_LISTEN_HOST:-127.0.0.1}
listen_port=${FE_LISTEN_PORT:-5060}
exec build/cluster/flowedge --listen "udp:${listen_host}:${listen_port}" \
  --listen "tcp:${listen_host}:${listen_port}" "$@"
