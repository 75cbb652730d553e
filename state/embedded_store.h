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
// is listed under token T exactly when some binding of A has flow_token T.
// Locks are taken AOR shard first, then flow shard, never the other way.
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
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/synchronization/mutex.h"
#include "state/binding_limits.h"
#include "state/binding_store.h"

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

    // Bindings stored (expired ones not yet removed included), all shards.
    size_t binding_count_for_test() const;
    // AORs the flow index lists under `flow_token`.
    size_t flow_aor_count_for_test(std::string_view flow_token) const;
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
    struct alignas(64) AorShard {
        mutable absl::Mutex mu;
        absl::flat_hash_map<std::string, AorRecord> aors ABSL_GUARDED_BY(mu);
        std::priority_queue<ExpiryEntry, std::vector<ExpiryEntry>, std::greater<>> expiry
            ABSL_GUARDED_BY(mu);
    };
    struct alignas(64) FlowShard {
        mutable absl::Mutex mu;
        // Token -> AORs with a binding routed over it (see the invariant).
        absl::flat_hash_map<std::string, absl::InlinedVector<std::string, 1>> aors_by_token
            ABSL_GUARDED_BY(mu);
    };

    AorShard& aor_shard(std::string_view aor_key);
    FlowShard& flow_shard(std::string_view flow_token);
    const FlowShard& flow_shard(std::string_view flow_token) const;

    // Under the AOR shard's lock.
    StoreStatus check(const RegisterUpdate& update, const AorRecord* record) const;
    void mutate(const RegisterUpdate& update, Time now, AorRecord& record);
    size_t purge_expired(std::string_view aor_key, AorRecord& record, Time now);
    void remove_at(std::string_view aor_key, AorRecord& record, size_t index);
    void sync_flow_index(std::string_view flow_token, std::string_view aor_key,
                         const AorRecord* record);
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
