#include "core/ua/histogram.h"

#include <cmath>

#include "core/base/assert.h"

namespace fe::ua {

uint64_t LatencyHistogram::bucket_lowest(uint32_t index) {
    if (index < 2 * kHistogramSubBucketCount) {
        return index;
    }
    const uint64_t exponent = index / kHistogramSubBucketCount - 1;
    const uint64_t mantissa = index - kHistogramSubBucketCount * exponent;  // in [128, 256)
    return mantissa << exponent;
}

uint64_t LatencyHistogram::bucket_highest(uint32_t index) {
    if (index < 2 * kHistogramSubBucketCount) {
        return index;
    }
    const uint64_t exponent = index / kHistogramSubBucketCount - 1;
    const uint64_t mantissa = index - kHistogramSubBucketCount * exponent;
    return ((mantissa + 1) << exponent) - 1;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
    for (uint32_t i = 0; i < kBucketCount; ++i) {
        counts_[i] += other.counts_[i];
    }
    count_ += other.count_;
    clamped_count_ += other.clamped_count_;
    sum_ += other.sum_;
    min_ = other.min_ < min_ ? other.min_ : min_;
    max_ = other.max_ > max_ ? other.max_ : max_;
}

double LatencyHistogram::mean() const {
    if (count_ == 0) {
        return 0.0;
    }
    return static_cast<double>(sum_) / static_cast<double>(count_);
}

uint64_t LatencyHistogram::percentile(double p) const {
    FE_ASSERT(p >= 0.0);
    FE_ASSERT(p <= 100.0);
    if (count_ == 0) {
        return 0;
    }
    // The rank (1-based) of the sample that p % of the samples do not exceed.
    auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    rank = rank < 1 ? 1 : (rank > count_ ? count_ : rank);
    if (rank == 1) {
        return min_;  // known exactly, no bucket rounding
    }
    uint64_t seen = 0;
    for (uint32_t i = 0; i < kBucketCount; ++i) {
        seen += counts_[i];
        if (seen >= rank) {
            const uint64_t value = bucket_highest(i);
            return value > max_ ? max_ : (value < min_ ? min_ : value);
        }
    }
    FE_BUG(true, "bucket counts do not add up to count_");
    return max_;
}

}  // namespace fe::ua
