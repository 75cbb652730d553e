// File: core/outbound/proxy_limits.h
//
// Named limits and defaults of the home proxy (core/outbound/proxy.h and
// proxy_request.h), each with its reason (STYLE §7). Kept apart from the
// registrar's limits so two authors do not edit one file; fold into
// core/outbound/limits.h when that exists.
//
//   static_assert(fe::outbound::kBranchCountMax <= fe::outbound::kTargetCountMax);
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/base/time.h"
#include "core/outbound/registrar_limits.h"

namespace fe::outbound {

// Targets (bindings of one AOR) one proxied request may be given. The store
// keeps at most kListedBindingCountMax bindings per AOR, so every binding it
// returns fits; more is a caller bug (asserted).
inline constexpr uint32_t kTargetCountMax = 64;
static_assert(kTargetCountMax >= kListedBindingCountMax, "every stored binding must fit");
static_assert(kTargetCountMax <= 255, "target indexes are uint8_t");

// Branches (client transactions carrying the request) one proxied request
// may create over its whole life: the parallel ones plus the serial flow
// retries (OB-AUTH-02). A real AOR has 1-3 instances with 1-3 flows each, so
// 16 leaves room for every flow of a busy AOR while keeping a ProxyCall at
// about 5 KiB (three client machines of ~72 bytes per branch dominate). When it runs out, the remaining targets are not tried (counted by
// ProxyCall::targets_not_tried()); groups are ordered by their most recent
// flow, so the freshest registrations get the slots.
inline constexpr uint32_t kBranchCountMax = 16;
static_assert(kBranchCountMax <= kTargetCountMax);
static_assert(kBranchCountMax < 255, "branch indexes are uint8_t with 0xff as 'none'");

// Actions one input may produce. The worst input is a timer firing on every
// branch at once: per branch at most a retransmission, a CANCEL send or
// retransmission, a termination, and the start of the next flow (4 actions
// for the request transaction, 2 for the CANCEL transaction), plus one final
// response, one stored response and kDone for the call.
inline constexpr uint32_t kProxyActionCountMax = 6 * kBranchCountMax + 4;

// RFC 3261 §16.8 Timer C: how long an INVITE branch may stay without a final
// response. §16.7 step 2 says a reset value MUST be greater than 3 minutes;
// 3 min 10 s keeps it above that with margin for the timer wheel's slot size.
inline constexpr Duration kTimerCDefault = minutes(3) + seconds(10);

// Max-Forwards written when the request has none (RFC 3261 §16.6 step 3).
inline constexpr uint32_t kMaxForwardsDefault = 70;

// Bytes of the one Route line built from a binding's Path vector
// ("Route: " + values joined by ", " + CRLF). The store keeps at most
// kPathCountPerRegisterMax values of a few hundred bytes each; a vector that
// does not fit the forwarded message's edit arena is refused anyway, so the
// cap is the arena's size.
inline constexpr size_t kRouteLineSizeMax = 2 * 1024;

}  // namespace fe::outbound
