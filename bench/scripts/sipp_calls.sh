#!/bin/bash
# bench/scripts/sipp_calls.sh: calls and MESSAGEs by AOR driven by sipp
# (issues 8 and 9), flowedge and the Kamailio peer in the same session, as a
# rate search.
#
#   bench/scripts/sipp_calls.sh invite    # (c) INVITE->180->200->ACK->BYE->200
#   bench/scripts/sipp_calls.sh message   # (d) MESSAGE->200
#   RATES="200 400" SECS=5 UAS=1000 bench/scripts/sipp_calls.sh invite   # a short try
#
# Per server, one callee sipp (scenario bench/scripts/sipp/uas_register.xml)
# registers $UAS users (outbound: reg-id 1, +sip.instance each) over ONE
# socket, by default one TCP connection (CALLEE_T=t1: every binding on one
# flow, a trunk), then stays up and answers, through its out-of-call scenario
# (uas_invite.xml / uas_message.xml), what the server delivers to them. Per
# step, a caller sipp (uac_invite.xml / uac_message.xml) on one UDP socket
# (CALLER_T=u1) sends RATE requests/s for $SECS s (default 40, see SECS
# below) to random registered users by AOR: Request-URI sip:USER@$SIPP_DOMAIN, sent to the server with -rsa. An
# INVITE call then ACKs the 200 and sends BYE to the 200's Contact through
# its Record-Route set (sipp rrs, [next_url] and [routes]); the call counts
# only when the BYE got its 200 (issue 8). Both servers run for the whole
# search (flowedge: --workers $FE_WORKERS; Kamailio: ../shared/peers/kamailio
# with its config as is) and the steps alternate between them. A step is
# sustained when every call succeeded, p99 of the response times (INVITE->200
# and BYE->200, or MESSAGE->200) stayed under $P99_MAX_MS ms and sipp kept
# >= 95 % of the offered rate; a server leaves at its second failed step (one
# retry) and its figure is its highest sustained step.
#
# Prints per server, e.g.
#   RESULT sipp_calls kind=invite server=kamailio callee=t1 caller=u1 uas=5000
#     rate=1000 calls_per_s=998.7 p50_ms=0.000 p99_ms=8.000
#     server_us_per_call=410.20 server_cpu_pct=41 gen_us_per_call=150.10
#     gen_cpu_pct=15 retrans=0 next_step='...'
# (server CPU = utime+stime of the server's processes over the step / calls
# completed; gen = both sipp processes), or, when no step was sustained,
#   RESULT sipp_calls kind=invite server=flowedge rate=0 note='no rate
#     sustained: fail 500 ... invite_answered=20000 completed=0 ...
#     first_error=Aborting_call_on_unexpected_message_..._received_SIP/2.0_480...'
# naming what sipp received instead of the 200 to its BYE; then
#   RESULT sipp_calls_ratio kind=invite rate_fe_over_kam=...
#     server_us_per_call_fe_over_kam=... calls_per_cpu_s_fe_over_kam=...
# or note='no ratio: ...'.
# Knobs: RATES, SECS [40], UAS [5000], CALLEE_T [t1|u1], CALLER_T [u1|t1],
# FE_WORKERS [2], P99_MAX_MS [50], SIPP_DOMAIN, SIPP_PORT_BASE [17000]; logs
# and sipp's files in $FE_BUILD/logs/sipp-calls-*.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/sipp_common.sh"
sipp_check || exit 1

KIND="${1:-invite}"
case "$KIND" in
invite) RATES="${RATES:-500 1000 1500 2000 3000 4000 5000 6000 8000}" ;;
message) RATES="${RATES:-1000 2000 4000 6000 8000 10000 12000 15000 20000}" ;;
*) echo "usage: $0 invite|message" >&2; exit 2 ;;
esac
UAS="${UAS:-5000}"
# 40 s steps: over UDP a proxy keeps every transaction it answered for 32 s
# (RFC 3261 Timer J for a MESSAGE or BYE, RFC 6026 Timer L for an INVITE's
# 2xx; Kamailio's tm: wait_timer, 5 s), so a shorter step never reaches the
# steady state and hides a table that fills up (flowedge's proxy keeps 4,096
# per worker, cluster/proxy_limits.h: 128 new requests/s per worker over UDP).
SECS="${SECS:-40}"
CALLEE_T="${CALLEE_T:-t1}"
CALLER_T="${CALLER_T:-u1}"
FE_WORKERS="${FE_WORKERS:-2}"
STAMP=$(date +%H%M%S)
TOP="$LOGS/sipp-calls-$KIND-$STAMP"
mkdir -p "$TOP"
# The callee sipp lives for the whole search; the script stops it.
UAS_TIMEOUT_S="${UAS_TIMEOUT_S:-3600}"

cleanup_sipp() {
	local d
	for d in "$TOP"/uas-* "$TOP"/step-*; do [ -d "$d" ] && sipp_stop_dir "$d"; done
	cleanup
}
trap cleanup_sipp EXIT

# sipp_pid_of DIR NAME: the sipp process under the `timeout` sipp_bg started.
sipp_pid_of() { pgrep -P "$(cat "$1/$2.pid" 2>/dev/null)" -x sipp 2>/dev/null | head -1; }

# start_callee SERVER PORT SLOT: the callee sipp of SERVER; waits until every
# user is registered (one rtd line each) or 60 s passed. Sets CALLEE_PID and
# CALLEE_REGISTERED.
start_callee() {
	local server="$1" port="$2" slot="$3" dir="$TOP/uas-$1" i n=0
	mkdir -p "$dir"
	make_users "$dir/callees.csv" callee "$UAS" "$(printf 'ca11ee%02x' "$slot")"
	sipp_ports "$slot"
	SIPP_TIMEOUT_S=$UAS_TIMEOUT_S sipp_bg "$dir" uas \
		-sf "$SIPP_DIR/uas_register.xml" -oocsf "$SIPP_DIR/uas_$KIND.xml" \
		-inf "$dir/callees.csv" -key domain "$SIPP_DOMAIN" -s callee -t "$CALLEE_T" \
		-i 127.0.0.1 -p "$(sipp_listen_port "$slot")" "${SIPP_PORTS[@]}" \
		-r 2000 -m "$UAS" -l "$UAS" -d $((UAS_TIMEOUT_S * 1000)) -deadcall_wait 0 -nd \
		-recv_timeout 10000 "127.0.0.1:$port"
	for i in $(seq 1 600); do
		n=$(cat "$dir"/uas_register_*_rtt.csv 2>/dev/null | grep -c ';1$')
		[ "$n" -ge "$UAS" ] && break
		[ -f "$dir/uas.rc" ] && break
		sleep 0.1
	done
	CALLEE_PID=$(sipp_pid_of "$dir" uas)
	CALLEE_REGISTERED=$n
}

# step SERVER PORT PIDS UAS_PID RATE TRY N: one caller run (N: the step's
# number, which picks a caller address no earlier step used); prints
# "ok|fail RATE CALLS_PER_S P50 P99 SERVER_US GEN_US SERVER_PCT GEN_PCT key=value..."
step() {
	local server="$1" port="$2" pids="$3" uas_pid="$4" rate="$5" try="$6"
	local s_id=$([ "$server" = flowedge ] && echo 0 || echo 1)
	local calls=$((rate * SECS)) dir="$TOP/step-$server-$rate-$try" n="$7"
	rm -rf "$dir"
	mkdir -p "$dir"
	trap 'sipp_stop_dir "$dir"' EXIT
	make_targets "$dir/targets.csv" callee "$UAS"
	sipp_ports $((10 + s_id))
	local drops0 cpu0 cpu1 uas0 uas1 t0 t1
	drops0=$(udp_rcvbuf_errors)
	cpu0=$(cpu_s "$pids")
	uas0=$(cpu_s "$uas_pid")
	t0=$(date +%s.%N)
	sipp_bg "$dir" uac -sf "$SIPP_DIR/uac_$KIND.xml" -inf "$dir/targets.csv" \
		-key domain "$SIPP_DOMAIN" -t "$CALLER_T" -i "127.$((150 + n % 100)).$s_id.$try" \
		"${SIPP_PORTS[@]}" -r "$rate" -m "$calls" -default_behaviors abortunexp -recv_timeout 10000 \
		-rsa "127.0.0.1:$port" "127.0.0.1:$port"
	wait "$SIPP_BG_PID"
	t1=$(date +%s.%N)
	cpu1=$(cpu_s "$pids")
	uas1=$(cpu_s "$uas_pid")
	local drops=$(($(udp_rcvbuf_errors) - drops0))
	set -- $(sipp_stat "$dir/uac.stat.csv" 'SuccessfulCall(C)' 'FailedCall(C)' 'Retransmissions(C)' \
		'FailedUnexpectedMessage(C)' 'FailedTimeoutOnRecv(C)' 'FailedMaxUDPRetrans(C)')
	local ok=${1/-/0} failed=${2/-/0} retrans=${3/-/0} unexpected=${4/-/0} timeouts=${5/-/0}
	local maxretrans=${6/-/0}
	local answered
	answered=$(cat "$dir"/*_rtt.csv 2>/dev/null | grep -c ';1$')
	set -- $(rtt_summary "$dir"/*_rtt.csv)  # count p50 p99 max achieved
	awk -v rate="$rate" -v calls="$calls" -v ok="$ok" -v failed="$failed" -v p50="$2" -v p99="$3" \
		-v max="$4" -v achieved="$5" -v answered="$answered" -v kind="$KIND" \
		-v cpu="$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{print b - a}')" \
		-v gen="$(awk -v a="$uas0" -v b="$uas1" -v c="$(cat "$dir/uac.times" 2>/dev/null)" 'BEGIN{print b - a + c}')" \
		-v wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')" -v p99max="$P99_MAX_MS" \
		-v retrans="$retrans" -v unexpected="$unexpected" -v timeouts="$timeouts" \
		-v maxretrans="$maxretrans" -v drops="$drops" \
		-v error="$(first_error "$dir" | tr ' ' '_')" 'BEGIN{
		good = ok == calls && failed == 0 && p99 + 0 < p99max + 0 && achieved >= 0.95 * rate
		# For INVITE, "answered" = 200s to the INVITE; ok = calls whose BYE got 200.
		printf "%s %s %.1f %s %s %.2f %.2f %.0f %.0f calls=%d %s=%d completed=%d failed=%d unexpected=%d recv_timeouts=%d max_udp_retrans=%d retrans=%d max_ms=%s udp_rcvbuf_drops=%d wall_s=%.2f%s\n",
			(good ? "ok" : "fail"), rate, (ok == calls ? achieved : achieved * ok / (answered > 0 ? answered : 1)),
			p50, p99, (ok > 0 ? cpu * 1e6 / ok : 0), (ok > 0 ? gen * 1e6 / ok : 0),
			(wall > 0 ? cpu * 100 / wall : 0), (wall > 0 ? gen * 100 / wall : 0),
			calls, (kind == "invite" ? "invite_answered" : "answered"), answered, ok, failed,
			unexpected, timeouts, maxretrans, retrans, max, drops, wall,
			(error != "" ? " first_error=" error : "") }'
}

# Both servers and both callee sipps run for the whole search.
fe_start "sipp-calls-$KIND" --workers "$FE_WORKERS" || exit 1
declare -A PORT PIDS UAS_PID best last done_ retried
PORT[flowedge]=$FE_PORT PIDS[flowedge]=$FE_PID
if kam_start; then
	PORT[kamailio]=$KAM_PORT PIDS[kamailio]=$(kam_pids)
else
	log "Kamailio peer not started (running already, or not installed): no ratio"
	done_[kamailio]=1
fi
slot=0
for server in flowedge kamailio; do
	[ -z "${done_[$server]:-}" ] || { slot=$((slot + 1)); continue; }
	start_callee "$server" "${PORT[$server]}" "$slot"
	UAS_PID[$server]="$CALLEE_PID"
	log "$server: callee sipp ${CALLEE_PID:-?} registered $CALLEE_REGISTERED of $UAS users over $CALLEE_T"
	if [ -z "$CALLEE_PID" ] || [ "$CALLEE_REGISTERED" -lt "$UAS" ]; then
		log "$server: registration incomplete: $(first_error "$TOP/uas-$server")"
		last[$server]="fail 0 0 0 0 0 0 0 0 callee_registered=${CALLEE_REGISTERED}_of_$UAS"
		done_[$server]=1
	fi
	slot=$((slot + 1))
done

n=0
for rate in $RATES; do
	n=$((n + 1))
	for server in flowedge kamailio; do
		[ -z "${done_[$server]:-}" ] || continue
		line=$(step "$server" "${PORT[$server]}" "${PIDS[$server]}" "${UAS_PID[$server]}" "$rate" 1 "$n")
		log "$server $KIND (load $(cut -d' ' -f1 /proc/loadavg)): $line"
		if [ "${line%% *}" = fail ] && [ -z "${retried[$server]:-}" ]; then
			# One retry per server: a burst of other work on the shared machine
			# should not end a search early.
			retried[$server]=1
			sleep 2
			line=$(step "$server" "${PORT[$server]}" "${PIDS[$server]}" "${UAS_PID[$server]}" "$rate" 2 "$n")
			log "$server $KIND retry: $line"
		fi
		last[$server]="$line"
		case "$line" in
		ok*) best[$server]="$line" ;;
		*) done_[$server]=1 ;;
		esac
	done
	[ -n "${done_[flowedge]:-}" ] && [ -n "${done_[kamailio]:-}" ] && break
done

for server in flowedge kamailio; do
	[ -n "${last[$server]:-}" ] || continue
	common=(kind="$KIND" server="$server" callee="$CALLEE_T" caller="$CALLER_T" uas="$UAS")
	if [ -z "${best[$server]:-}" ]; then
		result sipp_calls "${common[@]}" rate=0 note="'no rate sustained: ${last[$server]}'"
		continue
	fi
	set -- ${best[$server]}
	result sipp_calls "${common[@]}" rate="$2" calls_per_s="$3" p50_ms="$4" p99_ms="$5" \
		server_us_per_call="$6" server_cpu_pct="$8" gen_us_per_call="$7" gen_cpu_pct="$9" \
		"${17}" "${18}" "${19}" next_step="'$(echo "${last[$server]}" | cut -d' ' -f1-5)'"
done
if [ -n "${best[flowedge]:-}" ] && [ -n "${best[kamailio]:-}" ]; then
	fe=(${best[flowedge]}) kam=(${best[kamailio]})
	result sipp_calls_ratio kind="$KIND" rate_fe_over_kam="$(ratio "${fe[2]}" "${kam[2]}")" \
		server_us_per_call_fe_over_kam="$(ratio "${fe[5]}" "${kam[5]}")" \
		calls_per_cpu_s_fe_over_kam="$(ratio "${kam[5]}" "${fe[5]}")"
else
	why=""
	[ -z "${best[flowedge]:-}" ] && why="flowedge sustained no step"
	[ -z "${best[kamailio]:-}" ] && why="${why:+$why; }Kamailio sustained no step"
	result sipp_calls_ratio kind="$KIND" note="'no ratio: $why'"
fi
for d in "$TOP"/uas-*; do sipp_stop_dir "$d"; done
log "$(fe_stop)"
kam_stop
