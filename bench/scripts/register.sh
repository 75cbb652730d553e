#!/bin/bash
# bench/scripts/register.sh: REGISTER transactions per second through one node
# (figure 4), over TCP (each UA opens its own connection, which then stays up
# as its flow: connect + REGISTER per UA) and over UDP, flowedge and the
# Kamailio peer in the same session.
#
# flowedge-bench register: $UAS RFC 5626 UAs (Supported: outbound, path,
# +sip.instance, reg-id), unpaced with $WINDOW registrations in flight; the
# rate and latency are its "register:" line. Each run gets a fresh server (so
# every REGISTER creates a binding, none refreshes one) and its own source
# net. Server CPU per REGISTER = utime+stime delta over the run / REGISTERs.
#
#   bench/scripts/register.sh     # RUNS=3, UAS_TCP=15000, UAS_UDP=30000, WINDOW=1000
# Prints: RESULT register server=flowedge transport=tcp rate=... p50_ms=... p99_ms=...
source "$(dirname "$0")/common.sh"

# TCP: 15,000 UAs (one connection each) stays under Kamailio's
# tcp_max_connections (19,500) and the 20,000 open-file limit of its
# processes; beyond that its REGISTERs time out and the ratio means nothing.
UAS_TCP="${UAS_TCP:-15000}"
UAS_UDP="${UAS_UDP:-30000}"
WINDOW="${WINDOW:-1000}"
FE_WORKERS="${FE_WORKERS:-2}"
TRANSPORTS="${TRANSPORTS:-tcp udp}"

# one_run SERVER TRANSPORT RUN: prints "RATE P50 P99 US_PER_REG OK".
one_run() {
	local server="$1" transport="$2" run="$3" port pids out line cpu0 cpu1 uas=$UAS_UDP
	[ "$transport" = tcp ] && uas=$UAS_TCP
	local net="127.$((20 + run)).0.0/16"
	[ "$server" = kamailio ] && net="127.$((30 + run)).0.0/16"
	if [ "$server" = flowedge ]; then
		fe_start "register-$transport-$run" --workers "$FE_WORKERS" || return 1
		pids=$FE_PID port=$FE_PORT
	else
		kam_start || return 1
		pids=$(kam_pids) port=$KAM_PORT
	fi
	cpu0=$(cpu_s "$pids")
	out=$("$BENCH" register --target "127.0.0.1:$port" --transport "$transport" --uas "$uas" \
		--window "$WINDOW" --threads 1 --source-net "$net" --quiet 2>&1)
	cpu1=$(cpu_s "$pids")
	echo "$out" >"$LOGS/register-$server-$transport-$run.txt"
	if [ "$server" = flowedge ]; then fe_stop >/dev/null; else kam_stop; fi
	line=$(echo "$out" | grep '^register:')
	# register: N ok, F failed, T timeout, A aborted, X/s, p50 a ms, p90 b ms, p99 c ms, ...
	echo "$line" | awk -v cpu="$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{print b-a}')" '{
		gsub(",", ""); sub("/s", "", $10);
		printf "%s %s %s %.2f %s\n", $10, $12, $18, ($2 > 0 ? cpu * 1e6 / $2 : 0), $2 }'
}

# Runs alternate between the servers (flowedge, Kamailio, flowedge, ...) so
# background load on the shared machine hits both alike.
for transport in $TRANSPORTS; do
	declare -A R=() P50=() P99=() US=() OK=()
	for run in $(seq 1 "$RUNS"); do
		for server in flowedge kamailio; do
			line=$(one_run "$server" "$transport" "$run") || { log "$server did not start"; continue; }
			log "$server $transport run $run (load $(cut -d' ' -f1 /proc/loadavg)): rate p50 p99 us/reg ok = $line"
			set -- $line
			R[$server]+=" $1" P50[$server]+=" $2" P99[$server]+=" $3" US[$server]+=" $4" OK[$server]+=" $5"
		done
	done
	for server in flowedge kamailio; do
		[ -n "${R[$server]:-}" ] || continue
		rates=(${R[$server]}) p50s=(${P50[$server]}) p99s=(${P99[$server]}) uss=(${US[$server]}) oks=(${OK[$server]})
		result register server="$server" transport="$transport" uas="$([ "$transport" = tcp ] && echo "$UAS_TCP" || echo "$UAS_UDP")" window="$WINDOW" \
			runs="${#rates[@]}" rate="$(median "${rates[@]}")" p50_ms="$(median "${p50s[@]}")" \
			p99_ms="$(median "${p99s[@]}")" server_us_per_reg="$(median "${uss[@]}")" \
			ok_min="$(printf '%s\n' "${oks[@]}" | sort -n | head -1)" \
			all_rates="$(IFS=/; echo "${rates[*]}")"
	done
done
