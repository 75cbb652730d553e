// File: bench/loadgen/report.h
//
// What a flowedge-bench run reports: the merged totals, the per-second series,
// and three renderings of them: the greppable text summary, --json, and a
// self-contained --report HTML page whose charts are inline SVG drawn here.
//
//   fe::loadgen::RunResult result = ...;          // filled by main
//   fe::loadgen::print_summary(result, stdout);
//   fe::loadgen::write_json(result, "run.json");
//   fe::loadgen::write_html(result, "run.html");
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/shard.h"
#include "core/ua/histogram.h"

namespace fe::loadgen {

// One second of the whole run (all shards merged).
struct SeriesPoint {
    uint32_t second = 0;
    uint64_t flows_up = 0;
    uint64_t uas_registered = 0;
    double register_per_s = 0;   // 2xx finals in this second
    double calls_per_s = 0;      // requests delivered to callee UAs in this second
    double completed_per_s = 0;  // calls completed in this second (INVITE: BYE got a 2xx)
    double errors_per_s = 0;     // failed + timed-out REGISTERs and calls, broken dialogs
    double keepalives_per_s = 0; // answered
    double register_p50_ms = 0, register_p99_ms = 0;
    double call_p50_ms = 0, call_p99_ms = 0;
};

struct RunResult {
    Options options;
    uint32_t thread_count = 0;
    Counts totals;
    fe::ua::LatencyHistogram register_latency;
    fe::ua::LatencyHistogram call_latency;
    fe::ua::LatencyHistogram delivery_latency;
    fe::ua::LatencyHistogram recovery_time;
    fe::ua::LatencyHistogram bye_latency;
    std::array<uint64_t, 700> register_status{};
    std::array<uint64_t, 700> call_status{};
    std::array<uint64_t, 700> bye_status{};
    std::array<uint64_t, 32> failure_reasons{};
    IoStats io;
    double register_phase_s = 0;  // first UA start to every UA settled
    uint64_t register_phase_ok = 0;  // REGISTER 2xx within that phase
    double hold_phase_s = 0;      // hold/call phase length
    double run_s = 0;
    double cpu_s = 0;             // utime + stime of the process
    uint64_t rss_bytes = 0;       // VmRSS at the end of the hold phase
    std::vector<SeriesPoint> series;
};

void print_summary(const RunResult& result, std::FILE* out);
absl::Status write_json(const RunResult& result, const std::string& path);
absl::Status write_html(const RunResult& result, const std::string& path);

}  // namespace fe::loadgen
