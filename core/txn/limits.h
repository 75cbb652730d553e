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

// Completed server transactions one CompletedTable keeps (completed_table.h):
// over UDP a server transaction that sent its final response lives on only to
// answer retransmissions, for Timer J (64*T1 = 32 s) after a non-INVITE final
// and Timer L (64*T1) after an INVITE 2xx. Budget: 20,000 REGISTERs (or
// proxied MESSAGEs) per second per worker over UDP x 32 s = 640,000; 640 Ki
// rounds that up. A full table evicts its oldest entry (counted): that
// transaction's late retransmissions are then taken as new requests, which
// is what happened to all of them before the table existed.
inline constexpr uint32_t kCompletedCountMax = 640 * 1024;

// Bytes of composed keys and kept responses one CompletedTable may hold
// (record headers included). Measured: flowedge's 200 to an outbound
// REGISTER over UDP is 586 B (Via with received/rport, Contact with
// +sip.instance, a Path with its flow token, Require, Flow-Timer), its key
// ~50 B, the record header 24 B: ~660 B a record, so the count budget above
// needs ~415 MiB; 448 MiB holds it with room for a few larger responses.
// Larger responses (a 200 listing several bindings) meet this limit before
// the count one. The table takes its memory in blocks as it needs them and
// keeps them, so a worker pins what its busiest Timer J window needed (at
// 2,000 REGISTERs/s, ~42 MiB), never more than this. When it is reached the
// oldest entries go first, as for the count.
inline constexpr size_t kCompletedByteCountMax = size_t{448} << 20;

// Largest response a CompletedTable keeps. Entries exist only for UDP, where
// a response is one datagram and net/ neither receives nor sends datagrams
// over 8 KiB (kUdpDatagramSizeMax). A longer one is not kept (counted): its
// retransmissions are evaluated again.
inline constexpr size_t kCompletedResponseSizeMax = 8 * 1024;

// The unit in which a CompletedTable allocates and recycles its bytes. Entries
// are written one after the other and reclaimed oldest first, so a block
// returns to the table's free list once its last entry goes. 64 KiB holds ~100
// typical entries and 7 of the largest, so reclaiming one block for a new
// entry evicts at most ~100 entries, and a block's unused tail (an entry that
// did not fit) wastes at most one entry's size.
inline constexpr size_t kCompletedBlockSize = 64 * 1024;

// Most actions one input can produce (see action.h: the worst case is a
// 3xx-6xx on a reliable transport: pass up, send ACK, terminate).
inline constexpr size_t kActionCountMax = 4;

}  // namespace fe::txn
