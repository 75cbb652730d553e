#!/bin/bash
# bench/scripts/keepalive.sh: keep-alive answers per second (figure 2).
#
# CRLF pings on 1,000 TCP flows, closed loop (one ping outstanding per
# connection), and STUN Binding requests from 1,000 UDP sockets, closed loop,
# against one flowedge worker (--workers 1) and then the Kamailio peer in the
# same session. fe-pingstorm (bench/tools) reads the server's utime+stime over
# the measured window: server CPU per operation = CPU delta / answers.
#
#   bench/scripts/keepalive.sh            # RUNS=3, 10 s windows
# Prints: RESULT keepalive server=flowedge kind=tcp-pong rate=... us_per_op=...
source "$(dirname "$0")/common.sh"
build_tools || exit 1

CONNS="${CONNS:-1000}"
SECS="${SECS:-10}"
CLIENT_THREADS="${CLIENT_THREADS:-1}"

# The machine is shared: both servers run at once and the runs alternate
# (flowedge, Kamailio, flowedge, ...) so a change of background load hits
# both alike; each RESULT is the median of RUNS windows.
fe_start keepalive --workers 1 || exit 1
KAM_PIDS=""
if kam_start; then
	KAM_PIDS=$(kam_pids)
else
	log "Kamailio peer not started (running already, or not installed): no ratio"
fi

# storm_all MODE: RUNS alternating storms per server, a RESULT per server.
storm_all() {
	local mode="$1" i server pids port out kind=tcp-pong rcv0
	[ "$mode" = stun ] && kind=stun-binding
	declare -A rates uss pcts lost
	for i in $(seq 1 "$RUNS"); do
		for server in flowedge kamailio; do
			if [ "$server" = flowedge ]; then pids=$FE_PID port=$FE_PORT; else pids=$KAM_PIDS port=$KAM_PORT; fi
			[ -n "$pids" ] || continue
			rcv0=$(udp_rcvbuf_errors)
			out=$("$TOOLS/fe-pingstorm" --mode "$mode" --target "127.0.0.1:$port" --conns "$CONNS" \
				--threads "$CLIENT_THREADS" --warmup 2 --duration "$SECS" --server-pids "$pids")
			log "$server $mode run $i (load $(cut -d' ' -f1 /proc/loadavg)): $out udp_rcvbuf_errors=$(( $(udp_rcvbuf_errors) - rcv0 ))"
			rates[$server]+=" $(field "$out" rate)"
			uss[$server]+=" $(field "$out" server_us_per_op)"
			pcts[$server]+=" $(field "$out" server_cpu_pct)"
			lost[$server]=$(( ${lost[$server]:-0} + $(field "$out" lost) ))
		done
	done
	for server in flowedge kamailio; do
		[ -n "${rates[$server]:-}" ] || continue
		result keepalive server="$server" kind="$kind" conns="$CONNS" runs="$RUNS" \
			rate="$(median ${rates[$server]})" server_us_per_op="$(median ${uss[$server]})" \
			server_cpu_pct="$(median ${pcts[$server]})" lost="${lost[$server]}" \
			all_rates="$(echo ${rates[$server]} | tr ' ' /)"
	done
}

storm_all tcp
storm_all stun
log "$(fe_stop)"
kam_stop
