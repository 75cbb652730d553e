#!/bin/bash
# bench/scripts/run-all.sh: every load measurement of docs/BENCHMARKS.md, in
# order, on loopback. Each piece prints "RESULT ..." lines (also appended to
# $FE_BUILD/results.txt); logs go to $FE_BUILD/logs/.
#
#   bench/scripts/run-all.sh              # builds build-meas (Release) first
#   SKIP_BUILD=1 PIECES="keepalive register" bench/scripts/run-all.sh
#
# Needs root (fe-udpflows uses a raw socket), sipp (sip-tester) for the sipp_*
# pieces and the Kamailio peer (../shared/peers/kamailio) for the ratios.
# Takes about an hour (the sipp pieces about 30 minutes of it).
set -u
D="$(cd "$(dirname "$0")" && pwd)"
source "$D/common.sh"
trap - EXIT
PIECES="${PIECES:-keepalive register message invite sipp_register sipp_invite sipp_message flows_tcp flows_udp micro}"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
	cmake -S "$FE_ROOT" -B "$FE_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null &&
		cmake --build "$FE_BUILD" -j2 --target flowedge flowedge-bench flowedge-micro || exit 1
fi
build_tools || exit 1
log "machine: $(nproc) cores, $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) MiB, load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r)"
for piece in $PIECES; do
	log "== $piece"
	case "$piece" in
	keepalive) "$D/keepalive.sh" ;;
	register) "$D/register.sh" ;;
	message) "$D/calls.sh" message ;;
	invite) "$D/calls.sh" invite ;;
	sipp_register) "$D/sipp_register.sh" ;;
	sipp_invite) "$D/sipp_calls.sh" invite ;;
	sipp_message) "$D/sipp_calls.sh" message ;;
	flows_tcp) "$D/flows_tcp.sh" ;;
	flows_udp) "$D/flows_udp.sh" ;;
	micro) "$D/micro.sh" ;;
	*) log "unknown piece $piece" ;;
	esac
done
