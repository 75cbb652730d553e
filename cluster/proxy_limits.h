// File: cluster/proxy_limits.h
//
// Named limits of the home proxy glue (cluster/proxy.h), each with its reason
// (STYLE §7). The pure forking limits (targets, branches, Timer C) live in
// core/outbound/proxy_limits.h.
//
//   static_assert(fe::cluster::kProxyCallCountMax > 0);
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/sip/limits.h"

namespace fe::cluster {

// Proxied requests one worker keeps a call slot for at once. A slot is held
// while the request is forked and answered, while a branch's client
// transaction lingers (Timer K = T4 = 5 s after a non-INVITE final from a UDP
// callee, Timer D = 32 s after an INVITE non-2xx from one), and while an
// INVITE's non-2xx waits for its ACK. It is not held while the upstream
// transaction only absorbs retransmissions (non-INVITE Completed, INVITE
// Accepted after a 2xx, Confirmed after the ACK): that moves to the
// proxy's txn::CompletedTable at ~100 B plus the response. Needs at this cap:
// 13,000 MESSAGEs/s per worker to UDP callees (x 5 s), or 65,536 INVITEs
// ringing at once (e.g. 2,000 new calls/s per worker ringing 30 s); MESSAGEs
// to TCP callees hold a slot only for the callee's round trip.
// A live slot costs 10,128 B of fixed state (sizeof(Call) on x86-64: the
// ProxyCall's branch machines 4,864 B, the parsed request 2,840 B, branch
// bookkeeping) plus the bytes it keeps (the request, one copy per branch,
// the bindings, the last response: ~3 KiB for a one-branch MESSAGE), ~13 KiB
// in all. Slots are made when first needed and kept for reuse, so a worker
// pins ~13 KiB x the most calls it ever held at once: ~850 MiB if it ever
// reaches this cap; lower HomeProxyConfig::call_count_max where memory is
// short. Full: 503 at once (backpressure, STYLE §7), never growth. The
// branch id's slot field (core/outbound/branch_id.h, 4 hex digits) is what
// bounds this.
inline constexpr uint32_t kProxyCallCountMax = 65536;

// Bytes of a response the proxy sends upstream: a received response minus
// our Via, or one it generates. A received message is at most
// kMessageSizeMax.
inline constexpr size_t kProxyResponseSizeMax = sip::kMessageSizeMax;

// Bytes of a branch request: the received request plus the branch edits
// (Request-URI, Route from Path, Via, Max-Forwards, Record-Route), which all
// come from one EditArena.
inline constexpr size_t kProxyBranchRequestSizeMax =
    sip::kMessageSizeMax + sip::kEditArenaSizeMax;

// Bytes of the upstream transaction key "branch|sent-by" (RFC 3261 §17.2.3)
// a CANCEL, an ACK or a retransmission is matched by. Longer keys are not
// matched: such a request is treated as a new one.
inline constexpr size_t kUpstreamKeySizeMax = 512;

}  // namespace fe::cluster
