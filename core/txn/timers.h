// File: core/txn/timers.h
//
// RFC 3261 §17 timer values (Table 4 of §A), derived from T1, T2 and T4.
// Durations only: the transaction machines add them to the `now` they are
// given; nothing here reads a clock.
//
//   fe::txn::TimerConfig config;                       // T1 500 ms, T2 4 s, T4 5 s
//   fe::Duration b = fe::txn::timer_b(config);          // 32 s
//   fe::Duration k = fe::txn::timer_k(config, fe::txn::Reliability::kReliable);  // 0
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/base/endpoint.h"
#include "core/base/time.h"

namespace fe::txn {

// Whether the transport delivers reliably (TCP, TLS, WS, WSS) or not (UDP).
// Reliable transports do no retransmissions and linger zero seconds (§17).
enum class Reliability : uint8_t { kUnreliable, kReliable };

constexpr Reliability reliability_of(Transport transport) {
    return transport_is_stream(transport) ? Reliability::kReliable : Reliability::kUnreliable;
}

struct TimerConfig {
    // RTT estimate (§17.1.1.2). Smaller than 500 ms is NOT RECOMMENDED.
    Duration t1 = milliseconds(500);
    // Longest retransmit interval for non-INVITE requests and INVITE responses.
    Duration t2 = seconds(4);
    // Time the network needs to clear messages between client and server.
    Duration t4 = seconds(5);
    // INVITE server transaction: how long the TU may stay silent before the
    // transaction sends 100 Trying itself (§17.2.1). Zero sends it at once,
    // which suits a proxy that forwards first and answers later: it never
    // forwards the downstream 100 (§16.7), so its own is the only one.
    Duration trying_delay = milliseconds(200);
};

// The config must satisfy this before a machine is built with it; the
// control plane checks it when loading configuration.
constexpr bool timer_config_is_valid(const TimerConfig& c) {
    return c.t1 > Duration::zero() && c.t2 >= c.t1 && c.t4 >= Duration::zero() &&
           c.trying_delay >= Duration::zero() && c.t1 <= minutes(1) && c.t2 <= minutes(10) &&
           c.t4 <= minutes(10) && c.trying_delay <= minutes(1);
}

// A disarmed timer: no deadline.
inline constexpr Time kNever = Time::max();

// Timer D's floor for unreliable transports (§17.1.1.2: "at least 32 seconds",
// since the client does not know the server's T1).
inline constexpr Duration kTimerDMin = seconds(32);

// INVITE client: first request retransmission, then doubling without cap.
constexpr Duration timer_a(const TimerConfig& c) { return c.t1; }
// INVITE client: transaction timeout in Calling.
constexpr Duration timer_b(const TimerConfig& c) { return 64 * c.t1; }
// INVITE client: wait for response retransmissions in Completed.
constexpr Duration timer_d(const TimerConfig& c, Reliability r) {
    return r == Reliability::kReliable ? Duration::zero() : std::max(kTimerDMin, 64 * c.t1);
}
// Non-INVITE client: first request retransmission, doubling capped at T2.
constexpr Duration timer_e(const TimerConfig& c) { return c.t1; }
// Non-INVITE client: transaction timeout.
constexpr Duration timer_f(const TimerConfig& c) { return 64 * c.t1; }
// INVITE server: first final-response retransmission, doubling capped at T2.
constexpr Duration timer_g(const TimerConfig& c) { return c.t1; }
// INVITE server: wait for the ACK.
constexpr Duration timer_h(const TimerConfig& c) { return 64 * c.t1; }
// INVITE server: absorb ACK retransmissions in Confirmed.
constexpr Duration timer_i(const TimerConfig& c, Reliability r) {
    return r == Reliability::kReliable ? Duration::zero() : c.t4;
}
// Non-INVITE server: absorb request retransmissions in Completed.
constexpr Duration timer_j(const TimerConfig& c, Reliability r) {
    return r == Reliability::kReliable ? Duration::zero() : 64 * c.t1;
}
// INVITE server after a 2xx, RFC 6026 §7.1 Accepted: absorb retransmitted
// INVITEs (the machines here end at the 2xx as RFC 3261 says; an owner that
// keeps the Accepted state, such as CompletedTable, uses this).
constexpr Duration timer_l(const TimerConfig& c) { return 64 * c.t1; }
// Non-INVITE client: absorb response retransmissions in Completed.
constexpr Duration timer_k(const TimerConfig& c, Reliability r) {
    return r == Reliability::kReliable ? Duration::zero() : c.t4;
}

// Next interval of Timer E (in Trying) and Timer G: double, capped at T2.
constexpr Duration next_interval_capped(const TimerConfig& c, Duration current) {
    return std::min(2 * current, c.t2);
}

}  // namespace fe::txn
