// Cost of recording one latency sample into fe::ua::LatencyHistogram (the
// load generator records every transaction), of reading p99, and of merging
// per-worker histograms.
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>

#include "core/ua/histogram.h"
#include "core/ua/random.h"

namespace {

// Pre-drawn values so the benchmark measures record(), not the generator:
// a spread from 1 us to ~1 s, as REGISTER round trips under load look.
std::vector<uint64_t> sample_values() {
    fe::ua::Rng rng(1);
    std::vector<uint64_t> values(4096);
    for (uint64_t& v : values) {
        v = 1000 + (rng.next_u64() >> (34 + rng.uniform_below(20)));
    }
    return values;
}

void BM_HistogramRecord(benchmark::State& state) {
    const std::vector<uint64_t> values = sample_values();
    auto h = std::make_unique<fe::ua::LatencyHistogram>();
    size_t i = 0;
    for (auto _ : state) {
        h->record(values[i++ & 4095]);
    }
    benchmark::DoNotOptimize(h->count());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramRecord);

void BM_HistogramP99(benchmark::State& state) {
    auto h = std::make_unique<fe::ua::LatencyHistogram>();
    for (uint64_t v : sample_values()) {
        h->record(v);
    }
    for (auto _ : state) {
        benchmark::DoNotOptimize(h->percentile(99.0));
    }
}
BENCHMARK(BM_HistogramP99);

void BM_HistogramMerge(benchmark::State& state) {
    auto a = std::make_unique<fe::ua::LatencyHistogram>();
    auto b = std::make_unique<fe::ua::LatencyHistogram>();
    for (uint64_t v : sample_values()) {
        b->record(v);
    }
    for (auto _ : state) {
        a->merge(*b);
        benchmark::DoNotOptimize(a->count());
    }
}
BENCHMARK(BM_HistogramMerge);

}  // namespace
