#!/bin/bash
# bench/scripts/calls.sh: request routing rates (figures 3 and 5), flowedge
# and the Kamailio peer in the same session.
#
#   bench/scripts/calls.sh message   # figure 3: MESSAGE routed by Route = the
#                                    # callee's Path (stateless forwarding on
#                                    # the edge), one flowedge worker
#   bench/scripts/calls.sh invite    # figure 5: INVITE->180->200->ACK->BYE->200,
#                                    # routed by AOR (proxy role), 2 workers
#
# flowedge-bench registers $UAS UAs over TCP, then sends requests at a fixed
# --rate for $SECS s. A rate search walks $RATES upwards and keeps the highest
# rate the server sustains: >= 98 % of the requests sent were completed (a
# MESSAGE got a 2xx; an INVITE call got its 2xx and then a 2xx to its BYE,
# issue 8), nothing timed out beyond 0.5 %, the generator kept up (not-sent
# < 1 %) and the request p99 stayed under $P99_MAX_MS (200 ms). A server whose
# calls do not complete gets "rate=0 note='no rate sustained: ... completed=0
# bye_status=...'" instead of a rate. Each
# sustained step also reports server CPU per request (utime+stime delta over
# the whole flowedge-bench run, registration included, divided by requests;
# an upper bound).
# Prints: RESULT calls kind=message server=flowedge rate=... p50_ms=... p99_ms=...
source "$(dirname "$0")/common.sh"

KIND="${1:-message}"
UAS="${UAS:-5000}"
SECS="${SECS:-5}"
P99_MAX_MS="${P99_MAX_MS:-200}"  # a step whose p99 exceeds this is not sustained
case "$KIND" in
message)
	RATES="${RATES:-2000 4000 8000 12000 16000 20000 25000 30000 40000 50000}"
	FE_WORKERS="${FE_WORKERS:-1}"
	# FE_ROUTE=aor: flowedge routes by AOR too (proxy role), like Kamailio.
	BENCH_ARGS=(--method message --call-route "${FE_ROUTE:-path}")
	;;
invite)
	RATES="${RATES:-1000 2000 3000 4000 6000 8000 10000 12000 15000 20000}"
	FE_WORKERS="${FE_WORKERS:-2}"
	BENCH_ARGS=(--method invite --call-route aor)
	;;
*) echo "usage: $0 message|invite" >&2; exit 2 ;;
esac

# cpu_sampler PIDS FILE: "seconds cpu_s" lines every 0.25 s until killed.
cpu_sampler() {
	while :; do
		echo "$(date +%s.%N) $(cpu_s "$1")" >>"$2"
		sleep 0.25
	done
}

# step SERVER PIDS PORT RATE NET [bench args]: one fixed-rate run; prints
# "ok|fail RATE DELIVERED_PER_S P50 P99 US_PER_REQ ...". Server CPU per
# request comes from the last $SECS - 0.5 s of the run (the request phase;
# registration comes first), as CPU seconds per second / requests per second.
step() {
	local server="$1" pids="$2" port="$3" rate="$4" net="$5" out line sampler samples
	shift 5
	samples="$LOGS/calls-$KIND-$server-$rate.cpu"
	: >"$samples"
	cpu_sampler "$pids" "$samples" &
	sampler=$!
	out=$("$BENCH" call --target "127.0.0.1:$port" --transport tcp --uas "$UAS" \
		--rate "$rate" --duration "$SECS" --threads 1 --source-net "$net" --quiet "$@" 2>&1)
	kill "$sampler"
	wait "$sampler" 2>/dev/null
	echo "$out" >"$LOGS/calls-$KIND-$server-$rate.txt"
	line=$(echo "$out" | grep '^call:')
	# completed: C of S sent, X completed/s, N not completed
	local completed bye_status
	completed=$(echo "$out" | awk '/^completed:/{print $2}')
	bye_status=$(echo "$out" | awk '/^bye-status:/{$1=""; gsub(/^ /, ""); gsub(/ /, ","); print}')
	if [ -z "$line" ]; then
		echo "fail $rate 0 0 0 0 (no call line: $(echo "$out" | grep -m1 -E 'register:|flowedge-bench'))"
		return
	fi
	# CPU seconds per second over the request phase.
	local busy
	busy=$(awk -v w="$SECS" '{t[NR]=$1; c[NR]=$2} END{
		for (i = NR; i > 1 && t[NR] - t[i] < w - 0.5; i--) {}
		if (t[NR] > t[i]) printf "%.4f", (c[NR] - c[i]) / (t[NR] - t[i]); else print 0 }' "$samples")
	# call: S sent, D delivered, K ok, F failed, T timeout, N not sent, X delivered/s, p50 a ms, p90 b ms, p99 c ms, ...
	echo "$line" | awk -v rate="$rate" -v busy="$busy" -v p99max="$P99_MAX_MS" \
		-v completed="${completed:-0}" -v bye_status="${bye_status:-none}" '{
		gsub(",", "");
		sent=$2; ok=$6; timeout=$10; notsent=$12; per_s=$15; p50=$18; p99=$24;
		good = sent > 0 && completed >= 0.98 * sent && timeout <= 0.005 * sent && notsent <= 0.01 * (sent + notsent) && p99 + 0 <= p99max + 0;
		printf "%s %s %s %s %s %.2f cpu_pct=%.0f sent=%s ok=%s completed=%s timeout=%s not_sent=%s bye_status=%s\n", (good ? "ok" : "fail"), rate, per_s, p50, p99, (per_s > 0 ? busy * 1e6 / per_s : 0), busy * 100, sent, ok, completed, timeout, notsent, bye_status }'
}

# Kamailio keeps no Path hop of its own when it is edge and registrar in one
# (its 200 to REGISTER carries no Path), so for MESSAGE it routes by AOR
# (registrar lookup); set KAM_ROUTE=path with a two-hop peer to compare the
# same routing.
KAM_ROUTE="${KAM_ROUTE:-aor}"

# Both servers run at once and every rate step runs flowedge then Kamailio, so
# a change of background load on the shared machine hits both alike. A server
# leaves the search at its second failed step (one retry); its RESULT is its
# last good step.
fe_start "calls-$KIND" --workers "$FE_WORKERS" || exit 1
KAM_PIDS=""
if kam_start; then
	KAM_PIDS=$(kam_pids)
else
	log "Kamailio peer not started (running already, or not installed): no ratio"
fi
declare -A best last done_ retried
n=0
for rate in $RATES; do
	n=$((n + 1))
	for server in flowedge kamailio; do
		[ -z "${done_[$server]:-}" ] || continue
		if [ "$server" = flowedge ]; then
			line=$(step flowedge "$FE_PID" "$FE_PORT" "$rate" "127.$((40 + n)).0.0/16" "${BENCH_ARGS[@]}")
		else
			[ -n "$KAM_PIDS" ] || { done_[$server]=1; continue; }
			args=("${BENCH_ARGS[@]}")
			[ "$KIND" = message ] && args=(--method message --call-route "$KAM_ROUTE")
			line=$(step kamailio "$KAM_PIDS" "$KAM_PORT" "$rate" "127.$((70 + n)).0.0/16" "${args[@]}")
		fi
		log "$server $KIND (load $(cut -d' ' -f1 /proc/loadavg)): $line"
		if [ "${line%% *}" = fail ] && [ -z "${retried[$server]:-}" ]; then
			# One retry per server: a burst of other work on the shared machine
			# should not end a search early.
			retried[$server]=1
			sleep 2
			if [ "$server" = flowedge ]; then
				line=$(step flowedge "$FE_PID" "$FE_PORT" "$rate" "127.$((140 + n)).0.0/16" "${BENCH_ARGS[@]}")
			else
				line=$(step kamailio "$KAM_PIDS" "$KAM_PORT" "$rate" "127.$((170 + n)).0.0/16" "${args[@]}")
			fi
			log "$server $KIND retry: $line"
		fi
		last[$server]="$line"
		case "$line" in
		ok*) best[$server]="$line" ;;
		*) done_[$server]=1 ;;
		esac
	done
done
for server in flowedge kamailio; do
	[ -n "${last[$server]:-}" ] || continue
	route=$([ "$server" = kamailio ] && [ "$KIND" = message ] && echo "$KAM_ROUTE" || echo "${BENCH_ARGS[3]}")
	if [ -z "${best[$server]:-}" ]; then
		result calls kind="$KIND" server="$server" route="$route" rate=0 note="'no rate sustained: ${last[$server]}'"
		continue
	fi
	set -- ${best[$server]}
	result calls kind="$KIND" server="$server" route="$route" uas="$UAS" rate="$2" \
		delivered_per_s="$3" p50_ms="$4" p99_ms="$5" server_us_per_req="$6" "$7" "${10}" \
		next_step="'$(echo "${last[$server]}" | cut -d' ' -f1-3)'"
done
log "$(fe_stop)"
kam_stop
