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

// Proxied requests one worker keeps state for at once (forking, waiting for
// the store, or lingering to absorb retransmissions and the ACK of a non-2xx
// final). An INVITE that rings lives up to Timer C (~3 min) and a finished
// INVITE over UDP lingers 32 s (Timer H/I), so at 20 new calls/s per worker
// ~4000 are live; 4096 covers that. A slot costs ~6 KiB of fixed state plus
// the bytes it kept (the request, one copy per branch), which a slot keeps
// for reuse, so a full pool pins well under 100 MiB. Full: 503 at once
// (backpressure, STYLE §7), never growth.
inline constexpr uint32_t kProxyCallCountMax = 4096;

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
