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
// every AOR (OB-AUTH-06), so the store keeps token -> AORs in its own shards.
// It is keyed by a 64-bit hash of the token (absl::Hash, seeded per process),
// not the token's text: the text is in the bindings already, and a copy per
// flow cost ~50 B. Two tokens with one hash share a list; forget_flow(T)
// matches bindings on the text, and re-lists an AOR it visited that still
// has a binding over the other token, so a collision costs work, never a
// binding. Invariant, whenever an AOR's shard lock is released: AOR A is
// listed under hash H exactly when some binding of A has a flow_token that
// hashes to H (except while a forget_flow of such a token runs: it takes
// AORs off H's list a batch at a time and then removes their bindings over
// the token). Locks are taken AOR shard first, then flow shard, never the
// other way.
//
// Cost per operation, independent of how many AORs a flow carries: one flow
// may carry every user of a trunk (an edge in front of this registrar, a PBX,
// a load generator on one socket), and a list scanned per REGISTER made such
// a flow quadratic (issue 9: 74 % of a worker in std::find). Each token hash
// lists its AORs in a OneOrSet of pointers to the AORs' blocks (the one AOR
// inline, or a SmallPointerSet), so listing, unlisting and "is A listed" are
// O(1). The only scans left per REGISTER are over one AOR's own bindings,
// bounded by binding_count_per_aor_max (32). A refresh over the same flow
// does not touch the flow index at all. forget_flow(T) costs O(AORs on T);
// expire() O(log n) per AOR.
//
// Representation: an AOR is one allocation (internal::AorBlock: a 16 B
// header, the key, then every binding in the compact form of
// internal/binding_codec.h, where a string found in the binding's earlier
// bytes, such as the Contact URI inside the Contact, is a back reference,
// and a Path value holding the flow token is the token between two pieces
// the shard shares, internal::PathParts). Every operation decodes the AOR's
// bindings into a per-thread scratch of Bindings (the copy handed to `done`
// anyway), works on them, and writes them back when they changed: a refresh
// that changes only numbers (CSeq, times) by patching those bytes, anything
// else by encoding the AOR again, in place when it fits the block, otherwise
// into a new block that the AOR set, the expiry heap and the flow index are
// re-pointed at before the old one is freed. Rejected: a Binding of nine
// std::strings per binding (~1.2 kB with its map, index and heap entries,
// 14 allocations per AOR).
//
// Memory (64-bit, absl 20220623, glibc malloc), per AOR with one outbound
// binding as flowedge-bench registers it (113 B Contact, 78 B Path, 32 B
// Call-ID, 20 B key; 343 B in all, measured by EmbeddedStoreBlockTest.
// HeapBytesPerOutboundAor, and bench/embedded_store_benchmark.cc reports
// `heap_B_per_aor`):
//   block            16 B header + key + ~230 B of bindings, one malloc chunk
//                    (8 B of malloc header, 16 B granules): ~270 B
//   AOR set          8 B slot + 1 control byte per capacity slot (load 7/16
//                    to 7/8): 10-21 B
//   expiry heap      one 16 B entry per AOR (+ the vector's spare capacity)
//   flow index       per token hash: a 16 B slot (hash 8 + OneOrSet 8) + 1
//                    control byte (19-39 B at that load). Per AOR listed:
//                    nothing for a token's first AOR (inline), a 32 B
//                    SmallPointerSet for two, ~27-55 B each once a token
//                    carries three or more (see
//                    state/internal/small_pointer_set.h).
// The rejected alternative for the flow index, an intrusive list threaded
// through the bindings, costs 16 B on every binding even on a flow with one
// AOR and lets forget_flow walk a list that other threads are unlinking from
// under a lock order it cannot follow.
//
// Expiry: each AOR shard has a min-heap with one entry per AOR
// (internal::ExpiryHeap: each block knows its position, so there are no
// stale entries and no key copies), at or before its earliest binding
// expiry. A write-back moves the entry only earlier; a refresh that
// lengthens a binding leaves it, and when it pops, finding nothing expired,
// it moves to the AOR's earliest expiry then.
#pragma once

#include <array>
#include <span>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/synchronization/mutex.h"
#include "state/binding_limits.h"
#include "state/binding_store.h"
#include "state/internal/aor_block.h"
#include "state/internal/binding_codec.h"
#include "state/internal/expiry_heap.h"
#include "state/internal/one_or_set.h"

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
    ~EmbeddedStore() override;

    void apply(const RegisterUpdate& update, Time now, Done done) override;
    void lookup(std::string_view aor_key, Time now, Done done) override;
    void forget_flow(std::string_view flow_token, Time now) override;
    size_t expire(Time now) override;
    bool answers_inline() const override { return true; }

    // Bindings stored (expired ones not yet removed included), all shards.
    size_t binding_count_for_test() const;
    // AORs the flow index lists under `flow_token` (under its hash).
    size_t flow_aor_count_for_test(std::string_view flow_token) const;
    // Their keys, sorted.
    std::vector<std::string> flow_aor_keys_for_test(std::string_view flow_token) const;
    // Checks the flow-index invariant both ways over the whole store (every
    // (AOR, token hash) pair of a stored binding is listed, and nothing else
    // is) and every expiry heap.
    // Only while no other thread uses the store.
    bool flow_index_consistent_for_test() const;
    // Entries in all expiry heaps: one per stored AOR.
    size_t expiry_entry_count_for_test() const;

private:
    using AorBlock = internal::AorBlock;
    // absl::Hash of a flow token: the flow index's key.
    using TokenHash = uint64_t;
    // The distinct token hashes of an AOR's bindings (at most one per binding).
    using TokenHashes = absl::InlinedVector<TokenHash, 4>;
    struct Work;

    // The AOR set holds blocks and is searched by key.
    struct BlockHash {
        using is_transparent = void;
        size_t operator()(const AorBlock* block) const { return (*this)(block->key()); }
        size_t operator()(std::string_view key) const;
    };
    struct BlockEq {
        using is_transparent = void;
        bool operator()(const AorBlock* a, const AorBlock* b) const { return a == b; }
        bool operator()(const AorBlock* a, std::string_view key) const { return a->key() == key; }
        bool operator()(std::string_view key, const AorBlock* a) const { return a->key() == key; }
    };
    struct alignas(64) AorShard {
        mutable absl::Mutex mu;
        // Owns its blocks (AorBlock::destroy when erased).
        absl::flat_hash_set<AorBlock*, BlockHash, BlockEq> aors ABSL_GUARDED_BY(mu);
        internal::ExpiryHeap<AorBlock> expiry ABSL_GUARDED_BY(mu);
        // The pieces of Path values this shard's blocks are encoded with.
        internal::PathParts path_parts ABSL_GUARDED_BY(mu);
    };
    struct alignas(64) FlowShard {
        mutable absl::Mutex mu;
        // Token hash -> AORs with a binding routed over such a token (see
        // the invariant). A listed block is alive: it is unlisted or
        // re-pointed, under this lock, before it is freed, so its key may be
        // read under this lock alone.
        absl::flat_hash_map<TokenHash, internal::OneOrSet<const AorBlock>> aors_by_token
            ABSL_GUARDED_BY(mu);
    };

    static uint64_t aor_hash(std::string_view aor_key);
    AorShard& aor_shard(uint64_t aor_hash);
    static TokenHash token_hash(std::string_view flow_token);
    FlowShard& flow_shard(TokenHash token);
    const FlowShard& flow_shard(TokenHash token) const;

    // Under the AOR shard's lock.
    StoreStatus check(const RegisterUpdate& update, const Work& work) const;
    static void mutate(const RegisterUpdate& update, Time now, Work& work);
    // When commit() moves the AOR's expiry-heap entry: only earlier (a later
    // expiry is found when the old entry pops), or to its earliest expiry.
    enum class Reschedule : uint8_t { kIfEarlier, kAlways };
    // Writes work's bindings back as `aor_key`'s block (`block`: the one they
    // were read from, or null), keeping the set, the heap and the flow index
    // in step (work.original_tokens(): the token hashes read). Returns the
    // AOR's block, null when no binding is left.
    AorBlock* commit(AorShard& shard, AorBlock* block, std::string_view aor_key, Work& work,
                     Reschedule reschedule = Reschedule::kIfEarlier)
        ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
    static Time earliest_expiry(const Work& work);
    // Writes a refresh's changed fields into `block`; false when it must be
    // encoded again.
    static bool patch_in_place(AorBlock* block, const Work& work);
    void schedule(AorShard& shard, AorBlock* block, const Work& work, Reschedule reschedule)
        ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
    void sync_flow_index(const TokenHashes& before, const TokenHashes& after, const AorBlock* from,
                         const AorBlock* to);
    void list(TokenHash token, const AorBlock* block);
    void unlist(TokenHash token, const AorBlock* block);
    static TokenHashes token_hashes(const Work& work);
    static Work& work_area();
    static void finish(StoreStatus status, const AorView& view, Done& done);

    EmbeddedStoreConfig config_;
    std::array<AorShard, kStoreShardCount> aor_shards_;
    std::array<FlowShard, kStoreShardCount> flow_shards_;
    // Shard where the next expire() starts, so calls take turns.
    std::atomic<uint32_t> expire_cursor_{0};
};

}  // namespace fe::state
