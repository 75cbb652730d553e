#!/bin/bash
# bench/scripts/sipp_register.sh: REGISTER rate driven by sipp (issue 9),
# flowedge and the Kamailio peer in the same session, as a rate search.
#
#   bench/scripts/sipp_register.sh udp    # (a) every UA on ONE UDP socket
#                                          #     (sipp -t u1): new binding +
#                                          #     refresh per UA
#   bench/scripts/sipp_register.sh tcp    # (b) one TCP connection per UA
#                                          #     (sipp -t tn): connect +
#                                          #     REGISTER + close per UA
#   bench/scripts/sipp_register.sh        # both
#   RATES="2000 4000" SECS=3 bench/scripts/sipp_register.sh udp   # a short try
#
# Each step offers RATE sipp calls/s (one UA each) for $SECS s to a freshly
# started server (flowedge: --workers $FE_WORKERS; Kamailio:
# ../shared/peers/kamailio, its config as is), with users no earlier step
# used: each UA registers with Supported: outbound, path, reg-id 1 and its own
# +sip.instance (scenario bench/scripts/sipp/register.xml, or register_once.xml
# with REFRESH=0). A step is sustained when every call succeeded (no failed
# call, every REGISTER got a 200), p99 of the REGISTER response times stayed
# under $P99_MAX_MS ms and sipp achieved >= 95 % of the offered rate. A server
# leaves the search at its second failed step (one retry per server); its
# figure is its highest sustained step.
#
# Over TCP, sipp binds every connection of one process to its -i address, and
# TIME_WAIT ports stay taken for 60 s (TESTING.md): each step spreads its UAs
# over ceil(UAs / $CONNS_PER_ADDR) sipp processes, each on its own 127.x.y.z
# address, none used by an earlier step.
#
# Prints, per transport and server, e.g.
#   RESULT sipp_register transport=udp pattern=u1 refresh=1 server=flowedge rate=9000
#     reg_per_s=17980.2 p50_ms=0.000 p99_ms=4.000 server_us_per_reg=21.50
#     server_cpu_pct=38 gen_us_per_reg=30.10 gen_cpu_pct=54 retrans=0 next_step='...'
# (rate: sipp calls/s offered at the sustained step; reg_per_s: REGISTER
# transactions answered 200 per second, as achieved; server CPU = utime+stime
# of the server's processes over the step / REGISTERs; gen = sipp's own
# CPU), or rate=0 note='no rate sustained: ...' with the first error sipp
# logged, then the ratio line
#   RESULT sipp_register_ratio transport=udp rate_fe_over_kam=...
#     server_us_per_reg_fe_over_kam=... reg_per_cpu_s_fe_over_kam=...
# Knobs: RATES_UDP, RATES_TCP (or RATES for both), SECS [5], REFRESH_UDP [1],
# REFRESH_TCP [0], CONNS_PER_ADDR [10000], FE_WORKERS [2], P99_MAX_MS [50],
# SERVERS ["flowedge kamailio"]: e.g. SERVERS=flowedge FE_WORKERS=1 for the
# single-flow scaling figure (the same rates with 1 and with 2 workers),
# SIPP_PORT_BASE [17000]; logs and sipp's files in $FE_BUILD/logs/sipp-register-*.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/sipp_common.sh"
sipp_check || exit 1

TRANSPORTS="${1:-udp tcp}"
RATES_UDP="${RATES_UDP:-${RATES:-2000 4000 6000 8000 10000 12000 15000 18000 21000 25000}}"
RATES_TCP="${RATES_TCP:-${RATES:-1000 2000 3000 4000 6000 8000 10000 12000 15000}}"
REFRESH_UDP="${REFRESH_UDP:-1}"
REFRESH_TCP="${REFRESH_TCP:-0}"
CONNS_PER_ADDR="${CONNS_PER_ADDR:-10000}"
# Each step starts fresh servers, so nothing a step leaves behind (bindings,
# lingering transactions) weighs on the next: 5 s steps suffice.
SECS="${SECS:-5}"
FE_WORKERS="${FE_WORKERS:-2}"
SERVERS="${SERVERS:-flowedge kamailio}"
STAMP=$(date +%H%M%S)

# step SERVER TRANSPORT RATE TRY N: one run of $SECS s against a fresh
# server (N: the step's number, which picks source addresses no earlier step
# used);
# prints "ok|fail RATE REG_PER_S P50 P99 SERVER_US GEN_US SERVER_PCT GEN_PCT key=value..."
step() {
	local server="$1" transport="$2" rate="$3" try="$4" n="$5" port pids scenario refresh per_call
	local calls=$((rate * SECS)) dir procs k net addr cpu0 cpu1 t0 t1
	local s_id=$([ "$server" = flowedge ] && echo 0 || echo 1)
	dir="$LOGS/sipp-register-$STAMP/$transport-$server-$rate-$try"
	rm -rf "$dir"
	mkdir -p "$dir"
	# This runs in a command substitution: stop what it started if it is cut short.
	trap 'sipp_stop_dir "$dir"; cleanup' EXIT
	if [ "$transport" = udp ]; then refresh=$REFRESH_UDP; else refresh=$REFRESH_TCP; fi
	if [ "$refresh" = 1 ]; then scenario=register.xml per_call=2; else scenario=register_once.xml per_call=1; fi
	if [ "$server" = flowedge ]; then
		fe_start "sipp-register-$transport-$rate-$try" --workers "$FE_WORKERS" || return 1
		pids=$FE_PID port=$FE_PORT
	else
		kam_start || return 1
		pids=$(kam_pids) port=$KAM_PORT
	fi
	# A /16 of loopback per (transport, server, step, try): fresh flows and
	# fresh source ports, whatever ran before.
	net="127.$((100 + n % 100)).$((s_id * 100 + try))"
	procs=1
	[ "$transport" = tcp ] && procs=$(((calls + CONNS_PER_ADDR - 1) / CONNS_PER_ADDR))
	make_users "$dir/users.csv" "r${STAMP}s${n}u" "$calls" "$(printf '%08x' $((n * 4 + s_id * 2 + try)))"
	local drops0
	drops0=$(udp_rcvbuf_errors)
	cpu0=$(cpu_s "$pids")
	t0=$(date +%s.%N)
	local bg=()
	for k in $(seq 0 $((procs - 1))); do
		addr="$net.$((k + 1))"
		# Process k takes lines k, k+procs, ... of the users (its own copy).
		awk -v k="$k" -v p="$procs" 'NR == 1 || (NR - 2) % p == k' "$dir/users.csv" >"$dir/users-$k.csv"
		local n_k=$(($(wc -l <"$dir/users-$k.csv") - 1))
		sipp_ports $((10 + k))
		sipp_bg "$dir" "sipp-$k" -sf "$SIPP_DIR/$scenario" -inf "$dir/users-$k.csv" \
			-key domain "$SIPP_DOMAIN" -t "$([ "$transport" = udp ] && echo u1 || echo tn)" \
			-i "$addr" "${SIPP_PORTS[@]}" -r "$(awk -v r="$rate" -v p="$procs" 'BEGIN{printf "%.0f", r / p}')" \
			-m "$n_k" -default_behaviors abortunexp -recv_timeout 5000 -max_socket 20000 \
			"127.0.0.1:$port"
		bg+=("$SIPP_BG_PID")
	done
	wait "${bg[@]}"
	t1=$(date +%s.%N)
	cpu1=$(cpu_s "$pids")
	local drops=$(($(udp_rcvbuf_errors) - drops0))
	if [ "$server" = flowedge ]; then fe_stop >"$dir/flowedge-stats.txt"; else kam_stop; fi
	local ok=0 failed=0 retrans=0 unexpected=0 timeouts=0 f
	for f in "$dir"/sipp-*.stat.csv; do
		set -- $(sipp_stat "$f" 'SuccessfulCall(C)' 'FailedCall(C)' 'Retransmissions(C)' \
			'FailedUnexpectedMessage(C)' 'FailedTimeoutOnRecv(C)')
		ok=$((ok + ${1/-/0})) failed=$((failed + ${2/-/0})) retrans=$((retrans + ${3/-/0}))
		unexpected=$((unexpected + ${4/-/0})) timeouts=$((timeouts + ${5/-/0}))
	done
	local gen_cpu rtt
	gen_cpu=$(sipp_cpu_sum "$dir")
	rtt=$(rtt_summary "$dir"/*_rtt.csv)
	set -- $rtt  # count p50 p99 max achieved_calls_per_s
	local regs=$((ok * per_call)) achieved=$5
	awk -v rate="$rate" -v calls="$calls" -v ok="$ok" -v failed="$failed" -v regs="$regs" \
		-v p50="$2" -v p99="$3" -v max="$4" -v achieved="$achieved" -v per_call="$per_call" \
		-v cpu="$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{print b - a}')" -v gen="$gen_cpu" \
		-v wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')" -v p99max="$P99_MAX_MS" \
		-v retrans="$retrans" -v unexpected="$unexpected" -v timeouts="$timeouts" -v procs="$procs" \
		-v drops="$drops" \
		-v error="$(first_error "$dir" | tr ' ' '_')" 'BEGIN{
		good = ok == calls && failed == 0 && p99 + 0 < p99max + 0 && achieved >= 0.95 * rate
		printf "%s %s %.1f %s %s %.2f %.2f %.0f %.0f calls=%d ok=%d failed=%d unexpected=%d recv_timeouts=%d retrans=%d max_ms=%s udp_rcvbuf_drops=%d sipp_procs=%d wall_s=%.2f%s\n",
			(good ? "ok" : "fail"), rate, achieved * per_call, p50, p99,
			(regs > 0 ? cpu * 1e6 / regs : 0), (regs > 0 ? gen * 1e6 / regs : 0),
			(wall > 0 ? cpu * 100 / wall : 0), (wall > 0 ? gen * 100 / wall : 0),
			calls, ok, failed, unexpected, timeouts, retrans, max, drops, procs, wall,
			(error != "" ? " first_error=" error : "") }'
}

n=0
for transport in $TRANSPORTS; do
	case "$transport" in
	udp) rates=$RATES_UDP pattern=u1 refresh=$REFRESH_UDP ;;
	tcp) rates=$RATES_TCP pattern=tn refresh=$REFRESH_TCP ;;
	*) log "unknown transport $transport (udp or tcp)"; continue ;;
	esac
	declare -A best=() last=() done_=() retried=()
	kam_ok=1
	for rate in $rates; do
		n=$((n + 1))
		for server in $SERVERS; do
			[ -z "${done_[$server]:-}" ] || continue
			try=1
			while :; do
				line=$(step "$server" "$transport" "$rate" "$try" "$n") || {
					log "$server did not start"
					[ "$server" = kamailio ] && kam_ok=0
					line=""
				}
				[ -n "$line" ] || { done_[$server]=1; break; }
				log "$server $transport (load $(cut -d' ' -f1 /proc/loadavg)): $line"
				if [ "${line%% *}" = fail ] && [ -z "${retried[$server]:-}" ]; then
					# One retry per server: a burst of other work on the shared
					# machine should not end a search early.
					retried[$server]=1
					try=2
					sleep 2
					continue
				fi
				break
			done
			[ -n "$line" ] || continue
			last[$server]="$line"
			case "$line" in
			ok*) best[$server]="$line" ;;
			*) done_[$server]=1 ;;
			esac
		done
		all_done=1
		for server in $SERVERS; do
			[ -n "${done_[$server]:-}" ] || all_done=0
		done
		[ "$all_done" = 1 ] && break
	done
	for server in $SERVERS; do
		[ -n "${last[$server]:-}" ] || continue
		if [ -z "${best[$server]:-}" ]; then
			result sipp_register transport="$transport" pattern="$pattern" refresh="$refresh" \
				server="$server" rate=0 note="'no rate sustained: ${last[$server]}'"
			continue
		fi
		set -- ${best[$server]}
		result sipp_register transport="$transport" pattern="$pattern" refresh="$refresh" \
			server="$server" rate="$2" reg_per_s="$3" p50_ms="$4" p99_ms="$5" \
			server_us_per_reg="$6" server_cpu_pct="$8" gen_us_per_reg="$7" gen_cpu_pct="$9" \
			"${15}" "${16}" "${17}" next_step="'$(echo "${last[$server]}" | cut -d' ' -f1-5)'"
	done
	if [ -n "${best[flowedge]:-}" ] && [ -n "${best[kamailio]:-}" ]; then
		fe=(${best[flowedge]}) kam=(${best[kamailio]})
		result sipp_register_ratio transport="$transport" pattern="$pattern" \
			rate_fe_over_kam="$(ratio "${fe[2]}" "${kam[2]}")" \
			server_us_per_reg_fe_over_kam="$(ratio "${fe[5]}" "${kam[5]}")" \
			reg_per_cpu_s_fe_over_kam="$(ratio "${kam[5]}" "${fe[5]}")"
	else
		result sipp_register_ratio transport="$transport" pattern="$pattern" \
			note="'no ratio: a server sustained no step$([ "$kam_ok" = 0 ] && echo ' (Kamailio did not start)')'"
	fi
done
