// File: core/reuse/alias_table.h
//
// A worker's RFC 5923 alias table: (peer host, port, transport, our virtual
// server identity) -> the connection to reuse for requests sent there. Rows
// come from decide_alias() (a peer's verified `alias`, server side) and
// decide_offer_alias() (a connection we dialled, client side); see
// core/reuse/alias_decision.h.
//
//   fe::reuse::AliasTable table;                    // kAliasCountMax rows
//   table.insert(decision.key, connection);         // kInserted
//   std::optional<fe::reuse::AliasKey> target =
//       fe::reuse::target_alias_key("P1.example.com", 0, 0);   // (p1.example.com, 5061, TLS, 0)
//   auto found = table.find(target->view(), [&](fe::reuse::ConnectionRef c) {
//       return worker.live_tls_identities(c);  // nullptr when closed or not verified
//   });
//   table.remove_connection(connection);            // on_connection_closed(): all its rows
//
// Why in core/ and not state/: the table is plain data owned by one worker
// (no Redis, no sharing, no locks), its rules are the security property of
// reuse (a row never outlives its connection, a row is never returned for a
// connection whose certificate does not name the host), and core/ is where
// such rules are unit-tested and fuzzed without a loop (tests/fuzz/
// reuse_fuzz.cc links fe_core only). state/ holds the stores that need I/O.
//
// Guarantees:
//   - insert, find, remove are O(1) (hash lookups); remove_connection() is
//     O(rows of that connection), at most kAliasPerConnectionCountMax.
//   - Bounded: at most count_max() rows, at most kAliasPerConnectionCountMax
//     per connection. Policy when full: the new row is refused (kTableFull,
//     kConnectionFull) and the existing rows are kept. Refusing is safe (the
//     request is processed as without `alias`, CR-24; we connect out later,
//     CR-25/26), and an established peer cannot be evicted by a flood of
//     other rows.
//   - A row never outlives its connection: remove_connection() drops all its
//     rows, and find() checks the connection's current identities through the
//     caller's callback, so a row whose connection is gone (stale generation,
//     closed without a remove) or whose certificate no longer names the row's
//     host is removed and never returned (CR-15, CR-31, CR-45).
//   - The key includes the local identity index: rows of our virtual servers
//     never mix (RFC 5923 §9.3, CR-45..47).
//   - No allocation after construction except the row's host string when it
//     is longer than the short-string buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "core/reuse/alias_key.h"
#include "core/reuse/limits.h"
#include "core/tls/peer_identity.h"

namespace fe::reuse {

// The key a request sent to `host`:`port` over TLS looks up (CR-15, CR-31):
// the host in canonical form, port 0 as 5061. nullopt when `host` is not a
// host name or IP literal.
std::optional<AliasKey> target_alias_key(std::string_view host, uint16_t port,
                                         uint32_t local_identity_index);

enum class [[nodiscard]] InsertResult : uint8_t{
    kInserted,        // a new row
    kRefreshed,       // the row already named this connection
    kMoved,           // the row named another connection; it now names this one (CR-17, CR-26)
    kTableFull,       // count_max() rows: refused, nothing changed
    kConnectionFull,  // the connection has kAliasPerConnectionCountMax rows: refused
};
std::string_view insert_result_name(InsertResult result);

class AliasTable {
  public:
    // The connection's verified peer identities now, or nullptr when the
    // connection is closed, stale (another generation), not TLS or not
    // verified. A FunctionRef: pass the callable inline, never keep one.
    using IdentitiesOf = absl::FunctionRef<const tls::SipIdentities*(ConnectionRef)>;

    struct Stats {
        uint64_t inserted = 0;
        uint64_t moved = 0;
        uint64_t refused_table_full = 0;
        uint64_t refused_connection_full = 0;
        uint64_t removed_with_connection = 0;
        uint64_t removed_stale = 0;  // find() found the row's connection gone or no longer matching
    };

    explicit AliasTable(size_t count_max = kAliasCountMax);
    AliasTable(const AliasTable&) = delete;
    AliasTable& operator=(const AliasTable&) = delete;

    // Adds or re-points the row `key` -> `connection`. `key` must come from
    // decide_alias() or decide_offer_alias() (a canonical host, a TLS
    // transport): asserted.
    InsertResult insert(const AliasKey& key, ConnectionRef connection);

    // The connection to reuse for `key`, after checking that `identities_of`
    // says it is alive and its certificate still names key.host; a row that
    // fails the check is removed. nullopt when there is none.
    std::optional<ConnectionRef> find(const AliasKeyView& key, IdentitiesOf identities_of);

    // The row's connection without the identity check: for tests and stats.
    std::optional<ConnectionRef> peek_for_test(const AliasKeyView& key) const;

    // Removes one row; false when there was none.
    bool remove(const AliasKeyView& key);

    // Removes every row of `connection` (its close); returns how many.
    size_t remove_connection(ConnectionRef connection);

    size_t count() const { return by_key_.size(); }
    size_t count_max() const { return rows_.size(); }
    size_t connection_alias_count(ConnectionRef connection) const;
    const Stats& stats() const { return stats_; }

    // Checks every internal invariant (expensive: for tests and the fuzzer).
    void check_invariants_for_test() const;

  private:
    static constexpr uint32_t kNone = UINT32_MAX;

    struct Row {
        AliasKey key;  // by_key_ holds a view of key.host: never changed while used
        ConnectionRef connection;
        // The doubly-linked list of the connection's rows.
        uint32_t prev_in_connection = kNone;
        uint32_t next_in_connection = kNone;
        bool used = false;
    };
    struct ConnectionRows {
        uint32_t head = kNone;
        uint32_t count = 0;  // rows in the list, 1..kAliasPerConnectionCountMax
    };

    void link(uint32_t row_index, ConnectionRef connection);
    void unlink(uint32_t row_index);
    void free_row(uint32_t row_index);

    // Fixed at construction, never resized: views into rows_[i].key.host
    // (even short-string buffers) stay valid while the row is used.
    std::vector<Row> rows_;
    std::vector<uint32_t> free_rows_;                                   // indexes of unused rows
    absl::flat_hash_map<AliasKeyView, uint32_t> by_key_;                // exactly the used rows
    absl::flat_hash_map<ConnectionRef, ConnectionRows> by_connection_;  // connections with rows
    Stats stats_;
};

}  // namespace fe::reuse
