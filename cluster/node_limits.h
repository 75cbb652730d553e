// File: cluster/node_limits.h
//
// Named limits and periods of the node glue (cluster/sip_worker, node), each
// with its reason.
#pragma once

#include <cstdint>

#include "core/base/time.h"
#include "core/sip/limits.h"

namespace fe::cluster {

// How often a worker sweeps its flow table for idle flows (and worker 0 the
// binding store for expired bindings). The table spreads one pass over
// kFlowSweepPeriod (2 s), so 100 ms slices keep each slice small (1/20 of the
// table) without a timer per flow.
inline constexpr Duration kSweepInterval = milliseconds(100);

// Mailbox items a worker posts for one cross-worker delivery: one. A full
// mailbox drops the delivery and counts it (the sender's transaction layer,
// or the UA, retransmits).
inline constexpr uint32_t kDeliveryPostAttemptMax = 1;

// Bytes of a message copied for another worker (the edited request or
// response): a whole message after our edits.
inline constexpr uint32_t kDeliverySizeMax = sip::kMessageSizeMax + sip::kEditArenaSizeMax;

// Bytes of the ring each ordered pair of workers has for parcels (a message
// for a flow or a proxy call of the other worker, cluster/worker_mail.h).
// A full ring drops the parcel and counts it; 1 MiB holds ~2,000 typical
// messages, several loop turns of the busiest cross-worker traffic measured.
// Two workers: 2 MiB; eight: 56 MiB of address space, touched as used.
inline constexpr uint32_t kWorkerMailRingSize = 1u << 20;
static_assert(kDeliverySizeMax + 64 <= kWorkerMailRingSize / 2, "a parcel fits a ring");

// Responses the node writes itself (400, 403, 430, 480, 483 ...): the Via
// stack of a request (up to kViaCountMax values) dominates.
inline constexpr uint32_t kLocalResponseSizeMax = 16 * 1024;

// How long the node's start-up check waits for a TCP connection to Redis
// before it warns that Redis is unreachable (it starts anyway). Redis is on
// the local network, so 500 ms is far above a SYN round trip and keeps a
// blackholed address from holding the start for long; the workers' own
// connects have their own timeout (state/redis_limits.h).
inline constexpr Duration kRedisStartProbeTimeout = milliseconds(500);

// A worker prints an outbound TLS failure (a peer's certificate refused, a
// handshake that timed out) at most this often: a misconfigured next hop
// fails every forward, and one line a second says so without flooding.
inline constexpr Duration kTlsFailureLogInterval = seconds(1);

}  // namespace fe::cluster
