// File: state/binding_limits.h
//
// Limits of the binding stores (state/binding_store.h), each with its reason
// (STYLE §7). Kept apart from state/limits.h (the flow table's) so the two
// can change independently; EmbeddedStoreConfig copies these defaults.
//
//   fe::state::EmbeddedStoreConfig config;      // defaults from here
//   config.binding_count_per_aor_max = 2;        // a tiny test store
#pragma once

#include <cstddef>
#include <cstdint>

namespace fe::state {

// Bindings one AOR may hold. A user with 8 devices, each registering two
// outbound flows (RFC 5626 §4.2.1 asks for at least two), is 16; plain
// bindings of desk phones and gateways come on top. 32 is generous, and it
// bounds the linear scans per REGISTER and the size of a 200's Contact list.
// A REGISTER that would go beyond gets 403 "Too Many Bindings".
inline constexpr uint32_t kBindingCountPerAorMax = 32;

// Shards of the embedded store. Workers on different AORs almost never meet
// on one lock: with 8 workers and 64 shards two REGISTERs in the same instant
// collide with probability ~1/64, and a lock is held for ~1 us.
inline constexpr size_t kStoreShardCount = 64;

// AORs whose expiry expire() examines per call. At ~1 us each this caps one
// call at ~0.3 ms so a loop turn stays short; at one call per 10 ms loop turn
// that still retires 25,000 AORs a second, far above the ~300 a second that a
// million AORs refreshing hourly expire at.
inline constexpr uint32_t kExpireAorCountPerCallMax = 256;

// AORs that forget_flow() takes off a flow's list per hold of the flow
// shard's lock. A trunk's flow may carry 100,000 AORs; copying all their keys
// under one lock would stall every REGISTER over the other flows of that
// shard for milliseconds. 64 keys are copied in a few microseconds, and the
// lock is taken ~1,600 times for such a flow, once per flow close.
inline constexpr uint32_t kForgetAorCountPerBatchMax = 64;

// Pieces of Path values around a flow token that one AOR shard of the
// embedded store shares between its bindings (internal::PathParts), and their
// size. A node sees its own Path (two pieces) and those of the few edges in
// front of it; 32 pieces of up to 128 B cap a shard at 4 KiB, and a piece
// that does not fit only costs its bytes in each binding.
inline constexpr uint32_t kPathPartCountMax = 32;
inline constexpr uint32_t kPathPartSizeMax = 128;

// Nesting of store calls made from inside a `done` callback on one thread
// (each level holds one scratch copy of an AOR's bindings). The registrar and
// proxy never nest; 4 leaves room and turns runaway recursion into an assert.
inline constexpr uint32_t kStoreCallbackDepthMax = 4;

}  // namespace fe::state
