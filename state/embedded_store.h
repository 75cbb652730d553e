// File: state/embedded_store.h
//
// The default BindingStore: in-process, shared by every worker of the node, so
// a single node runs with no Redis at all. Callbacks run before each call
// returns, on the caller's thread, with no lock held (the AOR's bindings are
// copied into a per-thread scratch first, so `done` may call the store again).
//
//   fe::state::EmbeddedStore store;                         // one per node
//   store.apply(update, now, [&](fe::state::StoreStatus s, const fe::state::AorView& aor) {
//       ...
//   });
//   store.expire(now);                                      // every loop turn, bounded
//
// Concurrency: AORs are spread by hash over kStoreShardCount shards, each an
// absl::flat_hash_map behind its own absl::Mutex, so workers never contend on
// one global lock. This bends STYLE §8 ("no locks on the data path") on
// purpose: a REGISTER is control-path traffic (a million UAs refreshing hourly
// are ~300/s per node), a shard is held for about a microsecond, and two
// workers meet on a shard with probability ~1/64. The share-nothing
// alternative, each shard owned by one worker and reached by a mailbox hop
// (Seastar's per-core map), removes the locks at the cost of a hop per
// REGISTER and per lookup; it is the way to go if profiles ever show these
// mutexes, and callers would not change since the interface is already
// completion-based.
//
// Flow index: forget_flow(token) must find every binding routed over a flow in
// every AOR (OB-AUTH-06), so the store keeps token -> AORs in its own shards
// (by token hash). Invariant, whenever an AOR's shard lock is released: AOR A
// is listed under token T exactly when some binding of A has flow_token T
// (except while a forget_flow(T) runs: it takes AORs off T's list a batch at
// a time and then removes their bindings over T). Locks are taken AOR shard
// first, then flow shard, never the other way.
//
// Cost per operation, independent of how many AORs a flow carries: one flow
// may carry every user of a trunk (an edge in front of this registrar, a PBX,
// a load generator on one socket), and a list scanned per REGISTER made such
// a flow quadratic (issue 9: 74 % of a worker in std::find). Each token lists
// its AORs in a SmallPointerSet of pointers to the AORs' map nodes (stable:
// the AOR map is a node map), so listing, unlisting and "is A listed" are
// O(1). The only scans left per REGISTER are over one AOR's own bindings,
// bounded by binding_count_per_aor_max (32). A refresh over the same flow
// does not touch the flow index at all. forget_flow(T) costs O(AORs on T);
// expire() O(log n) per AOR in its heap.
//
// Memory (64-bit, absl 20220623), per AOR, per flow token, per binding:
//   AOR map          8 B slot + 1 control byte per capacity slot (load 7/16 to
//                    7/8: 10-21 B per AOR) + one node of 72 B (the key string
//                    and AorRecord; an 80 B malloc chunk) + the key's text
//                    when longer than 15 characters.
//   flow index       per token: a 48 B slot (token string 32 + set 16) + 1
//                    control byte (55-110 B at that load) + the token's text
//                    (a 40-character TCP token: a 48 B chunk). Per AOR listed:
//                    nothing for a token's first two AORs (inline), ~27-55 B
//                    each once a token carries three or more (a vector and a
//                    position map; see state/internal/small_pointer_set.h).
//   expiry heap      one 40 B entry per scheduled AOR + its key's text.
// The bindings themselves (Binding, its strings) dominate: ~1.2 kB for an
// outbound binding with a Path; bench/embedded_store_benchmark.cc reports
// heap bytes per AOR (`heap_B_per_aor`). The rejected alternative, an
// intrusive list threaded through the bindings, costs 16 B on every binding
// even on a flow with one AOR, needs bindings at stable addresses (one
// allocation each), and lets forget_flow walk a list that other threads are
// unlinking from under a lock order it cannot follow.
//
// Expiry: each AOR shard has a min-heap of (time, AOR) entries. An AOR keeps
// at most one live entry, at the earliest expiry it had when scheduled
// (AorRecord::scheduled_at); entries that no longer match it are stale and
// skipped when popped. A refresh that lengthens a binding does not touch the
// heap: the old entry pops, finds nothing expired and reschedules.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "state/binding_limits.h"
#include "state/binding_store.h"
#include "state/internal/small_pointer_set.h"

namespace fe::state {

struct EmbeddedStoreConfig {
    uint32_t binding_count_per_aor_max = kBindingCountPerAorMax;
    uint32_t expire_aor_count_per_call_max = kExpireAorCountPerCallMax;
};

class EmbeddedStore final : public BindingStore {
public:
    explicit EmbeddedStore(EmbeddedStoreConfig config = {});
    EmbeddedStore(const EmbeddedStore&) = delete;
    EmbeddedStore& operator=(const EmbeddedStore&) = delete;

    void apply(const RegisterUpdate& update, Time now, Done done) override;
    void lookup(std::string_view aor_key, Time now, Done done) override;
    void forget_flow(std::string_view flow_token, Time now) override;
    size_t expire(Time now) override;
    bool answers_inline() const override { return true; }

    // Bindings stored (expired ones not yet removed included), all shards.
    size_t binding_count_for_test() const;
    // AORs the flow index lists under `flow_token`.
    size_t flow_aor_count_for_test(std::string_view flow_token) const;
    // Their keys, sorted.
    std::vector<std::string> flow_aor_keys_for_test(std::string_view flow_token) const;
    // Checks the flow-index invariant both ways over the whole store (every
    // (AOR, token) pair of a stored binding is listed, and nothing else is).
    // Only while no other thread uses the store.
    bool flow_index_consistent_for_test() const;
    // Entries in all expiry heaps, stale ones included.
    size_t expiry_entry_count_for_test() const;

private:
    struct AorRecord {
        std::vector<Binding> bindings;  // Never empty while in the map.
        // Time of this AOR's live expiry-heap entry; valid when has_schedule.
        Time scheduled_at{};
        bool has_schedule = false;
    };
    struct ExpiryEntry {
        Time at;
        std::string aor_key;
        friend bool operator>(const ExpiryEntry& a, const ExpiryEntry& b) { return a.at > b.at; }
    };
    // A node of the AOR map: its address and key stay put from insertion to
    // erase, so the flow index can point at it.
    using AorNode = std::pair<const std::string, AorRecord>;
    struct alignas(64) AorShard {
        mutable absl::Mutex mu;
        absl::node_hash_map<std::string, AorRecord> aors ABSL_GUARDED_BY(mu);
        std::priority_queue<ExpiryEntry, std::vector<ExpiryEntry>, std::greater<>> expiry
            ABSL_GUARDED_BY(mu);
    };
    struct alignas(64) FlowShard {
        mutable absl::Mutex mu;
        // Token -> AORs with a binding routed over it (see the invariant).
        // A listed node is alive: it is unlisted, under this lock, before its
        // AOR is erased, so its key may be read under this lock alone.
        absl::flat_hash_map<std::string, internal::SmallPointerSet<const AorNode>> aors_by_token
            ABSL_GUARDED_BY(mu);
    };

    AorShard& aor_shard(std::string_view aor_key);
    FlowShard& flow_shard(std::string_view flow_token);
    const FlowShard& flow_shard(std::string_view flow_token) const;

    // Under the AOR shard's lock.
    StoreStatus check(const RegisterUpdate& update, const AorRecord* record) const;
    void mutate(const RegisterUpdate& update, Time now, AorNode& aor);
    size_t purge_expired(AorNode& aor, Time now);
    void remove_at(AorNode& aor, size_t index);
    // Removes every binding of `aor` over `flow_token`; returns how many.
    size_t remove_flow(AorNode& aor, std::string_view flow_token);
    // Lists or unlists `aor` under `flow_token` to match its bindings.
    void sync_flow_index(std::string_view flow_token, const AorNode& aor);
    void schedule(AorShard& shard, std::string_view aor_key, AorRecord& record, bool force)
        ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
    // Copies the unexpired bindings into this thread's scratch for `done`.
    static AorView copy_out(std::string_view aor_key, const AorRecord* record, Time now);
    static void finish(StoreStatus status, const AorView& view, Done& done);

    EmbeddedStoreConfig config_;
    std::array<AorShard, kStoreShardCount> aor_shards_;
    std::array<FlowShard, kStoreShardCount> flow_shards_;
    // Shard where the next expire() starts, so calls take turns.
    std::atomic<uint32_t> expire_cursor_{0};
};

}  // namespace fe::state
