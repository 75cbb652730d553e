// File: core/ua/keepalive.h
//
// RFC 5626 §4.4 keep-alive timing for a UA: which mechanism a transport uses,
// how long to wait between keep-alives, how long a pong may take, and the
// RFC 5389 §7.2.1 retransmission schedule of a STUN Binding request.
//
//   fe::ua::KeepaliveConfig config;
//   auto kind = fe::ua::keepalive_kind_for(fe::Transport::kTcp);      // kCrlf
//   fe::Duration next = fe::ua::keepalive_interval(config, kind, flow_timer_s, rng);
//
//   fe::ua::StunSchedule schedule(config.stun);
//   schedule.send_offset(2);    // 1500 ms after the first send
//   schedule.give_up_offset();  // 39.5 s: the flow has failed (OB-KA-15)
#pragma once

#include <cstdint>
#include <optional>

#include "core/base/endpoint.h"
#include "core/base/time.h"
#include "core/ua/limits.h"
#include "core/ua/random.h"

namespace fe::ua {

// §4.4: CRLF ping/pong on connection-oriented transports (OB-KA-04/05), STUN
// Binding requests on UDP (OB-KA-11/12). WebSocket carries CRLF (RFC 7118 §6).
enum class KeepaliveKind : uint8_t {
    kCrlf,
    kStun,
};

constexpr KeepaliveKind keepalive_kind_for(Transport transport) {
    return transport_is_stream(transport) ? KeepaliveKind::kCrlf : KeepaliveKind::kStun;
}

// RFC 5389 §7.2.1 client retransmission (OB-DEP-13).
struct StunRetransmitConfig {
    Duration rto = kStunRtoDefault;                            // first RTO, doubles per send
    uint32_t request_count = kStunRequestCountDefault;         // Rc: sends in all
    uint32_t final_wait_rto_count = kStunFinalWaitRtoCountDefault;  // Rm
};

struct KeepaliveConfig {
    // §4.4.1 upper bound without Flow-Timer; the lower bound is 80 % of it.
    Duration crlf_interval_upper = kCrlfIntervalUpperDefault;
    // §4.4.2 range without Flow-Timer.
    Duration stun_interval_lower = kStunIntervalLowerDefault;
    Duration stun_interval_upper = kStunIntervalUpperDefault;
    // §4.4.1 pong deadline after a ping.
    Duration pong_timeout = kPongTimeoutDefault;
    StunRetransmitConfig stun;
};

// The wait until the next keep-alive, a fresh random value per call:
// - with a Flow-Timer of F seconds from the last 2xx REGISTER: uniform in
//   [0.8 F, F] (OB-KA-01/02), for either mechanism;
// - CRLF without Flow-Timer: uniform in [0.8 U, U], U = crlf_interval_upper
//   (OB-KA-09/10);
// - STUN without Flow-Timer: uniform in [stun_interval_lower, upper] (OB-KA-14).
// Never below kKeepaliveIntervalMin, whatever Flow-Timer the network sent.
Duration keepalive_interval(const KeepaliveConfig& config, KeepaliveKind kind,
                            std::optional<uint32_t> flow_timer_s, Rng& rng);

// The send times of one STUN Binding transaction, relative to its first send:
// send i (0-based) goes at RTO * (2^i - 1), i.e. 0, 0.5, 1.5, 3.5, 7.5, 15.5,
// 31.5 s at RTO 500 ms; the transaction fails Rm x RTO after the last send
// (39.5 s). A Binding error response fails the flow at once (OB-KA-15).
class StunSchedule {
public:
    explicit StunSchedule(const StunRetransmitConfig& config);

    uint32_t request_count() const { return request_count_; }
    // Offset of send `send_index` from the first send; send_index < request_count().
    Duration send_offset(uint32_t send_index) const;
    // Offset from the first send at which the transaction has failed.
    Duration give_up_offset() const;

private:
    Duration rto_;
    uint32_t request_count_;
    uint32_t final_wait_rto_count_;
};

}  // namespace fe::ua
