#include "core/outbound/branch_id.h"

#include "core/base/assert.h"

namespace fe::outbound {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr size_t kLoopDigitCount = 16;
constexpr size_t kStatelessHashDigitCount = 16;
constexpr size_t kWorkerDigitCount = 2;
constexpr size_t kProxyHashDigitCount = 11;
constexpr size_t kSlotDigitCount = 4;
constexpr size_t kIndexDigitCount = 1;
constexpr size_t kStatelessSize =
    kOurBranchPrefix.size() + 1 + kStatelessHashDigitCount + kLoopDigitCount;
constexpr size_t kProxySize = kOurBranchPrefix.size() + 1 + kWorkerDigitCount +
                              kProxyHashDigitCount + kSlotDigitCount + kIndexDigitCount +
                              kLoopDigitCount;
static_assert(kStatelessSize <= kOurBranchSizeMax);
static_assert(kProxySize <= kOurBranchSizeMax);
static_assert(kProxyBranchHashMask == (uint64_t{1} << (4 * kProxyHashDigitCount)) - 1);
static_assert(kProxyBranchSlotCountMax == 1u << (4 * kSlotDigitCount));
// Every slot a uint16_t can hold fits its digits, so write_branch_id() needs
// no check on it.
static_assert(kProxyBranchSlotCountMax == uint32_t{UINT16_MAX} + 1);
static_assert(kProxyBranchIndexCountMax == 1u << (4 * kIndexDigitCount));

class HexWriter {
  public:
    explicit HexWriter(BranchId& id) : id_(id) {}
    void put(std::string_view text) {
        for (char c : text) {
            id_.bytes[id_.size++] = c;
        }
    }
    void put_hex(uint64_t value, size_t digit_count) {
        for (size_t i = 0; i < digit_count; ++i) {
            id_.bytes[id_.size++] = kHex[(value >> (4 * (digit_count - 1 - i))) & 0xf];
        }
    }

  private:
    BranchId& id_;
};

// Reads `digit_count` lower-case hex digits off the front of `text`.
std::optional<uint64_t> take_hex(std::string_view& text, size_t digit_count) {
    if (text.size() < digit_count) {
        return std::nullopt;
    }
    uint64_t value = 0;
    for (size_t i = 0; i < digit_count; ++i) {
        const char c = text[i];
        uint64_t digit = 0;
        if (c >= '0' && c <= '9') {
            digit = static_cast<uint64_t>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            digit = static_cast<uint64_t>(c - 'a' + 10);
        } else {
            return std::nullopt;
        }
        value = (value << 4) | digit;
    }
    text.remove_prefix(digit_count);
    return value;
}

char kind_letter(BranchKind kind) {
    switch (kind) {
        case BranchKind::kStateless: return 's';
        case BranchKind::kStatelessRegister: return 'r';
        case BranchKind::kProxy: return 'p';
    }
    return 's';
}

}  // namespace

BranchId write_branch_id(const BranchFields& f) {
    BranchId id;
    HexWriter w(id);
    w.put(kOurBranchPrefix);
    const char kind = kind_letter(f.kind);
    w.put(std::string_view(&kind, 1));
    if (f.kind == BranchKind::kProxy) {
        FE_ASSERT(f.branch_index < kProxyBranchIndexCountMax);
        w.put_hex(f.worker_index, kWorkerDigitCount);
        w.put_hex(f.hash & kProxyBranchHashMask, kProxyHashDigitCount);
        w.put_hex(f.slot, kSlotDigitCount);
        w.put_hex(f.branch_index, kIndexDigitCount);
    } else {
        w.put_hex(f.hash, kStatelessHashDigitCount);
    }
    w.put_hex(f.loop, kLoopDigitCount);
    FE_ASSERT(id.size == (f.kind == BranchKind::kProxy ? kProxySize : kStatelessSize));
    return id;
}

std::optional<BranchFields> read_branch_id(std::string_view branch) {
    if (!branch.starts_with(kOurBranchPrefix) || branch.size() <= kOurBranchPrefix.size()) {
        return std::nullopt;
    }
    std::string_view rest = branch.substr(kOurBranchPrefix.size() + 1);
    BranchFields f;
    switch (branch[kOurBranchPrefix.size()]) {
        case 's': f.kind = BranchKind::kStateless; break;
        case 'r': f.kind = BranchKind::kStatelessRegister; break;
        case 'p': f.kind = BranchKind::kProxy; break;
        default: return std::nullopt;
    }
    if (f.kind == BranchKind::kProxy) {
        const auto worker = take_hex(rest, kWorkerDigitCount);
        const auto hash = take_hex(rest, kProxyHashDigitCount);
        const auto slot = take_hex(rest, kSlotDigitCount);
        const auto index = take_hex(rest, kIndexDigitCount);
        if (!worker || !hash || !slot || !index) {
            return std::nullopt;
        }
        f.worker_index = static_cast<uint8_t>(*worker);
        f.hash = *hash;
        f.slot = static_cast<uint16_t>(*slot);
        f.branch_index = static_cast<uint8_t>(*index);
    } else {
        const auto hash = take_hex(rest, kStatelessHashDigitCount);
        if (!hash) {
            return std::nullopt;
        }
        f.hash = *hash;
    }
    const auto loop = take_hex(rest, kLoopDigitCount);
    if (!loop || !rest.empty()) {
        return std::nullopt;
    }
    f.loop = *loop;
    return f;
}

}  // namespace fe::outbound
