// Flow table costs at 1M and 10M UDP flows: insert (create_udp), lookup by
// handle (what a flow token resolves to), lookup by UDP address (every
// datagram), erase; random access, so the numbers include cache misses as a
// full worker would see them. The insert benchmark also reports resident
// bytes per flow (RSS growth / flows) and sizeof(FlowEntry).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include <unistd.h>

#include "state/flow_table.h"

namespace {

using fe::Endpoint;
using fe::state::FlowHandle;
using fe::state::FlowResult;
using fe::state::FlowTable;
using fe::state::FlowTableConfig;

constexpr fe::Time kT0 = fe::time_from_ns(1'000'000'000);

// Distinct for every i < 2^24: 11.x.y.z, eight source ports.
Endpoint remote_of(uint32_t i) {
    return Endpoint::v4(0x0B000000u + i, static_cast<uint16_t>(5060 + (i & 7)));
}
uint16_t socket_of(uint32_t i) { return static_cast<uint16_t>(i & 3); }

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

std::unique_ptr<FlowTable> make_table(uint32_t count) {
    FlowTableConfig config;
    config.flow_count_max = count;
    return std::make_unique<FlowTable>(config);
}

void fill(FlowTable& table, uint32_t count, std::vector<FlowHandle>* handles) {
    for (uint32_t i = 0; i < count; ++i) {
        fe::state::FlowCreated c = table.create_udp(remote_of(i), socket_of(i), kT0);
        if (c.result != FlowResult::kOk) {
            std::abort();
        }
        if (handles != nullptr) {
            handles->push_back(c.handle);
        }
    }
}

// A filled table shared by the lookup benchmarks of one size.
struct Filled {
    explicit Filled(uint32_t n) : count(n), table(make_table(n)) {
        handles.reserve(n);
        fill(*table, n, &handles);
        std::mt19937_64 rng(11);
        order.resize(1u << 20);
        for (uint32_t& k : order) {
            k = static_cast<uint32_t>(rng() % n);
        }
    }
    uint32_t count;
    std::unique_ptr<FlowTable> table;
    std::vector<FlowHandle> handles;
    std::vector<uint32_t> order;  // random indices to look up
};

Filled& filled(uint32_t n) {
    static std::unique_ptr<Filled> current;
    if (!current || current->count != n) {
        current.reset();
        current = std::make_unique<Filled>(n);
    }
    return *current;
}

void BM_FlowTableInsertUdp(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    double bytes_per_flow = 0;
    for (auto _ : state) {
        state.PauseTiming();
        size_t before = resident_bytes();
        auto table = make_table(n);
        state.ResumeTiming();
        fill(*table, n, nullptr);
        state.PauseTiming();
        bytes_per_flow = static_cast<double>(resident_bytes() - before) / n;
        table.reset();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
    state.counters["bytes_per_flow"] = bytes_per_flow;
    state.counters["sizeof_entry"] = sizeof(fe::state::FlowEntry);
}
BENCHMARK(BM_FlowTableInsertUdp)
    ->Arg(1'000'000)
    ->Arg(10'000'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

void BM_FlowTableFindByHandle(benchmark::State& state) {
    Filled& f = filled(static_cast<uint32_t>(state.range(0)));
    size_t i = 0;
    for (auto _ : state) {
        const fe::state::FlowEntry* e = f.table->find(f.handles[f.order[i++ & (f.order.size() - 1)]]);
        benchmark::DoNotOptimize(e->last_activity_ns);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_FlowTableFindByHandle)->Arg(1'000'000)->Arg(10'000'000);

void BM_FlowTableFindUdp(benchmark::State& state) {
    Filled& f = filled(static_cast<uint32_t>(state.range(0)));
    size_t i = 0;
    for (auto _ : state) {
        uint32_t k = f.order[i++ & (f.order.size() - 1)];
        std::optional<FlowHandle> h = f.table->find_udp(remote_of(k), socket_of(k));
        benchmark::DoNotOptimize(h);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_FlowTableFindUdp)->Arg(1'000'000)->Arg(10'000'000);

// The datagram path: find by address, then touch (activity).
void BM_FlowTableFindUdpAndTouch(benchmark::State& state) {
    Filled& f = filled(static_cast<uint32_t>(state.range(0)));
    size_t i = 0;
    fe::Time now = kT0;
    for (auto _ : state) {
        uint32_t k = f.order[i++ & (f.order.size() - 1)];
        std::optional<FlowHandle> h = f.table->find_udp(remote_of(k), socket_of(k));
        now += fe::nanoseconds(1);
        benchmark::DoNotOptimize(f.table->touch(*h, now));
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_FlowTableFindUdpAndTouch)->Arg(10'000'000);

// Erase in random order (untimed fill of N), one iteration = N erases.
void BM_FlowTableEraseUdp(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    std::vector<uint32_t> order(n);
    for (uint32_t i = 0; i < n; ++i) {
        order[i] = i;
    }
    std::shuffle(order.begin(), order.end(), std::mt19937_64(12));
    for (auto _ : state) {
        state.PauseTiming();
        auto table = make_table(n);
        std::vector<FlowHandle> handles;
        handles.reserve(n);
        fill(*table, n, &handles);
        state.ResumeTiming();
        for (uint32_t k : order) {
            benchmark::DoNotOptimize(table->erase(handles[k]));
        }
        state.PauseTiming();
        if (table->count() != 0) {
            state.SkipWithError("erase left flows behind");
        }
        table.reset();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
}
BENCHMARK(BM_FlowTableEraseUdp)->Arg(10'000'000)->Iterations(1)->Unit(benchmark::kMillisecond);

// One full expiry pass over N flows none of which is idle (the steady-state
// sweep cost per slot).
void BM_FlowTableExpireSweep(benchmark::State& state) {
    Filled& f = filled(static_cast<uint32_t>(state.range(0)));
    for (auto _ : state) {
        size_t reported = f.table->expire(kT0, f.count, [](FlowHandle, const fe::state::FlowEntry&) {
            return fe::state::ExpireDecision::kKeep;
        });
        benchmark::DoNotOptimize(reported);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * f.count);
}
BENCHMARK(BM_FlowTableExpireSweep)->Arg(10'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
