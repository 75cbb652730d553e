// File: core/txn/limits.h
//
// Every limit of the transaction layer, with the reason for its default
// (STYLE §7). The table is sized from these once, at startup.
//
//   fe::txn::TxnTable table(fe::txn::kTransactionCountMax);
#pragma once

#include <cstddef>
#include <cstdint>

namespace fe::txn {

// Live transactions per worker. Back of the envelope: a worker taking 2000 new
// transactions/s over UDP keeps each non-INVITE server transaction for Timer J
// (64*T1 = 32 s) after it answers, so about 64k are alive at steady state.
// When the table is full the caller answers 503 (backpressure, not growth).
inline constexpr uint32_t kTransactionCountMax = 65536;

// Longest branch parameter we keep a transaction for. RFC 3261 elements write
// "z9hG4bK" plus a few dozen characters; anything near this is hostile or
// broken, and such a request is handled without a transaction.
inline constexpr size_t kBranchSizeMax = 255;

// Longest Via sent-by ("host[:port]"). A DNS name is at most 253 octets, plus
// ":65535".
inline constexpr size_t kSentBySizeMax = 259;

// Longest method token. The registered SIP methods are at most 9 characters;
// extension methods get room but not unbounded room.
inline constexpr size_t kMethodSizeMax = 32;

// Most actions one input can produce (see action.h: the worst case is a
// 3xx-6xx on a reliable transport: pass up, send ACK, terminate).
inline constexpr size_t kActionCountMax = 4;

}  // namespace fe::txn
