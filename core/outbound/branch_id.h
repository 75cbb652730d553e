// File: core/outbound/branch_id.h
//
// The one codec for the Via branch values this node writes (RFC 3261 §8.1.1.7,
// §16.6 step 8, §16.11). Two kinds:
//   - stateless: a request the edge forwarded without keeping state (to a
//     flow, to the next hop, to a Request-URI). Derived from the request
//     alone, so a retransmission maps to the same branch (§16.11).
//   - proxy: a branch of a call the home proxy holds. Names the worker whose
//     proxy holds the call, the call's slot and the branch index, so that a
//     response arriving on any worker finds the call in O(1).
// Both end in the loop hash of the request as received (§16.3 step 4), so a
// request that comes back unchanged is recognised as a loop (detect_loop()).
//
// Wire format (lower-case hex digits):
//
//   z9hG4bK-fe  K  fields                                         loop
//   10 bytes    1  stateless ('s', or 'r' for a REGISTER this     16 hex
//                  node forwarded as the UA's first hop):
//                  hash 16 hex
//                  proxy ('p'): worker 2 hex, hash 11 hex,
//                  slot 4 hex, branch index 1 hex
//
//   stateless: 10 + 1 + 16 + 16 = 43 bytes; proxy: 10 + 1 + 18 + 16 = 45 bytes.
//
// The proxy's slot has 4 hex digits so that a worker can hold up to 65,536
// calls (cluster/proxy_limits.h); the hash keeps its 44 bits, which is what
// proves a response belongs to the slot's current call.
//
// The 'r' kind carries one bit the edge needs when the REGISTER's response
// comes back: it was the UA's first hop, so it (and only it) adds Flow-Timer
// and shortens the flow's idle limit (RFC 5626 §5.4).
//
//   fe::outbound::BranchFields f{.kind = BranchKind::kProxy, .worker_index = 1,
//                                .hash = h, .slot = 7, .branch_index = 0,
//                                .loop = fe::outbound::loop_hash(request)};
//   fe::outbound::BranchId id = fe::outbound::write_branch_id(f);
//   ... a response's top Via branch:
//   if (auto back = fe::outbound::read_branch_id(via.branch)) { route by back->kind ... }
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace fe::outbound {

inline constexpr std::string_view kOurBranchPrefix = "z9hG4bK-fe";

// The longest branch write_branch_id() writes (the proxy kind is 45).
inline constexpr size_t kOurBranchSizeMax = 48;

enum class BranchKind : uint8_t {
    kStateless,          // 's'
    kStatelessRegister,  // 'r': a REGISTER forwarded by the UA's first hop
    kProxy,              // 'p'
};

struct BranchFields {
    BranchKind kind = BranchKind::kStateless;
    // kProxy only.
    uint8_t worker_index = 0;
    uint16_t slot = 0;          // < 65536 (4 hex digits)
    uint8_t branch_index = 0;   // < 16 (1 hex digit)
    // kProxy: the low 44 bits are kept; stateless: all 64.
    uint64_t hash = 0;
    uint64_t loop = 0;

    friend bool operator==(const BranchFields&, const BranchFields&) = default;
};

inline constexpr uint64_t kProxyBranchHashMask = (uint64_t{1} << 44) - 1;
inline constexpr uint32_t kProxyBranchSlotCountMax = 65536;
inline constexpr uint32_t kProxyBranchIndexCountMax = 16;

// A branch value, held inline.
struct BranchId {
    std::array<char, kOurBranchSizeMax> bytes{};
    uint8_t size = 0;

    std::string_view view() const { return std::string_view(bytes.data(), size); }
};

// Asserts the fields fit (the branch index; any uint16_t slot fits).
BranchId write_branch_id(const BranchFields& fields);

// The fields of one of our branch values; nullopt for anything else
// (another element's branch, a malformed or truncated one of ours).
std::optional<BranchFields> read_branch_id(std::string_view branch);

}  // namespace fe::outbound
