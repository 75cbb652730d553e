// File: net/probe.h
//
// Startup checks of the kernel's io_uring (STYLE §6, §9): which features the
// runtime relies on exist, and if not, an error that says how to fix it.
//
//   absl::StatusOr<fe::net::RingFeatures> features = fe::net::probe_io_uring();
//   if (!features.ok()) { std::cerr << features.status() << '\n'; return 1; }
//
// setup_ring() creates a worker's ring with IORING_SETUP_SINGLE_ISSUER |
// IORING_SETUP_DEFER_TASKRUN (completions run only when the worker asks for
// them, on its own thread), falling back to a plain ring on older kernels.
#pragma once

#include <liburing.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fe::net {

struct RingFeatures {
    bool defer_taskrun = false;   // SINGLE_ISSUER | DEFER_TASKRUN accepted (6.1+)
    bool ext_arg = false;         // wait with a timeout without a timeout SQE
    bool buffer_rings = false;    // IORING_REGISTER_PBUF_RING (5.19+)
    bool multishot_recv = false;  // multishot recv/recvmsg on a buffer ring (6.0+)
    bool msg_ring = false;        // IORING_OP_MSG_RING (5.18+)
    bool socket_direct = false;   // IORING_OP_SOCKET into a direct descriptor (5.19+)
};

// Everything the runtime needs, checked once at start. An error names the
// missing feature and the fix ("io_uring is disabled (kernel.io_uring_disabled=2);
// set it to 0").
absl::StatusOr<RingFeatures> probe_io_uring();

enum class RingMode : uint8_t {
    kDeferTaskrun,  // SINGLE_ISSUER | DEFER_TASKRUN; only the calling thread may submit
    kPlain,
};

// Initializes `ring` with `entries` SQEs (CQ twice that) on the calling thread,
// which must be the thread that runs the ring afterwards.
absl::StatusOr<RingMode> setup_ring(io_uring& ring, uint32_t entries);

}  // namespace fe::net
