#!/bin/bash
# bench/scripts/flows_udp.sh: memory per UDP flow held by one node (figure 1,
# UDP part; target <= 256 B of user space per flow).
#
# fe-udpflows (bench/tools, raw socket, root) sends one SIP datagram from each
# of $FLOWS distinct (127.64.x.y, port) sources, $PASSES times (a later pass
# creates whatever the kernel dropped on the first and refreshes the rest).
# The datagram is a stray "200 OK" whose Via is not ours: flowedge creates a
# UDP flow for it and drops it, so the node holds exactly one flow per source
# and nothing else (STUN and CRLF keep-alives create no flow by design).
# The flow count is the node's own "flows=" from its stats line at exit.
# Flows idle out after 180 s (state/limits.h kUdpFlowIdleLimit): the whole
# piece takes well under that once the datagrams are sent.
#
# User space: (PSS and RSS after - before) / flows created. Kernel: a UDP
# flow holds no socket, so Slab should not move with the flow count.
# Prints: RESULT flows_udp flows=... pss_b_per_flow=... rss_b_per_flow=...
source "$(dirname "$0")/common.sh"
build_tools || exit 1

FLOWS="${FLOWS:-1050000}"  # a little over 1M: a few datagrams are dropped (RcvbufErrors)
RATE="${RATE:-100000}"
PASSES="${PASSES:-3}"
FE_WORKERS="${FE_WORKERS:-2}"

[ "$(id -u)" = 0 ] || { log "fe-udpflows needs root (raw socket)"; exit 1; }
fe_start udp-flows --workers "$FE_WORKERS" || exit 1
pss0=$(pss_bytes "$FE_PID") rss0=$(rss_bytes "$FE_PID") slab0=$(slab_bytes)
out=$("$TOOLS/fe-udpflows" --target "127.0.0.1:$FE_PORT" --count "$FLOWS" --rate "$RATE" --passes "$PASSES")
log "$out"
wait_until_stable "$FE_PID" 3
pss1=$(pss_bytes "$FE_PID") rss1=$(rss_bytes "$FE_PID") slab1=$(slab_bytes)
stats=$(fe_stop)
log "$stats"
flows=$(stat_field "$FE_LOG" flows)
responses=$(stat_field "$FE_LOG" responses)
if [ -z "$flows" ] || [ "$flows" -eq 0 ]; then
	result flows_udp flows=0 note="node created no flows"
	exit 1
fi
result flows_udp flows="$flows" sent_sources="$FLOWS" datagrams_seen="$responses" \
	workers="$FE_WORKERS" pss_before="$pss0" pss_after="$pss1" \
	pss_b_per_flow="$(( (pss1 - pss0) / flows ))" rss_b_per_flow="$(( (rss1 - rss0) / flows ))" \
	slab_delta_b="$((slab1 - slab0))"
