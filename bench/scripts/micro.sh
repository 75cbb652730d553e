#!/bin/bash
# bench/scripts/micro.sh: the flowedge-micro component benchmarks (figure 6),
# 5 repetitions, medians kept (the FlowTable 10M cases take a few minutes).
#
#   bench/scripts/micro.sh                 # FILTER overrides the selection
# Prints one "RESULT micro NAME=... cpu_ns=... items_per_s=..." line per benchmark
# and keeps the whole JSON in $FE_BUILD/logs/micro.json.
source "$(dirname "$0")/common.sh"

FILTER="${FILTER:-Parse|Edit|Token|Stun|FlowTable|TimerWheel|Mailbox|Registrar|Edge}"
"$MICRO" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
	--benchmark_filter="$FILTER" --benchmark_out="$LOGS/micro.json" \
	--benchmark_out_format=json >"$LOGS/micro.txt" 2>&1 || { cat "$LOGS/micro.txt" >&2; exit 1; }
python3 - "$LOGS/micro.json" <<'EOF' | while read -r line; do result micro $line; done
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    name = b["run_name"].replace(" ", "_")
    extra = ""
    if "items_per_second" in b:
        extra += " items_per_s=%.0f" % b["items_per_second"]
    for k, v in b.items():
        if k not in ("items_per_second", "bytes_per_second") and isinstance(v, float) and k not in (
                "real_time", "cpu_time", "iterations", "repetitions", "threads", "repetition_index",
                "family_index", "per_family_instance_index"):
            extra += " %s=%g" % (k, v)
    print("name=%s cpu_ns=%.1f%s" % (name, b["cpu_time"] if b["time_unit"] == "ns" else
                                     b["cpu_time"] * {"us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]], extra))
EOF
