// The header table and its compile-time hash index.
#include "core/sip/header_names.h"

#include <array>

#include "core/base/strings.h"

namespace fe::sip {
namespace {

constexpr uint8_t kList = kHeaderFlagCommaList;
constexpr uint8_t kSingle = kHeaderFlagSingleInstance;

// Indexed by HeaderId; the static_assert in build_index() checks the order.
constexpr std::array<HeaderInfo, kHeaderIdCount> kTable = {{
    {"", '\0', 0},
    {"Via", 'v', kList},
    {"From", 'f', kSingle},
    {"To", 't', kSingle},
    {"Call-ID", 'i', kSingle},
    {"CSeq", '\0', kSingle},
    {"Max-Forwards", '\0', kSingle},
    {"Contact", 'm', kList},
    {"Route", '\0', kList},
    {"Record-Route", '\0', kList},
    {"Path", '\0', kList},
    {"Supported", 'k', kList},
    {"Require", '\0', kList},
    {"Proxy-Require", '\0', kList},
    {"Unsupported", '\0', kList},
    {"Flow-Timer", '\0', 0},
    {"Expires", '\0', 0},
    {"Min-Expires", '\0', 0},
    {"Content-Length", 'l', kSingle},
    {"Content-Type", 'c', 0},
    {"Allow", '\0', kList},
    {"Retry-After", '\0', 0},
    {"Event", 'o', 0},
    {"User-Agent", '\0', 0},
    {"Server", '\0', 0},
    {"Subject", 's', 0},
    {"Content-Encoding", 'e', kList},
    {"Refer-To", 'r', 0},
    {"Allow-Events", 'u', kList},
    {"Referred-By", 'b', 0},
    {"Session-Expires", 'x', 0},
    {"Identity", 'y', 0},
    {"Accept-Contact", 'a', kList},
    {"Reject-Contact", 'j', kList},
    {"Request-Disposition", 'd', kList},
    // Credentials and challenges contain commas between auth-params, so they
    // are not split as lists.
    {"Authorization", '\0', 0},
    {"Proxy-Authorization", '\0', 0},
    {"WWW-Authenticate", '\0', 0},
    {"Proxy-Authenticate", '\0', 0},
    {"Timestamp", '\0', 0},
    {"Date", '\0', 0},
    {"Accept", '\0', kList},
    {"Accept-Encoding", '\0', kList},
    {"Accept-Language", '\0', kList},
    {"Content-Disposition", '\0', 0},
    {"Content-Language", '\0', kList},
    {"MIME-Version", '\0', 0},
    {"Warning", '\0', kList},
    {"Error-Info", '\0', kList},
    {"Alert-Info", '\0', kList},
    {"Call-Info", '\0', kList},
    {"In-Reply-To", '\0', kList},
    {"Reply-To", '\0', 0},
    {"Priority", '\0', 0},
    {"Organization", '\0', 0},
    {"RSeq", '\0', 0},
    {"RAck", '\0', 0},
    {"Min-SE", '\0', 0},
    {"Subscription-State", '\0', 0},
    {"P-Asserted-Identity", '\0', kList},
    {"P-Preferred-Identity", '\0', kList},
    {"Reason", '\0', kList},
    {"Security-Client", '\0', kList},
    {"Security-Server", '\0', kList},
    {"Security-Verify", '\0', kList},
}};

// Open addressing over 256 slots (4x the entries, so probes are short);
// a slot holds a HeaderId, 0 (kOther) means empty.
constexpr size_t kSlotCount = 256;

constexpr size_t name_hash(std::string_view name) {
    const auto first = static_cast<unsigned char>(ascii_lower(name.front()));
    const auto last = static_cast<unsigned char>(ascii_lower(name.back()));
    const auto mid = static_cast<unsigned char>(ascii_lower(name[name.size() / 2]));
    return (name.size() * 41 + first * 7 + mid * 3 + last) & (kSlotCount - 1);
}

struct Index {
    std::array<uint8_t, kSlotCount> slots{};
    std::array<uint8_t, 26> compact{};
    size_t probe_count_max = 0;
};

constexpr Index build_index() {
    Index index;
    for (size_t id = 1; id < kHeaderIdCount; ++id) {
        const HeaderInfo& info = kTable[id];
        size_t slot = name_hash(info.full_name);
        size_t probe_count = 1;
        while (index.slots[slot] != 0) {
            slot = (slot + 1) & (kSlotCount - 1);
            ++probe_count;
        }
        index.slots[slot] = static_cast<uint8_t>(id);
        if (probe_count > index.probe_count_max) {
            index.probe_count_max = probe_count;
        }
        if (info.compact_name != '\0') {
            index.compact[static_cast<size_t>(info.compact_name - 'a')] = static_cast<uint8_t>(id);
        }
    }
    return index;
}

constexpr Index kIndex = build_index();

static_assert(kIndex.probe_count_max <= 3, "header hash clusters; change name_hash()");
static_assert(kTable[static_cast<size_t>(HeaderId::kVia)].full_name == "Via");
static_assert(kTable[static_cast<size_t>(HeaderId::kContentLength)].full_name == "Content-Length");
static_assert(kTable[static_cast<size_t>(HeaderId::kSecurityVerify)].full_name == "Security-Verify");
static_assert(kTable[static_cast<size_t>(HeaderId::kPath)].full_name == "Path");

}  // namespace

const HeaderInfo& header_info(HeaderId id) {
    return kTable[static_cast<size_t>(id)];
}

HeaderId lookup_header(std::string_view name) {
    if (name.size() == 1) {
        const char c = ascii_lower(name[0]);
        if (c < 'a' || c > 'z') {
            return HeaderId::kOther;
        }
        return static_cast<HeaderId>(kIndex.compact[static_cast<size_t>(c - 'a')]);
    }
    if (name.empty()) {
        return HeaderId::kOther;
    }
    size_t slot = name_hash(name);
    for (;;) {
        const uint8_t id = kIndex.slots[slot];
        if (id == 0) {
            return HeaderId::kOther;
        }
        if (equals_ignore_case(kTable[id].full_name, name)) {
            return static_cast<HeaderId>(id);
        }
        slot = (slot + 1) & (kSlotCount - 1);
    }
}

}  // namespace fe::sip
