// File: core/txn/completed_table.h
//
// Server transactions that are over except for one duty: answering the
// retransmissions of their request. Over UDP a client retransmits a request
// until it hears the final response, so a server keeps each non-INVITE
// transaction in Completed for Timer J (64*T1 = 32 s, RFC 3261 §17.2.2) and
// each INVITE that sent a 2xx in Accepted for Timer L (64*T1, RFC 6026 §7.1).
// Keeping the whole transaction (its request, its branches, a proxy's
// kilobytes of call state) that long caps a worker at a few thousand requests
// per 32 s; this table keeps only what the duty needs: the §17.2.3 key, the
// response bytes (or "absorb"), and an expiry.
//
//   fe::txn::CompletedTable completed;                       // one per owner, per worker
//   const fe::txn::ServerKey key{via.branch, via.sent_by, request.method_text()};
//   const fe::txn::CompletedMatch m = completed.match(key, now);
//   if (m.verdict == fe::txn::CompletedVerdict::kResend) { send(m.response); return; }
//   if (m.verdict == fe::txn::CompletedVerdict::kAbsorb) { return; }
//   ... a new request: handle it; once its final response went out over UDP:
//   (void)completed.insert({.key = key, .kind = fe::txn::CompletedKind::kNonInviteCompleted,
//                           .response = final_bytes,
//                           .expires_at = now + fe::txn::timer_j(
//                               timers, fe::txn::Reliability::kUnreliable)},
//                          now);
//
// Only unreliable transports need entries: over TCP and TLS Timer J, Timer L's
// absorbing and Timer I are zero (the transport does not duplicate), so an
// owner inserts only for requests that came over UDP.
//
// Matching (§17.2.3, the same composed key as TxnTable: internal/txn_key.h):
// top Via branch (with the magic cookie) and sent-by, case-insensitively, and
// the method, case-sensitively. So a request with the same branch and another
// method is a new transaction. An ACK looks up the INVITE with its branch: a
// kInviteConfirmed entry absorbs it, a kInviteAccepted one does not match it
// (RFC 6026 §7.1: in Accepted an ACK goes to the TU, here the core that routes
// the ACK of a 2xx end to end). A CANCEL is its own non-INVITE transaction
// (its key has method CANCEL); has_invite_for_cancel() says whether the INVITE
// it names is here (§9.2: answered, so the CANCEL has no effect but gets 200).
//
// Expiry: an entry is alive while now < expires_at; match() ignores dead
// entries at once, whatever their place. Memory is reclaimed in insertion
// order (a FIFO: O(1) per insert, lookup and reclaim), by expire(now) and by
// insert(). Owners insert with the same linger (64*T1) give or take the few
// milliseconds between a final response and the moment its transaction is
// handed over, so the insertion order is the expiry order; an entry with a
// shorter linger (Timer I = T4 for kInviteConfirmed) is dead on time and its
// bytes go when the entries before it go.
//
// Memory. Each entry is one record in a block: a 24-byte header, the composed
// key (5 + branch + sent-by + method: ~50 B from a typical UA), and the
// response (flowedge's 200 to an outbound REGISTER over UDP: 586 B; a
// proxied MESSAGE's 200 ~300-400 B; none for the INVITE kinds), rounded up
// to 8 bytes. The index is an open-addressing set of 8-byte pointers to the
// records (absl flat_hash_set: one control byte each, load 7/16 to 7/8):
// 10-21 B an entry. So ~100 B an entry plus its response (~680 B for that
// REGISTER); bench/completed_table_benchmark.cc measures it (a 530 B 200
// with a 35-byte branch: 624 B of record, 14-18 B of index). Blocks of
// kCompletedBlockSize are allocated when the table first needs them and
// recycled through a free list after that, so a warm table does not
// allocate; it pins what its busiest Timer J window needed, within
// entry_count_max and byte_count_max (core/txn/limits.h has the budget).
//
// Full (entry_count_max entries, or no block left within byte_count_max): the
// oldest entries are evicted (counted) to make room. Refusing the new entry
// instead would turn a burst into retransmissions that each run again; an
// evicted entry costs the same thing, but only for requests 32 s old whose
// retransmissions are nearly over.
//
// Views returned by match() point into the table and are valid until the next
// insert() or expire().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "core/base/time.h"
#include "core/txn/limits.h"
#include "core/txn/txn_table.h"

namespace fe::txn {

// The state the server transaction was in when it was handed to the table.
enum class CompletedKind : uint8_t {
    // Non-INVITE in Completed (§17.2.2, Timer J): a retransmitted request
    // gets the final response again.
    kNonInviteCompleted,
    // INVITE after its 2xx, RFC 6026 §7.1 Accepted (Timer L): a retransmitted
    // INVITE is absorbed; an ACK does not match.
    kInviteAccepted,
    // INVITE in Confirmed (§17.2.1, Timer I): the ACK of its non-2xx came;
    // retransmitted INVITEs and ACKs are absorbed.
    kInviteConfirmed,
};

enum class CompletedVerdict : uint8_t {
    kNone,    // no completed transaction has this key: the request is new
    kResend,  // a retransmission: send CompletedMatch::response again
    kAbsorb,  // a retransmission (or the ACK of a non-2xx) to drop silently
};

struct CompletedMatch {
    CompletedVerdict verdict = CompletedVerdict::kNone;
    // kResend: the response to send again; valid until the next insert() or
    // expire().
    std::string_view response;
    // kResend: the word given to insert() with it.
    uint32_t aux = 0;
};

// What insert() keeps.
struct CompletedEntry {
    // The request's key (views, copied by insert()). Its method is the
    // request's: INVITE for the INVITE kinds, neither INVITE nor ACK for
    // kNonInviteCompleted (asserted).
    ServerKey key = {};
    CompletedKind kind = CompletedKind::kNonInviteCompleted;
    // The final response sent (kNonInviteCompleted: not empty); empty for the
    // INVITE kinds (asserted).
    std::string_view response = {};
    // A word the owner keeps with the response (the registrar: the Flow-Timer
    // the edge was given with it).
    uint32_t aux = 0;
    // The end of Timer J, L or I: the entry is alive while now < expires_at.
    Time expires_at{};
};

enum class [[nodiscard]] CompletedInsert : uint8_t {
    kInserted,
    // Inserted; an entry with the same key was still held and is replaced
    // (its request came again after it died, or the owner's own
    // transaction reused the key).
    kReplaced,
    // Not kept: the key names no RFC 3261 transaction (no magic cookie, a
    // part empty or over its limit). Such a request is always treated as new.
    kBadKey,
    // Not kept: the response is over kCompletedResponseSizeMax.
    kResponseTooLarge,
};

struct CompletedTableConfig {
    uint32_t entry_count_max = kCompletedCountMax;
    // Rounded down to whole kCompletedBlockSize blocks; at least one block.
    size_t byte_count_max = kCompletedByteCountMax;
};

struct CompletedTableStats {
    uint64_t inserted = 0;           // kInserted or kReplaced
    uint64_t replaced = 0;           // kReplaced
    uint64_t expired = 0;            // reclaimed after expires_at
    uint64_t evicted_count_full = 0; // alive, dropped for entry_count_max
    uint64_t evicted_bytes_full = 0; // alive, dropped for byte_count_max
    uint64_t refused_bad_key = 0;    // kBadKey
    uint64_t refused_too_large = 0;  // kResponseTooLarge
};

class CompletedTable {
public:
    explicit CompletedTable(CompletedTableConfig config = {});
    CompletedTable(const CompletedTable&) = delete;
    CompletedTable& operator=(const CompletedTable&) = delete;

    // What to do with a request (key.method is the request's, ACK included).
    CompletedMatch match(const ServerKey& key, Time now) const;
    // For a CANCEL (key.method must be "CANCEL"): whether the INVITE it names
    // is here and alive.
    bool has_invite_for_cancel(const ServerKey& cancel_key, Time now) const;

    // Keeps `entry`, first reclaiming what died by `now` and evicting the
    // oldest entries when full. O(1) amortised: each entry is reclaimed once.
    CompletedInsert insert(const CompletedEntry& entry, Time now);

    // Reclaims the oldest entries that died by `now` (up to the first alive
    // one). Returns how many entries it reclaimed.
    size_t expire(Time now);

    // Entries held: alive ones, plus dead or replaced ones not yet reclaimed.
    uint32_t count() const { return entry_count_; }
    // Bytes of the records held (headers, keys, responses, padding).
    size_t used_bytes() const { return used_bytes_; }
    // Bytes of the blocks allocated so far (held or free): what the table pins.
    size_t block_bytes() const { return blocks_.size() * kCompletedBlockSize; }
    // Bytes of the index's slot array (pointers and control bytes).
    size_t index_bytes() const;
    const CompletedTableStats& stats() const { return stats_; }

private:
    struct Record;
    struct Block {
        std::unique_ptr<char[]> bytes;
        // Bytes written from the start of the block; records lie back to back.
        size_t used = 0;
    };
    // Index hashing and equality on a record's key, so that the set holds
    // only pointers and is searched with a composed key.
    struct KeyHash {
        using is_transparent = void;
        size_t operator()(absl::string_view key) const;
        size_t operator()(const Record* record) const;
    };
    struct KeyEq {
        using is_transparent = void;
        bool operator()(const Record* a, const Record* b) const;
        bool operator()(const Record* a, absl::string_view b) const;
        bool operator()(absl::string_view a, const Record* b) const;
    };

    const Record* find(std::string_view composed, Time now) const;
    Record* oldest() const;
    // Reclaims the oldest record, whatever its state; counts it as expired or
    // evicted (`why`) when it was alive in the index.
    enum class Reclaim : uint8_t { kExpire, kCountFull, kBytesFull };
    void reclaim_oldest(Time now, Reclaim why);
    // Makes room for `size` bytes at the end of the newest block.
    char* reserve(size_t size, Time now);
    uint32_t take_block(Time now);

    const uint32_t entry_count_max_;
    const uint32_t block_count_max_;
    // Every block ever allocated (<= block_count_max_); never freed before
    // the table, so record pointers stay put.
    std::vector<Block> blocks_;
    // Indexes into blocks_ of blocks holding no record.
    std::vector<uint32_t> free_blocks_;
    // Blocks holding records, oldest first: a ring of block_count_max_
    // indexes, [ring_head_, ring_head_ + ring_count_).
    std::vector<uint32_t> ring_;
    uint32_t ring_head_ = 0;
    uint32_t ring_count_ = 0;
    // Offset of the oldest record in the oldest block (ring_[ring_head_]);
    // 0 when ring_count_ == 0.
    size_t head_offset_ = 0;
    // Records held; 0 exactly when ring_count_ == 0.
    uint32_t entry_count_ = 0;
    size_t used_bytes_ = 0;
    // One pointer per record that is alive or dead but not replaced: the
    // newest record of each key held. Records reclaimed are erased first.
    absl::flat_hash_set<Record*, KeyHash, KeyEq> index_;
    CompletedTableStats stats_;
};

}  // namespace fe::txn
