// File: state/flow_table.h
//
// The per-worker flow table (RFC 5626 flows). One table per worker, owned and
// used by that worker alone, so nothing here locks. A flow is a slot in a
// slab; it is named by a FlowHandle {slot, generation}, which is what a flow
// token carries (with the node and worker). Lookups are O(1) by handle, by
// stream connection id, and for UDP by (remote address, local socket). A UDP
// flow costs one 48-byte entry plus ~10 bytes of index, a stream flow the
// entry plus 4 bytes: no socket, no timer.
//
//   fe::state::FlowTable flows(fe::state::FlowTableConfig{});
//   auto created = flows.create_udp(source, socket_index, now);
//   if (created.result != fe::state::FlowResult::kOk) { ...count, drop... }
//   ...
//   if (auto h = flows.find_udp(source, socket_index)) {
//       (void)flows.touch(*h, now);                   // a keep-alive or message
//   }
//   if (const fe::state::FlowEntry* flow = flows.find(token_handle)) { ... }
//   // Once per loop turn: reap flows idle past their limit.
//   flows.expire(now, flows.sweep_budget(loop_interval),
//                [&](fe::state::FlowHandle h, const fe::state::FlowEntry& e) {
//                    drop_bindings_of(h);             // OB-AUTH-07
//                    return e.is_udp() ? fe::state::ExpireDecision::kErase
//                                      : close_connection(e.connection_id);
//                });
//
// Generations (what keeps an old token from naming a new flow):
// - A slot's first generation is config.generation_start (>= 1); generation
//   0 never names a flow, so a zeroed handle is always stale.
// - erase() advances the slot's generation by one; the next flow in that slot
//   carries the new value, and every handle of the erased flow stops matching.
// - A slot whose generation reaches UINT32_MAX is retired when that flow is
//   erased: it is never reused, so within one table's life a (slot,
//   generation) pair names at most one flow, ever. Retiring costs one entry
//   per ~4e9 flows created in that slot (about 5 days of creating and erasing
//   10,000 flows a second all in the same slot); retired slots do not count
//   against flow_count_max.
// - Across restarts the table starts over, so the flow token must also carry
//   something that changes per process start (a boot epoch), or net/ seeds
//   generation_start randomly; see FlowTableConfig.
//
// Idle expiry: lazy sweep, no timer per flow. touch() only stores the time of
// last activity in the entry (one store into a line the lookup already
// loaded). expire(now, budget, fn) visits `budget` slots from a cursor that
// walks the slab round-robin and reports flows whose idle time exceeds their
// limit. Back of the envelope, 10M UDP flows in one worker: a full pass reads
// 10M * 48 B = 480 MB sequentially, ~1-3 ns per entry with hardware prefetch
// (measured: 32 ms per 10M-flow pass, on a loaded VM), i.e. 10-30 ms of CPU.
// Spread over kFlowSweepPeriod (2 s) that is 0.5-1.5 % of a core, and a flow is reaped at most 2 s after its limit, which OB-FT-02
// allows (it only asks us to wait *longer* than Flow-Timer). The rejected
// alternative, per-second expiry buckets as intrusive lists, makes every
// touch() unlink and relink the entry: two extra random cache misses on the
// neighbours (~200 ns at this size) per keep-alive, more than the sweep costs
// at the keep-alive rates of RFC 5626 (every 24-120 s per flow), plus 8 bytes
// of links per entry.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "core/base/assert.h"
#include "core/base/endpoint.h"
#include "core/base/time.h"
#include "state/limits.h"

namespace fe::state {

inline constexpr uint32_t kNoSlot = UINT32_MAX;

// What a flow token carries to name a flow inside its worker.
struct FlowHandle {
    uint32_t slot = kNoSlot;
    // 0 never names a flow (see the generation rules above).
    uint32_t generation = 0;

    friend bool operator==(const FlowHandle&, const FlowHandle&) = default;
};

// Flags the layers above set on a flow. kLive is the table's own.
enum FlowFlag : uint8_t {
    // The flow carried a REGISTER with reg-id and +sip.instance (RFC 5626).
    kFlowOutbound = 1u << 0,
    // RFC 5923: the peer may reuse this connection for requests to us.
    kFlowConnectionReuse = 1u << 1,
    // The flow carries more than one user's requests (a trunk: a PBX, an SBC,
    // an edge in front of us): its requests are spread over the workers.
    kFlowTrunk = 1u << 3,
    // The owner is closing the flow's connection and will erase() it when
    // the close completes; expire() no longer reports it.
    kFlowClosing = 1u << 2,
    // Set exactly while the slot holds a flow (managed by the table).
    kFlowLive = 1u << 7,
};
inline constexpr uint8_t kFlowFlagsUserMask =
    kFlowOutbound | kFlowConnectionReuse | kFlowClosing | kFlowTrunk;

// One flow. Kept small (<= 64 B, one cache line) because a worker holds
// millions; the layout below is 48 bytes.
struct FlowEntry {
    // Time of the last message or keep-alive on the flow, as fe::Time ns.
    int64_t last_activity_ns = 0;
    // UDP: the remote address, part of the UDP key. Streams: the peer's
    // address when net/ gave it (for logs and stats), otherwise empty.
    Endpoint remote;
    // See the generation rules in the file comment.
    uint32_t generation = 0;
    // Streams: net/'s connection id (e.g. the direct-descriptor index), the
    // key of the connection index. Free slots: the next free slot.
    uint32_t connection_id = kNoSlot;
    // Free for the layer above (e.g. an index into its own per-flow data).
    uint32_t cookie = 0;
    // Idle time after which expire() reports the flow.
    uint32_t idle_limit_ms = 0;
    // UDP: the worker's index of the local socket the flow arrived on.
    uint16_t local_socket = 0;
    Transport transport = Transport::kUdp;
    uint8_t flags = 0;

    bool live() const { return (flags & kFlowLive) != 0; }
    bool is_udp() const { return transport == Transport::kUdp; }
    bool has(FlowFlag flag) const { return (flags & flag) != 0; }
    Time last_activity() const { return time_from_ns(last_activity_ns); }
    Duration idle_limit() const { return milliseconds(idle_limit_ms); }
    // The flow is idle past its limit once now > idle_deadline().
    Time idle_deadline() const { return last_activity() + idle_limit(); }
};
static_assert(sizeof(FlowEntry) <= 64, "a flow entry fits one cache line");
static_assert(sizeof(FlowEntry) == 48, "layout changed: update the memory budget in limits.h");

struct FlowTableConfig {
    // Live flows at most; a full table refuses new flows.
    uint32_t flow_count_max = kFlowCountMax;
    // Live stream flows at most (within flow_count_max); past it create_stream()
    // answers kTableFull.
    uint32_t stream_flow_count_max = kStreamFlowCountMax;
    // Connection ids are below this; create_stream() refuses others with
    // kTableFull (the connection index is an array of this many slots).
    uint32_t connection_id_limit = kConnectionIdLimit;
    Duration udp_idle_limit = kUdpFlowIdleLimit;
    Duration stream_idle_limit = kStreamFlowIdleLimit;
    Duration flow_timer_grace = kFlowTimerGrace;
    Duration sweep_period = kFlowSweepPeriod;
    // The generation of each slot's first flow; >= 1. net/ may seed it
    // randomly (e.g. in [1, 2^31)) so tokens minted by an earlier process with
    // the same key do not name this process's flows.
    uint32_t generation_start = 1;
};

// Per-operation results; every one is checked.
enum class [[nodiscard]] FlowResult : uint8_t {
    kOk,
    // flow_count_max live flows already: backpressure, count and refuse.
    kTableFull,
    // create_stream() for a connection id that already has a flow.
    kConnectionTaken,
    // create_udp() for a (remote, local socket) that already has a flow.
    kUdpFlowTaken,
    // The handle names no live flow: erased, expired or never existed.
    kStale,
};

struct [[nodiscard]] FlowCreated {
    FlowResult result = FlowResult::kOk;
    // Valid exactly when result == kOk.
    FlowHandle handle;
};

// What the expire() callback tells the table to do with an idle flow.
enum class ExpireDecision : uint8_t {
    // Erase now (UDP flows; streams whose connection is already gone).
    kErase,
    // The owner closes the connection and erases later; sets kFlowClosing,
    // so later sweeps skip the flow.
    kClosing,
    // Leave it (the owner touched it or changed its limit); a later sweep
    // reports it again if it is still idle.
    kKeep,
};

class FlowTable {
public:
    // Reserves the slab and both indexes for config.flow_count_max flows, so
    // no operation allocates later (pages are committed as flows arrive).
    explicit FlowTable(const FlowTableConfig& config);
    // Not copyable or movable: the index hashers point at entries_.
    FlowTable(const FlowTable&) = delete;
    FlowTable& operator=(const FlowTable&) = delete;

    // A flow for a stream connection (TCP, TLS, WS, WSS); `remote` is
    // informative. Errors: kTableFull, kConnectionTaken.
    FlowCreated create_stream(uint32_t connection_id, Transport transport, Time now,
                              const Endpoint& remote = Endpoint{});
    // A flow for UDP datagrams from `remote` to local socket `local_socket`.
    // Errors: kTableFull, kUdpFlowTaken.
    FlowCreated create_udp(const Endpoint& remote, uint16_t local_socket, Time now);

    // nullptr when the handle is stale. The entry stays valid until the flow
    // is erased; do not keep the pointer across an erase or a create.
    const FlowEntry* find(FlowHandle handle) const;
    std::optional<FlowHandle> find_by_connection(uint32_t connection_id) const;
    std::optional<FlowHandle> find_udp(const Endpoint& remote, uint16_t local_socket) const;

    // Records activity (a message or keep-alive) at `now`.
    FlowResult touch(FlowHandle handle, Time now);
    // The registrar (or this edge) advertised `flow_timer`: the flow is dead
    // after flow_timer + config.flow_timer_grace without activity (OB-FT-02).
    FlowResult set_flow_timer(FlowHandle handle, Duration flow_timer);
    // Sets the idle limit directly (clamped to kFlowIdleLimitMax).
    FlowResult set_idle_limit(FlowHandle handle, Duration idle_limit);
    FlowResult set_cookie(FlowHandle handle, uint32_t cookie);
    // Only the bits in kFlowFlagsUserMask may be set or cleared (asserted).
    FlowResult set_flags(FlowHandle handle, uint8_t flags);
    FlowResult clear_flags(FlowHandle handle, uint8_t flags);
    // Ends the flow: removes it from its index and advances the generation,
    // so every handle and token naming it becomes stale.
    FlowResult erase(FlowHandle handle);

    // Visits up to `budget` slots from where the last call stopped (round
    // robin over the slab) and calls on_idle(FlowHandle, const FlowEntry&)
    // -> ExpireDecision for each live, not-closing flow idle past its limit
    // (now - last_activity > idle_limit). Returns how many it reported. The
    // callback may create, erase or touch other flows, but must not erase
    // the one it is given (return kErase instead) and must not call expire().
    template <typename OnIdle>
    size_t expire(Time now, size_t budget, OnIdle&& on_idle);
    // Slots expire() should visit per call, when called every
    // `call_interval`, so that one pass over the slab takes sweep_period.
    size_t sweep_budget(Duration call_interval) const;

    // Calls fn(FlowHandle, const FlowEntry&) for every live flow (stats).
    template <typename Fn>
    void for_each(Fn&& fn) const;

    size_t count() const { return count_; }
    uint32_t count_max() const { return config_.flow_count_max; }
    // Slots whose generation ran out; never reused (see the file comment).
    size_t retired_slot_count() const { return retired_slot_count_; }
    // Slots ever used (live, free or retired): what a sweep pass visits.
    size_t slab_size() const { return entries_.size(); }

    // Sets a free slot's generation, to test generation exhaustion without
    // 4e9 create/erase cycles. The slot must be free (asserted).
    void set_generation_for_test(uint32_t slot, uint32_t generation);

private:
    struct UdpKey {
        Endpoint remote;
        uint16_t local_socket = 0;
        template <typename H>
        friend H AbslHashValue(H h, const UdpKey& k) {
            return H::combine(std::move(h), k.remote, k.local_socket);
        }
    };
    struct UdpIndexHash {
        using is_transparent = void;
        const std::vector<FlowEntry>* entries;
        size_t operator()(uint32_t slot) const;
        size_t operator()(const UdpKey& key) const { return absl::Hash<UdpKey>{}(key); }
    };
    struct UdpIndexEq {
        using is_transparent = void;
        const std::vector<FlowEntry>* entries;
        bool operator()(uint32_t a, uint32_t b) const;
        bool operator()(uint32_t slot, const UdpKey& key) const;
        bool operator()(const UdpKey& key, uint32_t slot) const { return (*this)(slot, key); }
    };
    FlowEntry* live_entry(FlowHandle handle);
    // Takes a free slot (or a new one at the end of the slab) and makes it a
    // live flow with the common fields set. The caller checked capacity.
    uint32_t allocate(Transport transport, Time now, Duration idle_limit);
    static uint32_t to_limit_ms(Duration idle_limit);

    const FlowTableConfig config_;
    // The slab. Reserved for flow_count_max at construction; it only grows
    // past that by the retired slots.
    std::vector<FlowEntry> entries_;
    // Head of the free list threaded through FlowEntry::connection_id; LIFO,
    // so a new flow reuses the most recently freed (cache-warm) slot.
    uint32_t free_head_ = kNoSlot;
    size_t count_ = 0;
    size_t retired_slot_count_ = 0;
    // Next slot expire() visits; < entries_.size() or 0.
    size_t sweep_cursor_ = 0;
    // Live UDP flows, by (remote, local_socket).
    absl::flat_hash_set<uint32_t, UdpIndexHash, UdpIndexEq> udp_index_;
    // Live stream flows, by connection_id: connection_index_[id] is the
    // flow's slot + 1, 0 for none. A plain array because connection ids are
    // small and dense (net/'s connection table indexes, < 20,000): 4 B per
    // id, zero pages until an id is used (calloc'd), no hashing. The hash
    // set it replaces, reserved for the connection cap, touched a random
    // page of its 128 KiB per insert: ~50 B per TCP flow at 2,500 flows per
    // worker (docs/BENCHMARKS.md, memory).
    struct FreeDeleter {
        void operator()(uint32_t* p) const;
    };
    std::unique_ptr<uint32_t[], FreeDeleter> connection_index_;
    // Live stream flows.
    size_t stream_count_ = 0;
};

template <typename OnIdle>
size_t FlowTable::expire(Time now, size_t budget, OnIdle&& on_idle) {
    const int64_t now_ns = to_ns(now.time_since_epoch());
    size_t reported = 0;
    budget = std::min(budget, entries_.size());
    for (size_t visited = 0; visited < budget; ++visited) {
        if (sweep_cursor_ >= entries_.size()) {
            sweep_cursor_ = 0;
        }
        auto slot = static_cast<uint32_t>(sweep_cursor_++);
        FlowEntry& entry = entries_[slot];
        if (!entry.live() || entry.has(kFlowClosing)) {
            continue;
        }
        if (now_ns - entry.last_activity_ns <= int64_t{entry.idle_limit_ms} * 1'000'000) {
            continue;
        }
        ++reported;
        const FlowHandle handle{slot, entry.generation};
        const ExpireDecision decision = on_idle(handle, static_cast<const FlowEntry&>(entry));
        // entries_ may have grown (and moved) if the callback created flows.
        FlowEntry* still = live_entry(handle);
        FE_ASSERT(still != nullptr);  // the callback erased the flow it was given
        switch (decision) {
            case ExpireDecision::kErase: {
                FlowResult erased = erase(handle);
                FE_ASSERT(erased == FlowResult::kOk);
                break;
            }
            case ExpireDecision::kClosing:
                still->flags = static_cast<uint8_t>(still->flags | kFlowClosing);
                break;
            case ExpireDecision::kKeep:
                break;
        }
    }
    return reported;
}

template <typename Fn>
void FlowTable::for_each(Fn&& fn) const {
    for (size_t slot = 0; slot < entries_.size(); ++slot) {
        const FlowEntry& entry = entries_[slot];
        if (entry.live()) {
            fn(FlowHandle{static_cast<uint32_t>(slot), entry.generation}, entry);
        }
    }
}

}  // namespace fe::state
