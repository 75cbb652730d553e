# bench/scripts/common.sh: shared helpers of the load measurements (sourced).
#
# Every piece starts only processes it owns, records their PIDs and stops
# exactly those (TESTING.md: stop only the processes your test started, by
# PID). Every load is bounded in count and time, on loopback.
#
# Environment knobs (defaults in brackets):
#   FE_BUILD   build dir with flowedge, flowedge-bench, flowedge-micro [build-meas]
#   FE_PORT    flowedge's UDP+TCP port on 127.0.0.1 [15060]
#   KAM_SH     the Kamailio peer's control script [../shared/peers/kamailio/kam.sh,
#              beside the repository]
#   KAM_PORT   Kamailio's port [5070]
#   RUNS       repetitions per figure; the median is reported [3]
#   RESULTS    file every "RESULT ..." line is appended to [$FE_BUILD/results.txt]
set -u

FE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FE_BUILD="${FE_BUILD:-$FE_ROOT/build-meas}"
FE_PORT="${FE_PORT:-15060}"
KAM_SH="${KAM_SH:-$FE_ROOT/../shared/peers/kamailio/kam.sh}"
KAM_PORT="${KAM_PORT:-5070}"
RUNS="${RUNS:-3}"
RESULTS="${RESULTS:-$FE_BUILD/results.txt}"
FLOWEDGE="$FE_BUILD/cluster/flowedge"
BENCH="$FE_BUILD/bench/loadgen/flowedge-bench"
MICRO="$FE_BUILD/bench/flowedge-micro"
TOOLS="$FE_BUILD/tools"
LOGS="$FE_BUILD/logs"
mkdir -p "$LOGS" "$TOOLS"

FE_PID=""
FE_LOG=""

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# A result line, on stdout and appended to $RESULTS: "RESULT name key=value ...".
result() {
	echo "RESULT $*"
	echo "$(date -u +%FT%TZ) RESULT $*" >>"$RESULTS"
}

# The C++ helpers of bench/tools, built with the system compiler (they use
# nothing of the project, so they stay out of the shared CMake targets).
build_tools() {
	local t
	for t in pingstorm udpflows; do
		if [ ! -x "$TOOLS/fe-$t" ] || [ "$FE_ROOT/bench/tools/fe_$t.cc" -nt "$TOOLS/fe-$t" ]; then
			g++ -O2 -std=c++20 -Wall -Wextra -Wshadow -Wconversion -Werror -pthread \
				-o "$TOOLS/fe-$t" "$FE_ROOT/bench/tools/fe_$t.cc" || return 1
		fi
	done
}

# fe_start LOGNAME [flowedge options...]: starts a node on 127.0.0.1:$FE_PORT
# (UDP and TCP) and waits for both "listening" lines. Sets FE_PID, FE_LOG.
fe_start() {
	local name="$1"
	shift
	FE_LOG="$LOGS/flowedge-$name.log"
	: >"$FE_LOG"  # exists before the first grep below
	# flowedge's listeners use SO_REUSEPORT: a node left running on the port
	# would share the load silently (and its CPU would not be counted).
	if [ -n "$(ss -Hlntu "sport = :$FE_PORT" 2>/dev/null)" ]; then
		log "port $FE_PORT is taken (FE_PORT=...): $(ss -Hlntup "sport = :$FE_PORT" | head -1)"
		return 1
	fi
	"$FLOWEDGE" --listen "udp:127.0.0.1:$FE_PORT" --listen "tcp:127.0.0.1:$FE_PORT" "$@" \
		>"$FE_LOG" 2>&1 &
	FE_PID=$!
	local i
	for i in $(seq 1 100); do
		[ "$(grep -c 'listening on' "$FE_LOG")" -ge 2 ] && { sleep 0.5; return 0; }
		kill -0 "$FE_PID" 2>/dev/null || break
		sleep 0.1
	done
	log "flowedge did not start:"; cat "$FE_LOG" >&2
	return 1
}

# fe_stop: SIGTERM to the node we started, wait for it; prints its stats line.
fe_stop() {
	[ -n "$FE_PID" ] || return 0
	kill -TERM "$FE_PID" 2>/dev/null
	local i
	for i in $(seq 1 100); do kill -0 "$FE_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$FE_PID" 2>/dev/null; then
		log "flowedge $FE_PID did not stop in 10 s; SIGKILL"
		kill -KILL "$FE_PID"
	fi
	wait "$FE_PID" 2>/dev/null
	FE_PID=""
	grep 'flowedge: stats' "$FE_LOG" || true
}

# stat_field LOG NAME: a key=value from the node's stats line.
stat_field() { grep 'flowedge: stats' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1==k{print $2}'; }

# Kamailio is a shared peer: start it only when nobody runs it, and stop it
# only if this piece started it.
KAM_STARTED=0
kam_start() { "$KAM_SH" start "$@" >&2 && KAM_STARTED=1; }
kam_stop() { [ "$KAM_STARTED" = 1 ] && "$KAM_SH" stop >&2; KAM_STARTED=0; }
kam_pids() { "$KAM_SH" pids | paste -sd, -; }

# Memory of one process, bytes, from /proc/PID/smaps_rollup.
pss_bytes() { awk '/^Pss:/{print $2 * 1024}' "/proc/$1/smaps_rollup"; }
rss_bytes() { awk '/^Rss:/{print $2 * 1024}' "/proc/$1/smaps_rollup"; }
# Kernel memory: slab bytes, and sockstat's TCP mem pages.
slab_bytes() { awk '/^Slab:/{print $2 * 1024}' /proc/meminfo; }
tcp_inuse() { awk '/^TCP:/{print $3}' /proc/net/sockstat; }
tcp_mem_pages() { awk '/^TCP:/{for(i=1;i<=NF;i++) if($i=="mem") print $(i+1)}' /proc/net/sockstat; }
# Datagrams the kernel dropped because a socket's receive buffer was full
# (system-wide, /proc/net/snmp Udp: RcvbufErrors).
udp_rcvbuf_errors() { awk '/^Udp:/{x=$6} END{print x}' /proc/net/snmp; }
udp_inuse() { awk '/^UDP:/{print $3}' /proc/net/sockstat; }

# cpu_s PID[,PID...]: utime+stime in seconds over the listed processes.
cpu_s() {
	local t=0 p v
	for p in ${1//,/ }; do
		v=$(awk '{s=$0; sub(/.*\) /, "", s); split(s, f, " "); print f[12] + f[13]}' \
			"/proc/$p/stat" 2>/dev/null)
		[ -n "$v" ] && t=$((t + v))
	done
	awk -v t="$t" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", t / hz}'
}

# median of the arguments (numbers).
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# field TEXT KEY: the value after "KEY=" in a "k=v k=v" line.
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1==k{sub(/\/s$/, "", $2); print $2; exit}'; }

# wait_until_stable PID SECONDS: waits until PSS changes by < 0.2 % over
# SECONDS consecutive one-second samples (memory after a load has settled).
wait_until_stable() {
	local pid="$1" need="$2" last=0 same=0 now
	while [ "$same" -lt "$need" ]; do
		sleep 1
		now=$(pss_bytes "$pid") || return 1
		if awk -v a="$now" -v b="$last" 'BEGIN{exit !(b > 0 && (a - b) / b < 0.002 && (b - a) / b < 0.002)}'; then
			same=$((same + 1))
		else
			same=0
		fi
		last=$now
	done
}

# Stop what we started if the piece is interrupted.
cleanup_pids=()
cleanup() {
	local p
	for p in "${cleanup_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	fe_stop >/dev/null 2>&1
	kam_stop 2>/dev/null
}
trap cleanup EXIT
