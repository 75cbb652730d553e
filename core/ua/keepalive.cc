#include "core/ua/keepalive.h"

#include "core/base/assert.h"

namespace fe::ua {

namespace {

// [0.8 x upper, upper], the 20 % jitter rule shared by Flow-Timer and the
// CRLF default. Integer nanoseconds, so 0.8 x 120 s is exactly 96 s.
Duration eighty_to_hundred_percent(Duration upper, Rng& rng) {
    // ceil(4u/5) without forming 4u, which could overflow for huge bounds.
    const int64_t u = upper.count();
    const Duration lower = Duration(u / 5 * 4 + ((u % 5) * 4 + 4) / 5);
    return rng.uniform_duration(lower, upper);
}

}  // namespace

Duration keepalive_interval(const KeepaliveConfig& config, KeepaliveKind kind,
                            std::optional<uint32_t> flow_timer_s, Rng& rng) {
    Duration interval;
    if (flow_timer_s.has_value()) {
        interval = eighty_to_hundred_percent(seconds(*flow_timer_s), rng);
    } else if (kind == KeepaliveKind::kCrlf) {
        FE_ASSERT(config.crlf_interval_upper.count() > 0);
        interval = eighty_to_hundred_percent(config.crlf_interval_upper, rng);
    } else {
        FE_ASSERT(config.stun_interval_lower.count() > 0);
        FE_ASSERT(config.stun_interval_upper >= config.stun_interval_lower);
        interval = rng.uniform_duration(config.stun_interval_lower, config.stun_interval_upper);
    }
    return interval < kKeepaliveIntervalMin ? kKeepaliveIntervalMin : interval;
}

StunSchedule::StunSchedule(const StunRetransmitConfig& config)
    : rto_(config.rto),
      request_count_(config.request_count),
      final_wait_rto_count_(config.final_wait_rto_count) {
    FE_ASSERT(rto_.count() > 0);
    FE_ASSERT(rto_ <= seconds(60));
    FE_ASSERT(request_count_ >= 1);
    FE_ASSERT(request_count_ <= kStunRequestCountMax);
    FE_ASSERT(final_wait_rto_count_ <= kStunFinalWaitRtoCountMax);
}

Duration StunSchedule::send_offset(uint32_t send_index) const {
    FE_ASSERT(send_index < request_count_);
    return rto_ * ((int64_t{1} << send_index) - 1);
}

Duration StunSchedule::give_up_offset() const {
    return send_offset(request_count_ - 1) + rto_ * final_wait_rto_count_;
}

}  // namespace fe::ua
