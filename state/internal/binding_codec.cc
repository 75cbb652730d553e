// The compact form of an AOR's bindings (see binding_codec.h for the layout).
#include "state/internal/binding_codec.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <string.h>  // memmem (GNU)

#include "absl/container/inlined_vector.h"
#include "core/base/assert.h"

namespace fe::state::internal {

namespace {

constexpr uint8_t kFlagHasQ = 1u << 0;

void put_varint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>(static_cast<uint8_t>(v) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}

uint64_t zigzag(int64_t v) {
    return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

int64_t unzigzag(uint64_t v) {
    return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// Where a string's bytes sit in `out` (after a reference: the bytes it names).
struct Placed {
    size_t pos = 0;
    size_t size = 0;
};

// Where one binding's strings went, by role, for the next binding to refer to.
struct Placement {
    Placed contact, contact_uri, contact_key, instance_key, flow_token, call_id;
    absl::InlinedVector<Placed, 2> path;
};

class Encoder {
public:
    explicit Encoder(std::string& out) : out_(out) {}

    void binding(const Binding& b) {
        start_ = out_.size();
        out_.push_back(static_cast<char>(b.has_q ? kFlagHasQ : 0));
        const auto expires_raw = static_cast<uint64_t>(to_ns(b.expires_at.time_since_epoch()));
        char raw[8];
        for (size_t i = 0; i < 8; ++i) {
            raw[i] = static_cast<char>(static_cast<uint8_t>(expires_raw >> (8 * i)));
        }
        out_.append(raw, sizeof(raw));
        put_varint(out_, zigzag(to_ns(b.expires_at - b.updated_at)));
        put_varint(out_, b.reg_id);
        put_varint(out_, b.cseq);
        put_varint(out_, b.node_id);
        if (b.has_q) {
            put_varint(out_, b.q_thousandths);
        }
        put_varint(out_, b.path.size());
        const Placement* prev = has_previous_ ? &previous_ : nullptr;
        Placement now;
        now.contact = string(b.contact, prev ? &prev->contact : nullptr);
        now.contact_uri = string(b.contact_uri, prev ? &prev->contact_uri : nullptr);
        now.contact_key = string(b.contact_key, prev ? &prev->contact_key : nullptr);
        now.instance_key = string(b.instance_key, prev ? &prev->instance_key : nullptr);
        for (size_t i = 0; i < b.path.size(); ++i) {
            const bool lined_up = prev != nullptr && i < prev->path.size();
            now.path.push_back(string(b.path[i], lined_up ? &prev->path[i] : nullptr));
        }
        now.flow_token = string(b.flow_token, prev ? &prev->flow_token : nullptr);
        now.call_id = string(b.call_id, prev ? &prev->call_id : nullptr);
        previous_ = std::move(now);
        has_previous_ = true;
    }

private:
    // Writes `s` as a reference when it occurs in this binding's bytes so
    // far or equals `previous` (the same field of the previous binding),
    // otherwise as a literal. Returns where its bytes are.
    Placed string(std::string_view s, const Placed* previous) {
        const size_t tag_pos = out_.size();
        if (s.empty()) {
            put_varint(out_, 0);
            return Placed{tag_pos, 0};
        }
        const size_t own = tag_pos - start_;
        if (s.size() <= own) {
            const void* hit = memmem(out_.data() + start_, own, s.data(), s.size());
            if (hit != nullptr) {
                const auto pos = static_cast<size_t>(static_cast<const char*>(hit) - out_.data());
                return reference(s.size(), pos, tag_pos);
            }
        }
        if (previous != nullptr && previous->size == s.size() &&
            std::memcmp(out_.data() + previous->pos, s.data(), s.size()) == 0) {
            return reference(s.size(), previous->pos, tag_pos);
        }
        put_varint(out_, uint64_t{s.size()} << 1);
        const size_t pos = out_.size();
        out_.append(s);
        return Placed{pos, s.size()};
    }

    Placed reference(size_t size, size_t pos, size_t tag_pos) {
        FE_ASSERT(pos + size <= tag_pos);
        put_varint(out_, (uint64_t{size} << 1) | 1);
        put_varint(out_, tag_pos - pos);
        return Placed{pos, size};
    }

    std::string& out_;
    // Where the binding being written starts in out_.
    size_t start_ = 0;
    Placement previous_;
    bool has_previous_ = false;
};

class Decoder {
public:
    explicit Decoder(std::string_view bytes) : bytes_(bytes) {}

    bool done() const { return at_ == bytes_.size(); }

    void binding(Binding& b) {
        const uint8_t flags = byte();
        FE_ASSERT((flags & ~kFlagHasQ) == 0);
        FE_ASSERT(at_ + 8 <= bytes_.size());
        uint64_t expires_raw = 0;
        for (size_t i = 0; i < 8; ++i) {
            expires_raw |= uint64_t{static_cast<uint8_t>(bytes_[at_ + i])} << (8 * i);
        }
        at_ += 8;
        b.expires_at = time_from_ns(static_cast<int64_t>(expires_raw));
        b.updated_at = b.expires_at - Duration(unzigzag(varint()));
        b.reg_id = narrow<uint32_t>(varint());
        b.cseq = narrow<uint32_t>(varint());
        b.node_id = narrow<uint32_t>(varint());
        b.has_q = (flags & kFlagHasQ) != 0;
        b.q_thousandths = b.has_q ? narrow<uint16_t>(varint()) : uint16_t{0};
        const uint64_t path_count = varint();
        FE_ASSERT(path_count <= bytes_.size());
        b.contact.assign(string());
        b.contact_uri.assign(string());
        b.contact_key.assign(string());
        b.instance_key.assign(string());
        b.path.resize(path_count);
        for (std::string& value : b.path) {
            value.assign(string());
        }
        b.flow_token.assign(string());
        b.call_id.assign(string());
    }

private:
    uint8_t byte() {
        FE_ASSERT(at_ < bytes_.size());
        return static_cast<uint8_t>(bytes_[at_++]);
    }

    uint64_t varint() {
        uint64_t v = 0;
        for (unsigned shift = 0;; shift += 7) {
            FE_ASSERT(shift < 64);
            const uint8_t b = byte();
            v |= uint64_t{b & 0x7fu} << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
    }

    template <typename T>
    static T narrow(uint64_t v) {
        FE_ASSERT(v <= std::numeric_limits<T>::max());
        return static_cast<T>(v);
    }

    std::string_view string() {
        const size_t tag_pos = at_;
        const uint64_t tag = varint();
        const uint64_t size = tag >> 1;
        if ((tag & 1) == 0) {
            FE_ASSERT(size <= bytes_.size() - at_);
            std::string_view s = bytes_.substr(at_, size);
            at_ += size;
            return s;
        }
        const uint64_t distance = varint();
        FE_ASSERT(distance <= tag_pos);
        FE_ASSERT(size <= distance);
        return bytes_.substr(tag_pos - distance, size);
    }

    std::string_view bytes_;
    size_t at_ = 0;
};

}  // namespace

void encode_bindings(std::span<const Binding> bindings, std::string& out) {
    Encoder encoder(out);
    for (const Binding& b : bindings) {
        encoder.binding(b);
    }
}

size_t decode_bindings(std::string_view bytes, std::string_view aor_key, std::vector<Binding>& out) {
    Decoder decoder(bytes);
    size_t count = 0;
    while (!decoder.done()) {
        if (out.size() <= count) {
            out.emplace_back();
        }
        Binding& b = out[count++];
        b.aor_key.assign(aor_key);
        decoder.binding(b);
    }
    return count;
}

}  // namespace fe::state::internal
