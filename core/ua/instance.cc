#include "core/ua/instance.h"

#include "core/ua/random.h"

namespace fe::ua {

InstanceId make_instance_id(uint64_t identity_seed, uint64_t ua_index) {
    // Two splitmix64 outputs of a state that mixes both inputs. For one seed
    // the multiplication by an odd constant is a bijection, so distinct
    // indexes start from distinct states.
    uint64_t state = identity_seed ^ (ua_index * 0x9FB21C651E98DF25ull);
    InstanceId id;
    for (int half = 0; half < 2; ++half) {
        uint64_t word = splitmix64(state);
        for (int i = 0; i < 8; ++i) {
            id.bytes[static_cast<size_t>(half * 8 + i)] = static_cast<uint8_t>(word >> (56 - 8 * i));
        }
    }
    id.bytes[6] = static_cast<uint8_t>((id.bytes[6] & 0x0F) | 0x40);  // version 4
    id.bytes[8] = static_cast<uint8_t>((id.bytes[8] & 0x3F) | 0x80);  // variant 10xx

    constexpr std::string_view kPrefix = "urn:uuid:";
    constexpr char kHex[] = "0123456789abcdef";
    size_t out = 0;
    for (char c : kPrefix) {
        id.text[out++] = c;
    }
    for (size_t i = 0; i < id.bytes.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            id.text[out++] = '-';
        }
        id.text[out++] = kHex[id.bytes[i] >> 4];
        id.text[out++] = kHex[id.bytes[i] & 0xF];
    }
    return id;
}

}  // namespace fe::ua
