// File: core/ua/histogram.h
//
// A fixed-memory latency histogram with logarithmic buckets (the HdrHistogram
// layout): values below 256 ns are exact, above that every power-of-two range
// is split into 128 linear buckets, so a reported value is never below the
// true one and at most 1/128 (< 0.8 %, "two significant digits") above it.
// Values up to kHistogramValueMax_ns (100 s) are kept; larger ones are
// clamped to it and counted. 3.9k buckets, about 31 KiB, no allocation.
//
//   fe::ua::LatencyHistogram h;
//   h.record(1'250'000);            // 1.25 ms, in ns
//   h.percentile(99.0);             // p99 in ns
//   total.merge(h);                 // e.g. per-worker histograms into one
#pragma once

#include <array>
#include <cstdint>

#include "core/ua/limits.h"

namespace fe::ua {

// 2^7 = 128 sub-buckets per power of two: relative error below 1/128.
inline constexpr uint32_t kHistogramSubBucketMagnitude = 7;
inline constexpr uint64_t kHistogramSubBucketCount = uint64_t{1} << kHistogramSubBucketMagnitude;

// Which bucket of LatencyHistogram counts `value_ns` (already clamped).
constexpr uint32_t histogram_bucket_index(uint64_t value_ns) {
    if (value_ns < 2 * kHistogramSubBucketCount) {
        return static_cast<uint32_t>(value_ns);
    }
    const uint32_t exponent =
        static_cast<uint32_t>(63 - __builtin_clzll(value_ns)) - kHistogramSubBucketMagnitude;
    return static_cast<uint32_t>(kHistogramSubBucketCount * exponent + (value_ns >> exponent));
}

class LatencyHistogram {
public:
    static constexpr uint32_t kBucketCount = histogram_bucket_index(kHistogramValueMax_ns) + 1;
    // The smallest and largest values that land in bucket `index`.
    static uint64_t bucket_lowest(uint32_t index);
    static uint64_t bucket_highest(uint32_t index);

    void record(uint64_t value_ns) {
        if (value_ns > kHistogramValueMax_ns) {
            value_ns = kHistogramValueMax_ns;
            ++clamped_count_;
        }
        ++counts_[histogram_bucket_index(value_ns)];
        ++count_;
        sum_ += value_ns;
        min_ = value_ns < min_ ? value_ns : min_;
        max_ = value_ns > max_ ? value_ns : max_;
    }

    void merge(const LatencyHistogram& other);
    void reset() { *this = LatencyHistogram{}; }

    uint64_t count() const { return count_; }
    // Records that exceeded kHistogramValueMax_ns (counted as the max).
    uint64_t clamped_count() const { return clamped_count_; }
    // Exact minimum and maximum recorded (after clamping); 0 when empty.
    uint64_t min() const { return count_ == 0 ? 0 : min_; }
    uint64_t max() const { return max_; }
    // Exact mean of the recorded (clamped) values; 0 when empty.
    double mean() const;
    // The value at percentile `p` in [0, 100]: the smallest recorded value v
    // such that at least p % of the records are <= v (p = 0: the minimum),
    // reported as the top of its bucket, capped to [min(), max()] (rank 1 is
    // min() exactly). 0 when empty.
    uint64_t percentile(double p) const;

private:
    std::array<uint64_t, kBucketCount> counts_{};
    uint64_t count_ = 0;  // sum of counts_
    uint64_t clamped_count_ = 0;
    // Sum of recorded values: 2^64 ns is 584 years, far beyond any run.
    uint64_t sum_ = 0;
    uint64_t min_ = UINT64_MAX;  // UINT64_MAX while empty
    uint64_t max_ = 0;
};

static_assert(LatencyHistogram::kBucketCount < 4096, "about 31 KiB per histogram");

}  // namespace fe::ua
