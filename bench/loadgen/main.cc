// flowedge-bench: the RFC 5626 user-agent emulator and load generator.
// Usage and output: bench/loadgen/options.cc (usage()) and README text there.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "bench/loadgen/io.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/report.h"
#include "bench/loadgen/shard.h"

namespace fe::loadgen {
namespace {

// TCP flows one ring holds (its file table is capped by RLIMIT_NOFILE).
constexpr uint32_t kTcpFlowsPerThreadMax = 19000;
// How long the registration phase may take before the run moves on: the
// REGISTER timeout plus the first back-off (30-60 s) would be the longest a
// healthy server needs; beyond that the stragglers count as failures.
constexpr double kRegisterPhaseMax_s = 120;
constexpr auto kMainTick = std::chrono::milliseconds(100);

void add(Counts& a, const Counts& b) {
    a.uas_started += b.uas_started;
    a.uas_registered += b.uas_registered;
    a.uas_settled += b.uas_settled;
    a.register_sent += b.register_sent;
    a.register_retransmits += b.register_retransmits;
    a.register_ok += b.register_ok;
    a.register_failed += b.register_failed;
    a.register_timeout += b.register_timeout;
    a.register_aborted += b.register_aborted;
    a.flows_up += b.flows_up;
    a.flow_failures += b.flow_failures;
    a.keepalive_sent += b.keepalive_sent;
    a.keepalive_answered += b.keepalive_answered;
    a.call_sent += b.call_sent;
    a.call_delivered += b.call_delivered;
    a.call_ok += b.call_ok;
    a.call_failed += b.call_failed;
    a.call_timeout += b.call_timeout;
    a.call_not_sent += b.call_not_sent;
    a.invite_answered += b.invite_answered;
    a.ack_sent += b.ack_sent;
    a.ack_delivered += b.ack_delivered;
    a.bye_sent += b.bye_sent;
    a.bye_delivered += b.bye_delivered;
    a.bye_misrouted += b.bye_misrouted;
    a.bye_ok += b.bye_ok;
    a.bye_failed += b.bye_failed;
    a.bye_timeout += b.bye_timeout;
    a.bye_not_sent += b.bye_not_sent;
    a.call_completed += b.call_completed;
    a.requests_answered += b.requests_answered;
    a.send_errors += b.send_errors;
    a.connect_failures += b.connect_failures;
    a.recoveries += b.recoveries;
}

uint64_t rss_bytes() {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (f == nullptr) {
        return 0;
    }
    char line[256];
    uint64_t kib = 0;
    while (std::fgets(line, sizeof(line), f) != nullptr) {
        if (std::strncmp(line, "VmRSS:", 6) == 0) {
            kib = std::strtoull(line + 6, nullptr, 10);
        }
    }
    std::fclose(f);
    return kib * 1024;
}

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double seconds_between(Time a, Time b) { return std::chrono::duration<double>(b - a).count(); }

// Merges the shards' per-second samples into the run's series.
class SeriesBuilder {
public:
    explicit SeriesBuilder(uint32_t shard_count) : shard_count_(shard_count) {}

    void add_sample(std::unique_ptr<Sample> s) {
        Pending& p = pending_[s->second];
        add(p.counts, s->counts);
        p.register_latency.merge(s->register_latency);
        p.call_latency.merge(s->call_latency);
        ++p.reported;
    }

    // Finalizes complete seconds (all shards reported), or all when `flush`.
    // Returns true when a new point was added.
    bool finalize(bool flush, std::vector<SeriesPoint>& series) {
        bool added = false;
        while (!pending_.empty()) {
            auto it = pending_.begin();
            if (!flush && it->second.reported < shard_count_) {
                break;
            }
            const Pending& p = it->second;
            SeriesPoint point;
            point.second = it->first;
            point.flows_up = p.counts.flows_up;
            point.uas_registered = p.counts.uas_registered;
            point.register_per_s = static_cast<double>(p.counts.register_ok - last_.register_ok);
            point.calls_per_s = static_cast<double>(p.counts.call_delivered - last_.call_delivered);
            point.completed_per_s =
                static_cast<double>(p.counts.call_completed - last_.call_completed);
            point.errors_per_s = static_cast<double>(errors(p.counts) - errors(last_));
            point.keepalives_per_s =
                static_cast<double>(p.counts.keepalive_answered - last_.keepalive_answered);
            point.register_p50_ms = p.register_latency.percentile(50) / 1e6;
            point.register_p99_ms = p.register_latency.percentile(99) / 1e6;
            point.call_p50_ms = p.call_latency.percentile(50) / 1e6;
            point.call_p99_ms = p.call_latency.percentile(99) / 1e6;
            // A shard that skipped a second reported nothing for it: keep the
            // counters monotonic rather than show a dip.
            if (p.reported == shard_count_) {
                last_ = p.counts;
                series.push_back(point);
                added = true;
            }
            pending_.erase(it);
        }
        return added;
    }

private:
    // Failed and timed-out REGISTERs and calls, and calls whose dialog broke.
    static uint64_t errors(const Counts& c) {
        return c.register_failed + c.register_timeout + c.call_failed + c.call_timeout +
               c.bye_failed + c.bye_timeout + c.bye_not_sent;
    }

    struct Pending {
        Counts counts;
        fe::ua::LatencyHistogram register_latency;
        fe::ua::LatencyHistogram call_latency;
        uint32_t reported = 0;
    };
    uint32_t shard_count_;
    std::map<uint32_t, Pending> pending_;
    Counts last_;
};

void print_progress(const SeriesPoint& p, const Options& o) {
    std::fprintf(stderr,
                 "\r[%4us] flows up %llu/%llu, reg %.0f/s p50 %.2f p99 %.2f ms, delivered %.0f/s "
                 "p50 %.2f p99 %.2f ms, completed %.0f/s, errors %.0f/s   ",
                 p.second, static_cast<unsigned long long>(p.flows_up),
                 static_cast<unsigned long long>(uint64_t{o.ua_count} * o.flows_per_ua),
                 p.register_per_s, p.register_p50_ms, p.register_p99_ms, p.calls_per_s,
                 p.call_p50_ms, p.call_p99_ms, p.completed_per_s, p.errors_per_s);
    std::fflush(stderr);
}

int run(Options options) {
    const uint64_t flow_count = uint64_t{options.ua_count} * options.flows_per_ua;
    uint32_t threads = options.threads;
    if (options.transport == Transport::kTcp) {
        const auto needed =
            static_cast<uint32_t>((flow_count + kTcpFlowsPerThreadMax - 1) / kTcpFlowsPerThreadMax);
        if (needed > threads) {
            std::fprintf(stderr,
                         "flowedge-bench: %llu TCP flows need %u rings; using --threads %u\n",
                         static_cast<unsigned long long>(flow_count), needed, needed);
            threads = needed;
        }
    }
    threads = std::min(threads, std::max<uint32_t>(1, options.ua_count));
    // Flow i of a UA uses edge i: list the edges cyclically up to K.
    while (options.edges.size() < options.flows_per_ua) {
        options.edges.push_back(options.edges[options.edges.size() % options.edges.size()]);
    }

    auto plan = std::make_unique<Plan>();
    plan->options = options;
    plan->thread_count = threads;
    plan->ua_config.flow_count = options.flows_per_ua;
    plan->ua_config.edge_count = static_cast<uint32_t>(
        std::min<size_t>(options.edges.size(), fe::ua::kEdgeCountMax));
    plan->ua_config.transport = options.transport;
    plan->ua_config.register_expires_s = options.expires_s;
    const bool calls = options.scenario == Scenario::kCall || options.scenario == Scenario::kMix;
    plan->calls_enabled = calls && options.rate > 0;
    plan->call_rate_per_shard = calls ? options.rate / threads : 0;
    if (calls) {
        // --rate paces calls in these scenarios; registration runs unpaced.
        plan->options.rate = 0;
    }

    if (calls && options.call_route == CallRoute::kPath) {
        plan->paths = std::make_unique<char[]>(uint64_t{options.ua_count} * kPathSizeMax);
        plan->path_sizes = std::make_unique<std::atomic<uint8_t>[]>(options.ua_count);
    }
    const Time run_start = Io::clock_now();
    const double cpu_start = cpu_seconds();
    std::vector<std::unique_ptr<Shard>> shards;
    std::vector<std::thread> workers;
    for (uint32_t i = 0; i < threads; ++i) {
        shards.push_back(std::make_unique<Shard>(*plan, i, run_start));
    }
    for (uint32_t i = 0; i < threads; ++i) {
        workers.emplace_back([shard = shards[i].get()] { shard->run(); });
    }

    const bool progress = !options.quiet && isatty(STDERR_FILENO);
    SeriesBuilder builder(threads);
    RunResult result;
    result.options = options;
    result.thread_count = threads;
    Time register_end = Time::max();
    Time hold_start = Time::max();
    bool cut_done = false;
    bool stopping = false;
    for (;;) {
        std::this_thread::sleep_for(kMainTick);
        const Time now = Io::clock_now();
        for (auto& shard : shards) {
            for (auto& sample : shard->take_samples()) {
                builder.add_sample(std::move(sample));
            }
        }
        if (builder.finalize(false, result.series) && progress) {
            print_progress(result.series.back(), options);
        }
        if (stopping) {
            bool all = true;
            for (auto& shard : shards) {
                all = all && shard->finished();
            }
            if (all) {
                break;
            }
            continue;
        }
        if (register_end == Time::max()) {
            bool settled = true;
            for (auto& shard : shards) {
                settled = settled && shard->registration_settled();
            }
            if (settled || seconds_between(run_start, now) > kRegisterPhaseMax_s +
                                                             options.ua_count /
                                                                 std::max(1.0, options.rate)) {
                register_end = now;
                Time first = Time::max();
                Time last = run_start;
                for (auto& shard : shards) {
                    first = std::min(first, shard->first_start());
                    last = std::max(last, settled ? shard->settled_at() : now);
                    result.register_phase_ok += settled ? shard->settled_register_ok() : 0;
                }
                result.register_phase_s = first < last ? seconds_between(first, last) : 0;
                if (options.scenario == Scenario::kRegister) {
                    result.rss_bytes = rss_bytes();
                    plan->command.store(Command::kStop, std::memory_order_release);
                    stopping = true;
                } else {
                    hold_start = now;
                    plan->command.store(Command::kHold, std::memory_order_release);
                }
            }
            continue;
        }
        const double held_s = seconds_between(hold_start, now);
        if (!cut_done && options.cut_at_s >= 0 && held_s >= options.cut_at_s &&
            (options.scenario == Scenario::kFailover || options.scenario == Scenario::kMix)) {
            plan->command.store(Command::kCut, std::memory_order_release);
            cut_done = true;
        }
        if (held_s >= options.duration_s) {
            result.hold_phase_s = held_s;
            result.rss_bytes = rss_bytes();
            plan->command.store(Command::kStop, std::memory_order_release);
            stopping = true;
        }
    }
    for (auto& worker : workers) {
        worker.join();
    }
    for (auto& shard : shards) {
        for (auto& sample : shard->take_samples()) {
            builder.add_sample(std::move(sample));
        }
    }
    builder.finalize(true, result.series);
    if (progress) {
        std::fputc('\n', stderr);
    }
    int exit_code = 0;
    for (auto& shard : shards) {
        if (!shard->status().ok()) {
            std::fprintf(stderr, "flowedge-bench: %s\n",
                         std::string(shard->status().message()).c_str());
            exit_code = 1;
            continue;
        }
        add(result.totals, shard->counts());
        result.register_latency.merge(shard->register_latency());
        result.call_latency.merge(shard->call_latency());
        result.delivery_latency.merge(shard->delivery_latency());
        result.recovery_time.merge(shard->recovery_time());
        result.bye_latency.merge(shard->bye_latency());
        for (size_t i = 0; i < result.register_status.size(); ++i) {
            result.register_status[i] += shard->register_status()[i];
            result.call_status[i] += shard->call_status()[i];
            result.bye_status[i] += shard->bye_status()[i];
        }
        for (size_t i = 0; i < result.failure_reasons.size(); ++i) {
            result.failure_reasons[i] += shard->failure_reasons()[i];
        }
        const IoStats& io = shard->io_stats();
        result.io.send_no_slot += io.send_no_slot;
        result.io.udp_send_errors += io.udp_send_errors;
        result.io.udp_recv_no_buffers += io.udp_recv_no_buffers;
        result.io.stream_errors += io.stream_errors;
        result.io.connect_errors += io.connect_errors;
    }
    result.run_s = seconds_between(run_start, Io::clock_now());
    result.cpu_s = cpu_seconds() - cpu_start;
    if (exit_code != 0) {
        return exit_code;
    }
    print_summary(result, stdout);
    if (!options.json_path.empty()) {
        if (absl::Status s = write_json(result, options.json_path); !s.ok()) {
            std::fprintf(stderr, "flowedge-bench: %s\n", std::string(s.message()).c_str());
            return 1;
        }
    }
    if (!options.report_path.empty()) {
        if (absl::Status s = write_html(result, options.report_path); !s.ok()) {
            std::fprintf(stderr, "flowedge-bench: %s\n", std::string(s.message()).c_str());
            return 1;
        }
    }
    return 0;
}

}  // namespace
}  // namespace fe::loadgen

int main(int argc, char** argv) {
    absl::StatusOr<fe::loadgen::Options> options = fe::loadgen::parse_options(argc, argv);
    if (!options.ok()) {
        std::fprintf(stderr, "flowedge-bench: %s\n", std::string(options.status().message()).c_str());
        return 2;
    }
    if (options->help) {
        std::fputs(fe::loadgen::usage(), stdout);
        return 0;
    }
    return fe::loadgen::run(*std::move(options));
}
