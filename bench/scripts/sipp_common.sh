# bench/scripts/sipp_common.sh: helpers of the sipp-driven pieces
# (sipp_register.sh, sipp_calls.sh), sourced after common.sh.
#
# sipp (Debian sip-tester 3.6) is the independent generator of issue 9: its
# stock load patterns (many UAs on one socket, one TCP connection per UA,
# caller and callee UAs) against flowedge and the Kamailio peer in one
# session. The scenarios are in bench/scripts/sipp/*.xml.
#
# What sipp measures and how it is read:
# - Outcome: its statistics file (-trace_stat -stf F), last line: successful
#   and failed calls, retransmissions, the reason of failures. With -nd a call
#   that gets any answer it did not expect fails (nothing is answered for it).
# - Latency: its response-time durations (rtd), one line per call and rtd in
#   the -trace_rtt file. sipp 3.6 times them with CLOCK_MONOTONIC_COARSE, so
#   they come in ticks of 4 ms on this kernel (HZ 250): good enough for the
#   "p99 < 50 ms" test, not for sub-millisecond figures (flowedge-bench gives
#   those). The same file gives the rate sipp really achieved (first to last
#   answer). -rtt_freq 1: sipp writes and flushes each line whatever the
#   frequency, and keeps what is below it unwritten at exit.
# - Failure: callers run with -default_behaviors abortunexp (a call that gets
#   an answer it did not expect fails at once, and sipp sends nothing for it);
#   callees with -nd (a BYE that overtakes its ACK is not an error).
# - UDP requests carry retrans="500": sipp retransmits only sends that ask
#   (a UA's Timer A/E, T1 = 500 ms); over TCP it never does.
# - Loss: sipp's socket buffers are set to $SIPP_BUFF_SIZE (its 64 KiB
#   default overflows at a few thousand answers/s on one UDP socket), and
#   each step reports how much /proc/net/snmp Udp RcvbufErrors grew (the whole
#   machine: a drop at either end).
# - Its own CPU: utime+stime from bash `times` in the subshell that waited for
#   it (all of its threads); server CPU from /proc/PID/stat (common.sh cpu_s).
#
# Ports: every sipp gets -cp/-ci/-mp (and a callee its -p) inside
# SIPP_PORT_BASE .. SIPP_PORT_BASE+499 [17000]: control ports base+0..49,
# media ports base+100.., callee listen ports base+300.. (TESTING.md: sipp's
# defaults 8888 and 6000 belong to nobody).
#
# Environment knobs:
#   SIPP           the sipp binary [sipp]
#   SIPP_PORT_BASE first port of this piece's range [17000]
#   SIPP_DOMAIN    AOR domain in To and Request-URI [example.com]
#   P99_MAX_MS     a step whose p99 exceeds this is not sustained [50]

SIPP="${SIPP:-sipp}"
SIPP_DIR="$FE_ROOT/bench/scripts/sipp"
SIPP_PORT_BASE="${SIPP_PORT_BASE:-17000}"
SIPP_DOMAIN="${SIPP_DOMAIN:-example.com}"
P99_MAX_MS="${P99_MAX_MS:-50}"

sipp_check() {
	command -v "$SIPP" >/dev/null || {
		log "sipp not found: apt-get install -y sip-tester"
		return 1
	}
	[ -f "$SIPP_DIR/register.xml" ] || { log "no scenarios in $SIPP_DIR"; return 1; }
}

# sipp_ports SLOT: the control, media (and a free listen) port options of
# slot 0..49, in SIPP_PORTS (an array).
sipp_ports() {
	local k=$(($1 % 50))
	SIPP_PORTS=(-cp "$((SIPP_PORT_BASE + k))" -ci 127.0.0.1 -mp "$((SIPP_PORT_BASE + 100 + 4 * k))")
}
sipp_listen_port() { echo "$((SIPP_PORT_BASE + 300 + $1 % 50))"; }

# make_users FILE PREFIX COUNT TAG: a SEQUENTIAL injection file of COUNT
# users PREFIX0.. with an instance UUID each (TAG: 8 hex digits, so two
# files never share an instance).
make_users() {
	awk -v p="$2" -v n="$3" -v tag="$4" 'BEGIN{
		print "SEQUENTIAL"
		for (i = 0; i < n; i++) printf "%s%d;%s-0000-4000-8000-%012x\n", p, i, tag, i }' >"$1"
}

# make_targets FILE PREFIX COUNT: a SEQUENTIAL injection file that names
# users PREFIX0..COUNT-1 in a shuffled order (sipp wraps around at its end).
make_targets() {
	awk -v p="$2" -v n="$3" 'BEGIN{
		srand(7); print "SEQUENTIAL"
		for (i = 0; i < n; i++) a[i] = i
		for (i = n - 1; i > 0; i--) { j = int(rand() * (i + 1)); t = a[i]; a[i] = a[j]; a[j] = t }
		for (i = 0; i < n; i++) printf "%s%d\n", p, a[i] }' >"$1"
}

# sipp_bg DIR NAME ARGS...: runs sipp in DIR in the background, bounded by
# `timeout`, with its statistics (NAME.stat.csv), response times
# (<scenario>_<pid>_rtt.csv) and errors (<scenario>_<pid>_errors.log) there;
# NAME.pid holds the PID of its `timeout` (sipp_stop_dir), and on exit
# NAME.rc its exit code and NAME.times its CPU seconds (bash `times` of the
# subshell that waited for it). Sets SIPP_BG_PID (the subshell: wait for it).
sipp_bg() {
	local dir="$1" name="$2"
	shift 2
	mkdir -p "$dir"
	(
		cd "$dir" || exit 1
		timeout "$SIPP_TIMEOUT_S" "$SIPP" "$@" -nostdin -buff_size "$SIPP_BUFF_SIZE" \
			-trace_stat -stf "$name.stat.csv" -fd 1 \
			-trace_rtt -rtt_freq 1 -trace_err >"$name.out" 2>&1 &
		echo $! >"$name.pid"
		wait $!
		echo $? >"$name.rc"
		# Not in a pipe: a forked `times` would report the fork's children.
		times >"$name.times.raw"
		awk 'NR == 2 {
			n = split($0, f, " "); s = 0
			for (i = 1; i <= n; i++) { split(f[i], ms, /[ms]/); s += ms[1] * 60 + ms[2] }
			printf "%.3f\n", s }' "$name.times.raw" >"$name.times"
	) </dev/null >/dev/null 2>&1 &
	SIPP_BG_PID=$!
}

# sipp_stop_dir DIR: SIGTERM to every sipp of DIR still running (through its
# `timeout`, which passes the signal on), by the PIDs sipp_bg recorded.
sipp_stop_dir() {
	local f p
	for f in "$1"/*.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		[ ! -f "${f%.pid}.rc" ] && grep -qa timeout "/proc/$p/cmdline" 2>/dev/null && kill -TERM "$p"
	done
	return 0
}
SIPP_TIMEOUT_S="${SIPP_TIMEOUT_S:-120}"
# sipp's socket buffers default to 64 KiB: a burst of answers overflows its
# one UDP socket and looks like the server's loss. 4 MiB = net.core.rmem_max.
SIPP_BUFF_SIZE="${SIPP_BUFF_SIZE:-4194304}"

# sipp_stat FILE COLUMN...: the values of named columns in the last line of a
# sipp statistics file, space separated ("-" when absent).
sipp_stat() {
	local file="$1"
	shift
	[ -s "$file" ] || { for _ in "$@"; do printf -- '- '; done; echo; return; }
	awk -F';' -v cols="$*" 'NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
		{ last = $0 }
		END { n = split(cols, c, " "); split(last, v, ";")
			for (i = 1; i <= n; i++) printf "%s%s", (c[i] in idx ? v[idx[c[i]]] : "-"), (i < n ? " " : "\n") }' "$file"
}

# rtt_summary FILE...: over the -trace_rtt files of one run (every rtd
# merged): "COUNT P50_MS P99_MS MAX_MS RATE_PER_S" where RATE is the answers
# of rtd 1 per second between the first and the last one.
rtt_summary() {
	local rate
	rate=$(awk -F';' 'FNR > 1 && $3 == "1" { t = $1 + 0; if (!c || t < t0) t0 = t; if (t > t1) t1 = t; c++ }
		END { span = (t1 - t0) / 1000; printf "%.1f", (span > 0 ? (c - 1) / span : 0) }' "$@")
	awk -F';' 'FNR > 1 { print $2 + 0 }' "$@" | sort -g | awk -v rate="$rate" '{ v[n++] = $1 }
		END {
			if (n == 0) { print "0 0 0 0 0"; exit }
			i50 = int(0.50 * n); i99 = int(0.99 * n); if (i99 >= n) i99 = n - 1
			printf "%d %.3f %.3f %.3f %s\n", n, v[i50], v[i99], v[n - 1], rate }'
}

# first_error DIR: the first failure sipp logged in DIR, on one line, short
# (e.g. "... while expecting '200' (index 6), received 'SIP/2.0 480 ...").
first_error() {
	cat "$1"/*_errors.log 2>/dev/null | tr '\r\n' '  ' |
		sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}[[:space:]]+[0-9:.]+[[:space:]]+[0-9.]+: /\n/g' |
		grep -a -m1 -E 'unexpected|timeout|Aborting|Unable|failed|Failed' |
		tr -s ' ' | tr "'" ' ' | cut -c1-200
}

# sum of the NAME.times files in DIR (CPU seconds of those sipp runs).
sipp_cpu_sum() { cat "$1"/*.times 2>/dev/null | awk '{s += $1} END{printf "%.3f", s}'; }

# ratio A B: A / B with 2 decimals, "-" when either is missing or B is 0.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
