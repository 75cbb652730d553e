// File: core/ua/limits.h
//
// Every limit and default of the RFC 5626 user-agent logic, with the reason
// beside it. Defaults that an RFC recommends name the section; a UA config
// struct copies them so that a load profile can change any of them.
//
//   fe::ua::BackoffConfig config;             // starts from these defaults
//   config.max_time = fe::ua::kBackoffMaxTimeDefault;
#pragma once

#include <cstdint>

#include "core/base/time.h"

namespace fe::ua {

// ---- Flow recovery back-off (RFC 5626 §4.5, Appendix A) ----

// "max-time with a default of 1800 seconds": at the cap, retries continue for
// ever every 15-30 minutes.
inline constexpr Duration kBackoffMaxTimeDefault = seconds(1800);
// "base-time (if all failed) with a default of 30 seconds": a UA with no
// working flow comes back quickly.
inline constexpr Duration kBackoffBaseTimeAllFailedDefault = seconds(30);
// "base-time (if all have not failed) with a default of 90 seconds": a UA that
// is still reachable over another flow can afford to wait, which spreads the
// reconnect storm after an edge dies.
inline constexpr Duration kBackoffBaseTimeSomeWorkingDefault = seconds(90);

// ---- Keep-alives (RFC 5626 §4.4) ----

// §4.4.1: default upper bound of the CRLF ping interval where battery is not a
// concern; the lower bound is 20 % below it (96 s; the RFC's parenthesis says
// 95 s, the normative rule says 20 %, and [96, 120] satisfies both readings).
inline constexpr Duration kCrlfIntervalUpperDefault = seconds(120);
// §4.4.1: the same for battery-powered devices (lower bound 672 s).
inline constexpr Duration kCrlfIntervalUpperBatteryDefault = seconds(840);
// §4.4.1: "If a pong is not received within 10 seconds after sending a ping
// ... the client MUST treat the flow as failed."
inline constexpr Duration kPongTimeoutDefault = seconds(10);
// §4.4.2: "a random number between 24 and 29 seconds", below the 30 s UDP
// timeout of many NATs.
inline constexpr Duration kStunIntervalLowerDefault = seconds(24);
inline constexpr Duration kStunIntervalUpperDefault = seconds(29);
// Flow-Timer comes from the network. A value of 0 (or 1) would make the UA
// ping in a tight loop; no keep-alive interval is shorter than this.
inline constexpr Duration kKeepaliveIntervalMin = seconds(1);

// ---- STUN client transactions (RFC 5389 §7.2.1) ----

// Initial retransmission timeout: "RTO SHOULD be greater than 500 ms".
inline constexpr Duration kStunRtoDefault = milliseconds(500);
// Rc: "Rc SHOULD be configurable and SHOULD have a default of 7" sends.
inline constexpr uint32_t kStunRequestCountDefault = 7;
// Rm: after the last send, wait Rm x RTO (the initial RTO) before giving up.
inline constexpr uint32_t kStunFinalWaitRtoCountDefault = 16;
// Bounds on the configurable values above, so the schedule cannot overflow:
// 2^kStunRequestCountMax x RTO must stay far below the int64 ns range.
inline constexpr uint32_t kStunRequestCountMax = 16;
inline constexpr uint32_t kStunFinalWaitRtoCountMax = 64;

// ---- Registration (RFC 3261 §10, RFC 5626 §4.2) ----

// Requested Expires of a REGISTER: one hour, the RFC 3261 §10.2.1.1 default.
inline constexpr uint32_t kRegisterExpiresDefault_s = 3600;
// A REGISTER over a stream gets no retransmission; Timer F (64 x T1 = 32 s)
// bounds how long the UA waits for a final response.
inline constexpr Duration kRegisterTimeoutDefault = seconds(32);
// How long a TCP/TLS connect may take before the attempt counts as failed.
// Ten seconds is the same patience §4.4.1 gives a pong.
inline constexpr Duration kConnectTimeoutDefault = seconds(10);
// After a recoverable error to a refresh without Retry-After (RFC 5626
// §4.2.2: keep the flow), try the refresh again after this long, as long as
// the binding has not expired.
inline constexpr Duration kRefreshRetryDelayDefault = seconds(30);
// Retry-After and Min-Expires come from the network; a hostile or broken
// server must not park a flow for days or make it register for years.
inline constexpr uint32_t kRetryAfterMax_s = 3600;
inline constexpr uint32_t kMinExpiresMax_s = 86400;
// A server answering 503 + Retry-After: 0 for ever would make the UA resend in
// a tight loop; after this many recoverable errors in a row on one flow the
// attempt counts as a flow failure and the back-off applies.
inline constexpr uint32_t kRegisterRetryCountMax = 3;
// The refresh REGISTER goes out at a uniformly random point in
// [kRefreshFractionLower, kRefreshFractionUpper] of the granted expiry
// (per mille), counted from the 2xx: late enough not to waste messages,
// early enough to leave 10 % (6 min of an hour) for a retry, and random so
// that 100k emulated UAs started together do not refresh together.
inline constexpr uint32_t kRefreshFractionLower_permille = 750;
inline constexpr uint32_t kRefreshFractionUpper_permille = 900;

// ---- UA shape ----

// Flows (one per edge, reg-id 1..K) per UA. §4.2.1: a UA MUST support two
// and SHOULD support four outbound proxies; four keeps a UA object small
// enough for 100k+ of them in one load generator.
inline constexpr uint32_t kFlowCountMax = 4;
// Size of the outbound-proxy-set a UA may choose edges from (439 policy
// "try another edge" walks it).
inline constexpr uint32_t kEdgeCountMax = 8;
// Actions one input can produce: close + connect + register + timer is the
// longest chain; twice that leaves room for a UA-wide stop.
inline constexpr uint32_t kActionCountMax = 16;
// A REGISTER of the emulated UA is about 500 bytes with long host names; a
// caller buffer of this size always fits one (the builders report
// kBufferTooSmall otherwise).
inline constexpr uint32_t kUaMessageSizeMax = 2048;

// ---- Latency histogram ----

// Largest value recorded exactly into a bucket: 100 s in ns. Larger values
// are clamped (and counted) rather than growing the bucket array.
inline constexpr uint64_t kHistogramValueMax_ns = 100ull * 1000 * 1000 * 1000;

}  // namespace fe::ua
