// Checks the latency histogram against exact percentiles of sorted samples
// (reported value >= exact and within the stated 1/128 relative error), the
// bucket layout, count/min/max/mean, merge, clamping and the empty case.

#include "core/ua/histogram.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "core/ua/random.h"

namespace fe::ua {
namespace {

uint64_t exact_percentile(const std::vector<uint64_t>& sorted, double p) {
    auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    rank = std::clamp<uint64_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

// Log-uniform values from 1 us to 100 s: every bucket scale gets exercised.
std::vector<uint64_t> log_uniform_samples(uint64_t seed, size_t count) {
    Rng rng(seed);
    std::vector<uint64_t> out;
    for (size_t i = 0; i < count; ++i) {
        const double exponent = 3.0 + 8.0 * static_cast<double>(rng.next_u64() >> 11) * 0x1p-53;
        out.push_back(static_cast<uint64_t>(std::pow(10.0, exponent)));
    }
    return out;
}

TEST(HistogramTest, BucketsAreContiguousAndTight) {
    for (uint32_t i = 0; i + 1 < LatencyHistogram::kBucketCount; ++i) {
        const uint64_t low = LatencyHistogram::bucket_lowest(i);
        const uint64_t high = LatencyHistogram::bucket_highest(i);
        ASSERT_LE(low, high);
        ASSERT_EQ(LatencyHistogram::bucket_lowest(i + 1), high + 1);
        ASSERT_EQ(histogram_bucket_index(low), i);
        ASSERT_EQ(histogram_bucket_index(high), i);
        // Width relative to the smallest value in the bucket: < 1/128.
        ASSERT_LT(static_cast<double>(high - low), static_cast<double>(low) / 128.0 + 1.0);
    }
    EXPECT_EQ(histogram_bucket_index(kHistogramValueMax_ns), LatencyHistogram::kBucketCount - 1);
}

TEST(HistogramTest, PercentilesMatchSortedSamplesWithinRelativeError) {
    auto h = std::make_unique<LatencyHistogram>();
    std::vector<uint64_t> samples = log_uniform_samples(1, 100000);
    for (uint64_t v : samples) {
        h->record(v);
    }
    std::sort(samples.begin(), samples.end());
    for (double p : {0.0, 1.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
        const uint64_t exact = exact_percentile(samples, p);
        const uint64_t got = h->percentile(p);
        EXPECT_GE(got, exact) << "p" << p;
        EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * (1.0 + 1.0 / 128.0))
            << "p" << p;
    }
    EXPECT_EQ(h->count(), samples.size());
    EXPECT_EQ(h->min(), samples.front());
    EXPECT_EQ(h->max(), samples.back());
    EXPECT_EQ(h->percentile(100.0), samples.back());
    EXPECT_EQ(h->percentile(0.0), samples.front());
    double sum = 0;
    for (uint64_t v : samples) {
        sum += static_cast<double>(v);
    }
    EXPECT_NEAR(h->mean(), sum / static_cast<double>(samples.size()), 1e-6 * h->mean());
}

TEST(HistogramTest, SmallValuesAreExact) {
    LatencyHistogram h;
    for (uint64_t v = 1; v <= 100; ++v) {
        h.record(v);
    }
    EXPECT_EQ(h.percentile(50.0), 50u);
    EXPECT_EQ(h.percentile(90.0), 90u);
    EXPECT_EQ(h.percentile(99.0), 99u);
    EXPECT_EQ(h.percentile(99.9), 100u);
    EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(HistogramTest, MergeEqualsRecordingEverythingInOne) {
    auto a = std::make_unique<LatencyHistogram>();
    auto b = std::make_unique<LatencyHistogram>();
    auto all = std::make_unique<LatencyHistogram>();
    for (uint64_t v : log_uniform_samples(2, 5000)) {
        a->record(v);
        all->record(v);
    }
    for (uint64_t v : log_uniform_samples(3, 7000)) {
        b->record(v * 3);
        all->record(v * 3);
    }
    a->merge(*b);
    EXPECT_EQ(a->count(), all->count());
    EXPECT_EQ(a->min(), all->min());
    EXPECT_EQ(a->max(), all->max());
    EXPECT_DOUBLE_EQ(a->mean(), all->mean());
    for (double p : {50.0, 90.0, 99.0, 99.9}) {
        EXPECT_EQ(a->percentile(p), all->percentile(p));
    }
}

TEST(HistogramTest, ValuesAboveTheMaxAreClampedAndCounted) {
    LatencyHistogram h;
    h.record(5);
    h.record(kHistogramValueMax_ns + 1);
    h.record(UINT64_MAX);
    EXPECT_EQ(h.count(), 3u);
    EXPECT_EQ(h.clamped_count(), 2u);
    EXPECT_EQ(h.max(), kHistogramValueMax_ns);
    EXPECT_EQ(h.percentile(100.0), kHistogramValueMax_ns);
}

TEST(HistogramTest, EmptyAndReset) {
    LatencyHistogram h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_EQ(h.percentile(99.0), 0u);
    EXPECT_EQ(h.mean(), 0.0);
    h.record(1000);
    h.reset();
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.percentile(50.0), 0u);
}

}  // namespace
}  // namespace fe::ua
