#!/bin/bash
# bench/scripts/flows_tcp.sh: memory per idle TCP flow held by one node
# (figure 1, TCP part; target <= 512 B of user space per flow).
#
# One flowedge node with --workers $FE_WORKERS (8): each worker's io_uring
# holds at most 20000 direct descriptors (net/limits.h kConnectionCountMax,
# capped by RLIMIT_NOFILE), so 100,000+ connections need 6 or more workers
# on this 2-core machine; the workers idle, so the core count does not matter.
#
#   flow-only   $FLOWS connections that only send one CRLF ping (a flow, no
#               binding), from ceil($FLOWS/$PER_CLIENT) fe-pingstorm --mode hold
#               processes (one process holds < 20000 descriptors).
#   registered  flowedge-bench hold: $FLOWS UAs, each one TCP flow with a
#               binding in the embedded store (REGISTER with reg-id).
#
# User space: (node PSS and RSS after - before) / flows, after the node's PSS
# has settled. Kernel: Slab delta (/proc/meminfo) / flows, covering BOTH ends
# of each loopback connection (client and server sockets), and sockstat.
# Prints: RESULT flows_tcp mode=flow-only flows=... pss_b_per_flow=... rss_b_per_flow=...
source "$(dirname "$0")/common.sh"
build_tools || exit 1

FLOWS="${FLOWS:-100000}"
PER_CLIENT="${PER_CLIENT:-17000}"
FE_WORKERS="${FE_WORKERS:-8}"
HOLD_S="${HOLD_S:-600}"  # upper bound; the piece stops the clients once measured
KAM_FLOWS="${KAM_FLOWS:-15000}"  # Kamailio's tcp_max_connections is 19500
MODES="${MODES:-flow-only registered kamailio}"

# measure MODE FLOWS PSS0 RSS0 SLAB0 TCP0: the RESULT line for one mode.
measure() {
	local mode="$1" flows="$2" pss0="$3" rss0="$4" slab0="$5" tcp0="$6" pss1 rss1 slab1 tcp1
	wait_until_stable "$FE_PID" 3
	pss1=$(pss_bytes "$FE_PID") rss1=$(rss_bytes "$FE_PID") slab1=$(slab_bytes) tcp1=$(tcp_inuse)
	result flows_tcp mode="$mode" flows="$flows" workers="$FE_WORKERS" \
		pss_before="$pss0" pss_after="$pss1" \
		pss_b_per_flow="$(( (pss1 - pss0) / flows ))" rss_b_per_flow="$(( (rss1 - rss0) / flows ))" \
		slab_b_per_flow_both_ends="$(( (slab1 - slab0) / flows ))" \
		tcp_sockets="$((tcp1 - tcp0))" sockstat="'$(grep '^TCP:' /proc/net/sockstat)'"
}

flow_only() {
	fe_start tcp-flow-only --workers "$FE_WORKERS" --flow-timer 120 || return 1
	local pss0 rss0 slab0 tcp0 left=$FLOWS k=0 n pids=() p held=0
	pss0=$(pss_bytes "$FE_PID") rss0=$(rss_bytes "$FE_PID") slab0=$(slab_bytes) tcp0=$(tcp_inuse)
	while [ "$left" -gt 0 ]; do
		n=$((left < PER_CLIENT ? left : PER_CLIENT))
		"$TOOLS/fe-pingstorm" --mode hold --target "127.0.0.1:$FE_PORT" --conns "$n" \
			--source-net "127.$((100 + k)).0.0/16" --duration "$HOLD_S" --ping-every 30 \
			>"$LOGS/hold-$k.txt" 2>&1 &
		pids+=($!) cleanup_pids+=($!)
		left=$((left - n)) k=$((k + 1))
	done
	for p in $(seq 0 $((k - 1))); do
		while ! grep -q 'held=' "$LOGS/hold-$p.txt"; do
			kill -0 "${pids[$p]}" 2>/dev/null || { log "hold client $p died:"; cat "$LOGS/hold-$p.txt" >&2; break; }
			sleep 1
		done
		held=$((held + $(sed -n 's/.*held=\([0-9]*\).*/\1/p' "$LOGS/hold-$p.txt")))
	done
	log "flow-only: $held connections answered their ping"
	measure flow-only "$held" "$pss0" "$rss0" "$slab0" "$tcp0"
	for p in "${pids[@]}"; do kill -TERM "$p"; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	log "$(fe_stop)"
}

registered() {
	fe_start tcp-registered --workers "$FE_WORKERS" --flow-timer 120 || return 1
	local pss0 rss0 slab0 tcp0 bench_pid want
	pss0=$(pss_bytes "$FE_PID") rss0=$(rss_bytes "$FE_PID") slab0=$(slab_bytes) tcp0=$(tcp_inuse)
	"$BENCH" hold --target "127.0.0.1:$FE_PORT" --transport tcp --uas "$FLOWS" --window 2000 \
		--duration "$HOLD_S" --source-net 127.96.0.0/12 --quiet >"$LOGS/hold-registered.txt" 2>&1 &
	bench_pid=$!
	cleanup_pids+=("$bench_pid")
	# Both ends of every flow are TCP sockets in sockstat.
	want=$((tcp0 + 2 * FLOWS))
	while [ "$(tcp_inuse)" -lt "$want" ]; do
		kill -0 "$bench_pid" 2>/dev/null || { log "flowedge-bench ended early"; cat "$LOGS/hold-registered.txt" >&2; break; }
		sleep 1
	done
	measure registered "$FLOWS" "$pss0" "$rss0" "$slab0" "$tcp0"
	kill -INT "$bench_pid" 2>/dev/null
	sleep 5
	kill -0 "$bench_pid" 2>/dev/null && kill -TERM "$bench_pid"
	wait "$bench_pid" 2>/dev/null
	log "$(fe_stop)"
}

# The peer, for the ratio: $KAM_FLOWS registered TCP flows, PSS summed over
# all its processes (kam.sh mem), as in its README (6,642 B at 15,000 flows).
kamailio() {
	kam_start || { log "Kamailio peer not started: no ratio"; return 0; }
	local pss0 pss1 bench_pid want tcp0
	pss0=$("$KAM_SH" mem | sed 's/.*pss_bytes=//') tcp0=$(tcp_inuse)
	"$BENCH" hold --target "127.0.0.1:$KAM_PORT" --transport tcp --uas "$KAM_FLOWS" --window 1000 \
		--duration "$HOLD_S" --source-net 127.80.0.0/16 --quiet >"$LOGS/hold-kamailio.txt" 2>&1 &
	bench_pid=$!
	cleanup_pids+=("$bench_pid")
	want=$((tcp0 + 2 * KAM_FLOWS))
	while [ "$(tcp_inuse)" -lt "$want" ]; do
		kill -0 "$bench_pid" 2>/dev/null || { log "flowedge-bench ended early"; break; }
		sleep 1
	done
	sleep 10  # registrations complete after the connections
	pss1=$("$KAM_SH" mem | sed 's/.*pss_bytes=//')
	result flows_tcp mode=kamailio-registered flows="$KAM_FLOWS" pss_before="$pss0" pss_after="$pss1" \
		pss_b_per_flow="$(( (pss1 - pss0) / KAM_FLOWS ))"
	kill -INT "$bench_pid" 2>/dev/null
	sleep 3
	kill -0 "$bench_pid" 2>/dev/null && kill -TERM "$bench_pid"
	wait "$bench_pid" 2>/dev/null
	kam_stop
}

for mode in $MODES; do
	case "$mode" in
	flow-only) flow_only ;;
	registered) registered ;;
	kamailio) kamailio ;;
	esac
done
