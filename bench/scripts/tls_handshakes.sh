#!/usr/bin/env bash
# TLS handshakes per second and server CPU per handshake of one flowedge
# worker (issue 10): `openssl s_time` opens connections for SECONDS each in
# three modes (TLS 1.3 full, TLS 1.2 full, TLS 1.2 resumed with the session
# id/ticket of the first connection), and the node's user+system CPU time
# (/proc/PID/stat) over each run divided by the node's handshake count gives
# the server's CPU per handshake. s_time is single-threaded and shares the
# machine, so connections/s is the client's limit; CPU per handshake is the
# node's own figure. ECDSA P-256 server certificate (tests/data/tls),
# --tls-verify optional (a CertificateRequest is sent, no client certificate).
#
#   bench/scripts/tls_handshakes.sh build/cluster/flowedge [SECONDS] [PORT]
#
# 2026-12, 2-core test machine, Release build, SECONDS=5:
#   RESULT tls_handshakes mode=tls13-full handshakes=2798 server_cpu_ms_per_handshake=0.36
#   RESULT tls_handshakes mode=tls12-full handshakes=2510 server_cpu_ms_per_handshake=0.36
#   RESULT tls_handshakes mode=tls12-resumed handshakes=14787 server_cpu_ms_per_handshake=0.08
# (a second run while other builds shared the cores: 0.47, 0.49 and 0.12 ms).
set -euo pipefail
exe=$1
seconds=${2:-5}
port=${3:-5098}
certs=$(cd "$(dirname "$0")/../../tests/data/tls" && pwd)
"$exe" --listen udp:127.0.0.1:$port --listen tls:127.0.0.1:$((port + 1)) --workers 1 \
  --tls-cert "$certs/example-com-ec.pem" --tls-key "$certs/example-com-ec.key" \
  --tls-ca "$certs/ca.pem" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
sleep 0.5
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' /proc/$pid/stat; }
run() {
  local name=$1; shift
  local before after count
  before=$(cpu)
  count=$(openssl s_time -connect 127.0.0.1:$((port + 1)) -time "$seconds" "$@" 2>/dev/null |
          awk '/connections in .* real seconds/ {print $1}')
  after=$(cpu)
  awk -v n="$count" -v t="$((after - before))" -v hz="$ticks" -v m="$name" \
    'BEGIN { printf "RESULT tls_handshakes mode=%s handshakes=%d server_cpu_ms_per_handshake=%.2f\n",
             m, n, (n > 0 ? t * 1000 / hz / n : 0) }'
}
run tls13-full -new -tls1_3
run tls12-full -new -tls1_2
run tls12-resumed -reuse -tls1_2
