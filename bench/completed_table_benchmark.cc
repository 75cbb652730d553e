// CompletedTable (core/txn/completed_table.h) at the sizes a worker runs it:
// 65,536 entries (2,000 REGISTERs/s over UDP x 32 s) and 655,360 (the
// kCompletedCountMax budget, 20,480/s x 32 s), each answering with
// bench/data/ok200.sip (530 B, a REGISTER 200 with outbound).
//   - InsertAtSteadyState: the table is full of entries that die in arrival
//     order; each insert reclaims the one that just died (Timer J) and adds
//     one, as a worker at that rate does. Reports the memory per entry:
//     record bytes + index slots, blocks + index (what the table pins), and
//     resident growth while filling.
//   - MatchHit: a retransmission found (random entry: cache misses included).
//   - MatchMiss: a new request looked up first (what every UDP REGISTER pays).
#include <benchmark/benchmark.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>

#include <unistd.h>

#include "core/txn/completed_table.h"
#include "core/txn/timers.h"

namespace {

using fe::txn::CompletedEntry;
using fe::txn::CompletedKind;
using fe::txn::CompletedTable;
using fe::txn::CompletedTableConfig;

constexpr std::string_view kSentBy = "192.0.2.10:50231";
const fe::Time kT0 = fe::Time{} + fe::hours(1);
const fe::Duration kTimerJ =
    fe::txn::timer_j(fe::txn::TimerConfig{}, fe::txn::Reliability::kUnreliable);

std::string load_ok200() {
    std::ifstream in(std::string(FE_BENCH_DATA_DIR) + "/ok200.sip", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A sipp-like branch, distinct per i: "z9hG4bK-524287-1---" + 16 hex digits.
class Branch {
public:
    std::string_view of(uint64_t i) {
        static constexpr char kHex[] = "0123456789abcdef";
        for (size_t d = 0; d < 16; ++d) {
            bytes_[kPrefix.size() + d] = kHex[(i >> (4 * (15 - d))) & 0xf];
        }
        return std::string_view(bytes_.data(), bytes_.size());
    }

private:
    static constexpr std::string_view kPrefix = "z9hG4bK-524287-1---";
    std::array<char, kPrefix.size() + 16> bytes_ = [] {
        std::array<char, kPrefix.size() + 16> b{};
        for (size_t i = 0; i < kPrefix.size(); ++i) {
            b[i] = kPrefix[i];
        }
        return b;
    }();
};

size_t resident_bytes() {
    long pages_total = 0;
    long pages_resident = 0;
    FILE* f = std::fopen("/proc/self/statm", "r");
    if (f == nullptr) {
        return 0;
    }
    if (std::fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) {
        pages_resident = 0;
    }
    std::fclose(f);
    return static_cast<size_t>(pages_resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// Entry i arrives at kT0 + i * spacing and dies `count` arrivals later
// (Timer J, rounded down to whole spacings), so the entry inserted at
// arrival i finds the one of arrival i - count just dead: `count` entries
// are alive at any time and none is evicted.
struct Steady {
    explicit Steady(uint32_t alive_count)
        : count(alive_count),
          spacing(kTimerJ / alive_count),
          lifetime(spacing * alive_count),
          response(load_ok200()) {
        if (response.empty()) {
            std::fprintf(stderr, "bench/data/ok200.sip missing\n");
            std::abort();
        }
    }
    fe::Time at(uint64_t i) const { return kT0 + spacing * static_cast<int64_t>(i); }
    CompletedEntry entry(uint64_t i) {
        return {.key = {branch.of(i), kSentBy, "REGISTER"},
                .kind = CompletedKind::kNonInviteCompleted,
                .response = response,
                .expires_at = at(i) + lifetime};
    }
    void fill(CompletedTable& table) {
        for (uint64_t i = 0; i < count; ++i) {
            if (table.insert(entry(i), at(i)) != fe::txn::CompletedInsert::kInserted) {
                std::abort();
            }
        }
    }

    const uint32_t count;
    const fe::Duration spacing;
    const fe::Duration lifetime;
    const std::string response;
    Branch branch;
};

CompletedTableConfig config_for(uint32_t count) {
    return CompletedTableConfig{.entry_count_max = count};
}

void BM_CompletedInsertAtSteadyState(benchmark::State& state) {
    const auto count = static_cast<uint32_t>(state.range(0));
    Steady steady(count);
    const size_t rss_before = resident_bytes();
    auto table = std::make_unique<CompletedTable>(config_for(count));
    steady.fill(*table);
    const size_t rss_after = resident_bytes();
    uint64_t next = count;
    for (auto _ : state) {
        const fe::txn::CompletedInsert r = table->insert(steady.entry(next), steady.at(next));
        benchmark::DoNotOptimize(r);
        ++next;
    }
    if (table->stats().evicted_count_full + table->stats().evicted_bytes_full != 0) {
        state.SkipWithError("the steady state evicted: the table is too small for it");
    }
    const double n = table->count();
    state.counters["entries"] = n;
    state.counters["record_B"] = static_cast<double>(table->used_bytes()) / n;
    state.counters["index_B"] = static_cast<double>(table->index_bytes()) / n;
    state.counters["pinned_B"] =
        static_cast<double>(table->block_bytes() + table->index_bytes()) / n;
    state.counters["rss_fill_B"] = static_cast<double>(rss_after - rss_before) / count;
}
BENCHMARK(BM_CompletedInsertAtSteadyState)->Arg(65536)->Arg(655360);

void BM_CompletedMatchHit(benchmark::State& state) {
    const auto count = static_cast<uint32_t>(state.range(0));
    Steady steady(count);
    auto table = std::make_unique<CompletedTable>(config_for(count));
    steady.fill(*table);
    const fe::Time now = steady.at(count - 1);  // every entry alive
    std::mt19937 rng(42);
    Branch branch;
    for (auto _ : state) {
        const fe::txn::CompletedMatch m =
            table->match({branch.of(rng() % count), kSentBy, "REGISTER"}, now);
        benchmark::DoNotOptimize(m);
    }
}
BENCHMARK(BM_CompletedMatchHit)->Arg(65536)->Arg(655360);

void BM_CompletedMatchMiss(benchmark::State& state) {
    const auto count = static_cast<uint32_t>(state.range(0));
    Steady steady(count);
    auto table = std::make_unique<CompletedTable>(config_for(count));
    steady.fill(*table);
    const fe::Time now = steady.at(count - 1);  // every entry alive
    uint64_t next = count;
    Branch branch;
    for (auto _ : state) {
        const fe::txn::CompletedMatch m = table->match({branch.of(next++), kSentBy, "REGISTER"}, now);
        benchmark::DoNotOptimize(m);
    }
}
BENCHMARK(BM_CompletedMatchMiss)->Arg(65536)->Arg(655360);

}  // namespace
