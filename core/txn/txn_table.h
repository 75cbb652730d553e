// File: core/txn/txn_table.h
//
// The per-worker index of live transactions, keyed as RFC 3261 §17.1.3
// (client: top-Via branch + CSeq method) and §17.2.3 (server: top-Via branch
// + sent-by + method, an ACK matching its INVITE). The table hands out slot
// ids; the owner keeps its machines, stored messages and wheel timers in an
// array indexed by TxnId::index.
//
//   fe::txn::TxnTable table(fe::txn::kTransactionCountMax);
//   fe::txn::ServerKey key{via.branch, via.sent_by, request.method};
//   if (auto id = table.find_server(key)) { ...retransmission or ACK... }
//   auto inserted = table.insert_server(key);
//   if (inserted.error == fe::txn::TxnTableError::kTableFull) { answer_503(); }
//   ...
//   table.erase(inserted.id);               // on ActionKind::kTerminated
//
// Matching rules:
// - Branches must start with the RFC 3261 magic cookie "z9hG4bK". We keep no
//   RFC 2543 fallback (matching on Request-URI, tags, Call-ID, CSeq and the
//   whole top Via): a request without the cookie finds no transaction and
//   cannot create one (kNoMagicCookie), so the caller handles it without a
//   transaction (a proxy forwards it statelessly) or rejects it.
// - Branch and sent-by compare case-insensitively (§7.3.1: parameter values
//   and host names are); the method compares case-sensitively (§7.1).
// - A CANCEL has its own server transaction (method CANCEL), and
//   find_server_invite_for_cancel() finds the INVITE it cancels (§9.2).
// - Client and server keys never collide, even for the same branch.
//
// Memory: all slots and the hash index are allocated in the constructor. Each
// slot keeps its key bytes in a std::string that keeps its capacity across
// reuse, so a warm table inserts without allocating.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "core/txn/limits.h"

namespace fe::txn {

inline constexpr std::string_view kBranchMagicCookie = "z9hG4bK";

// §17.1.3: what a response is matched on.
struct ClientKey {
    std::string_view branch;  // top Via branch of the request we sent
    std::string_view method;  // CSeq method (INVITE and CANCEL share a branch)
};

// §17.2.3: what a request is matched on.
struct ServerKey {
    std::string_view branch;   // top Via branch
    std::string_view sent_by;  // top Via sent-by, "host[:port]" as received
    std::string_view method;   // request method; ACK matches the INVITE
};

// Names a live transaction. index is in [0, capacity()); generation changes
// each time the slot is reused, so a stale id (a late timer) is detected by
// contains().
struct TxnId {
    uint32_t index = 0;
    uint32_t generation = 0;

    friend bool operator==(const TxnId&, const TxnId&) = default;
};

enum class TxnTableError : uint8_t {
    kOk = 0,
    // transaction_count_max live transactions: answer 503 (§21.5.4).
    kTableFull,
    // Branch absent or without "z9hG4bK": no RFC 3261 transaction matching.
    kNoMagicCookie,
    kBranchTooLong,   // longer than kBranchSizeMax
    kSentByEmpty,     // a Via always has a sent-by; the parser let one through
    kSentByTooLong,   // longer than kSentBySizeMax
    kMethodEmpty,
    kMethodTooLong,   // longer than kMethodSizeMax
    // ACK never creates a transaction (§17.1: none on the client side; on the
    // server side it matches its INVITE or goes to the core).
    kAckHasNoTransaction,
    // A live transaction has this key: the request is a retransmission and
    // should have been matched with find_*() first.
    kDuplicate,
};

std::string_view txn_table_error_name(TxnTableError error);

struct [[nodiscard]] TxnInsertResult {
    TxnTableError error = TxnTableError::kOk;
    TxnId id;  // valid only when error == kOk
};

class TxnTable {
public:
    explicit TxnTable(uint32_t transaction_count_max = kTransactionCountMax);

    TxnTable(const TxnTable&) = delete;
    TxnTable& operator=(const TxnTable&) = delete;

    TxnInsertResult insert_client(const ClientKey& key);
    TxnInsertResult insert_server(const ServerKey& key);

    // The client transaction a response belongs to; nullopt when none (the
    // response then goes to the core, e.g. a 2xx retransmission).
    std::optional<TxnId> find_client(const ClientKey& key) const;
    // The server transaction a request belongs to; for method ACK, the
    // INVITE transaction with the same branch and sent-by.
    std::optional<TxnId> find_server(const ServerKey& key) const;
    // For a CANCEL (key.method must be "CANCEL"): the INVITE server
    // transaction it cancels (§9.2); nullopt when none (answer 481).
    std::optional<TxnId> find_server_invite_for_cancel(const ServerKey& cancel_key) const;

    // Frees the slot. False when id is not live (already erased, or stale).
    bool erase(TxnId id);
    bool contains(TxnId id) const;

    uint32_t count() const { return count_; }
    uint32_t capacity() const { return static_cast<uint32_t>(slots_.size()); }

private:
    struct Slot {
        // The composed key; the index's key views point into it while live.
        std::string key;
        uint32_t generation = 0;
        bool live = false;
    };

    TxnInsertResult insert_key(std::string_view composed);
    std::optional<TxnId> find_key(std::string_view composed) const;

    std::vector<Slot> slots_;
    // Indexes of free slots; used as a stack so warm slots are reused first.
    std::vector<uint32_t> free_indexes_;
    // Composed key -> slot index. Every key views slots_[index].key, and
    // index_.size() == count_.
    absl::flat_hash_map<absl::string_view, uint32_t> index_;
    uint32_t count_ = 0;
};

}  // namespace fe::txn
