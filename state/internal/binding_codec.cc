// The compact form of an AOR's bindings (see binding_codec.h for the layout).
#include "state/internal/binding_codec.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>

#include "absl/container/inlined_vector.h"
#include "core/base/assert.h"
#include "state/binding_limits.h"

namespace fe::state::internal {

namespace {

constexpr uint8_t kFlagHasQ = 1u << 0;

constexpr size_t kVarintSizeMax = 10;
// flags and seven varints.
constexpr size_t kFieldsSizeMax = 1 + 7 * kVarintSizeMax;

uint64_t zigzag(int64_t v) {
    return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

int64_t unzigzag(uint64_t v) {
    return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// Writes b's fields (everything before its strings) at `out`, which has
// room for kFieldsSizeMax bytes; returns how many it wrote.
size_t write_fields(char* out, const Binding& b) {
    char* p = out;
    auto varint = [&p](uint64_t v) {
        while (v >= 0x80) {
            *p++ = static_cast<char>(static_cast<uint8_t>(v) | 0x80);
            v >>= 7;
        }
        *p++ = static_cast<char>(v);
    };
    *p++ = static_cast<char>(b.has_q ? kFlagHasQ : 0);
    varint(zigzag(to_ns(b.expires_at.time_since_epoch())));
    varint(zigzag(to_ns(b.expires_at - b.updated_at)));
    varint(b.reg_id);
    varint(b.cseq);
    varint(b.node_id);
    if (b.has_q) {
        varint(b.q_thousandths);
    }
    varint(b.path.size());
    const auto size = static_cast<size_t>(p - out);
    FE_ASSERT(size <= kFieldsSizeMax);
    return size;
}

// Where a string's bytes sit in `out` (after a reference: the bytes it names).
struct Placed {
    size_t pos = 0;
    size_t size = 0;
    // False for the token bytes inside a Path value written in parts: they
    // can be searched, but are not the whole value.
    bool whole = true;
};

// A string's tag is varint (size << 1 | kReferenceBit); a reference's
// distance is never 0 (it points back at least `size` >= 1 bytes), so
// distance 0 marks a Path value written in parts.
constexpr uint64_t kReferenceBit = 1;
constexpr uint64_t kInPartsDistance = 0;

// Where one binding's strings went, by role, for the next binding to refer to.
struct Placement {
    Placed contact, contact_uri, contact_key, instance_key, flow_token, call_id;
    absl::InlinedVector<Placed, 2> path;
};

// Writes through a raw cursor into room made once per binding (push_back
// per byte cost a capacity check each: a third of a refresh's encoding).
class Encoder {
public:
    Encoder(std::string& out, PathParts* parts) : out_(out), parts_(parts), at_(out.size()) {}

    // Cuts `out` to what was written.
    void finish() { out_.resize(at_); }

    void binding(const Binding& b) {
        // Fixed fields, then per string at most a tag, a distance and its bytes.
        size_t room = kFieldsSizeMax;
        for (std::string_view s : {std::string_view(b.contact), std::string_view(b.contact_uri),
                                   std::string_view(b.contact_key), std::string_view(b.instance_key),
                                   std::string_view(b.flow_token), std::string_view(b.call_id)}) {
            room += 2 * kVarintSizeMax + s.size();
        }
        for (const std::string& s : b.path) {
            room += 5 * kVarintSizeMax + s.size();
        }
        out_.resize(at_ + room);
        end_ = at_ + room;
        at_ += write_fields(out_.data() + at_, b);
        const Placement* prev = has_previous_ ? &previous_ : nullptr;
        Placement now;
        now.contact = string(b.contact, {}, prev ? &prev->contact : nullptr);
        // The URI, its canonical key and the +sip.instance are usually
        // inside the Contact value.
        const Placed in_contact[] = {now.contact};
        now.contact_uri = string(b.contact_uri, in_contact, prev ? &prev->contact_uri : nullptr);
        // The key is most often the URI itself.
        const Placed in_uri_or_contact[] = {now.contact_uri, now.contact};
        now.contact_key =
            string(b.contact_key, in_uri_or_contact, prev ? &prev->contact_key : nullptr);
        now.instance_key =
            string(b.instance_key, in_contact, prev ? &prev->instance_key : nullptr);
        for (size_t i = 0; i < b.path.size(); ++i) {
            const bool lined_up = prev != nullptr && i < prev->path.size();
            now.path.push_back(path_value(b.path[i], b.flow_token,
                                          lined_up ? &prev->path[i] : nullptr));
        }
        // Our token is inside our Path value (or a proxy's token in its).
        now.flow_token = string(b.flow_token, now.path, prev ? &prev->flow_token : nullptr);
        now.call_id = string(b.call_id, {}, prev ? &prev->call_id : nullptr);
        previous_ = std::move(now);
        has_previous_ = true;
    }

private:
    // A Path value: as the previous binding's, or, when it holds the flow
    // token, in parts (the text around the token from parts_, then the
    // token), or as string() writes it.
    Placed path_value(std::string_view value, std::string_view token, const Placed* previous) {
        if (value.empty()) {
            return string(value, {}, nullptr);
        }
        if (previous != nullptr && same_as(*previous, value)) {
            const size_t tag_pos = at_;
            return reference(value.size(), previous->pos, tag_pos);
        }
        const size_t at = token.empty() || parts_ == nullptr ? std::string_view::npos
                                                             : value.find(token);
        if (at != std::string_view::npos) {
            const std::optional<uint32_t> prefix = parts_->find_or_add(value.substr(0, at));
            const std::optional<uint32_t> suffix =
                prefix ? parts_->find_or_add(value.substr(at + token.size())) : std::nullopt;
            if (prefix && suffix) {
                put_varint((uint64_t{value.size()} << 1) | kReferenceBit);
                put_varint(kInPartsDistance);
                put_varint(*prefix);
                put_varint(*suffix);
                put_varint(token.size());
                const size_t pos = at_;
                put_bytes(token);
                return Placed{pos, token.size(), /*whole=*/false};
            }
        }
        return string(value, {}, nullptr);
    }

    bool same_as(const Placed& p, std::string_view s) const {
        return p.whole && p.size == s.size() &&
               std::memcmp(out_.data() + p.pos, s.data(), s.size()) == 0;
    }

    void put_bytes(std::string_view s) {
        FE_ASSERT(at_ + s.size() <= end_);
        if (!s.empty()) {
            std::memcpy(out_.data() + at_, s.data(), s.size());
        }
        at_ += s.size();
    }

    // Writes `s` as a reference when it occurs in one of `sources` (strings
    // of this binding already written) or equals `previous` (the same field
    // of the previous binding), otherwise as a literal. Returns where its
    // bytes are. The searches are bounded by the sources' sizes, so encoding
    // stays linear in the AOR's size.
    Placed string(std::string_view s, std::span<const Placed> sources, const Placed* previous) {
        const size_t tag_pos = at_;
        if (s.empty()) {
            put_varint(0);
            return Placed{tag_pos, 0};
        }
        if (previous != nullptr && same_as(*previous, s)) {
            return reference(s.size(), previous->pos, tag_pos);
        }
        for (const Placed& source : sources) {
            if (s.size() > source.size) {
                continue;
            }
            // string_view::find (memchr, then compare) beats glibc's memmem
            // on haystacks this short: memmem's setup dominated a refresh.
            const size_t at = std::string_view(out_.data() + source.pos, source.size).find(s);
            if (at != std::string_view::npos) {
                return reference(s.size(), source.pos + at, tag_pos);
            }
        }
        put_varint(uint64_t{s.size()} << 1);
        const size_t pos = at_;
        put_bytes(s);
        return Placed{pos, s.size()};
    }

    Placed reference(size_t size, size_t pos, size_t tag_pos) {
        FE_ASSERT(pos + size <= tag_pos);
        FE_ASSERT(size >= 1);
        put_varint((uint64_t{size} << 1) | kReferenceBit);
        put_varint(tag_pos - pos);
        return Placed{pos, size};
    }

    void put_varint(uint64_t v) {
        FE_ASSERT(at_ + kVarintSizeMax <= end_);
        char* p = out_.data() + at_;
        while (v >= 0x80) {
            *p++ = static_cast<char>(static_cast<uint8_t>(v) | 0x80);
            v >>= 7;
        }
        *p++ = static_cast<char>(v);
        at_ = static_cast<size_t>(p - out_.data());
    }

    std::string& out_;
    PathParts* parts_;
    // Next byte to write, and the end of the room made for this binding.
    size_t at_ = 0;
    size_t end_ = 0;
    Placement previous_;
    bool has_previous_ = false;
};

class Decoder {
public:
    Decoder(std::string_view bytes, const PathParts* parts) : bytes_(bytes), parts_(parts) {}

    bool done() const { return at_ == bytes_.size(); }

    // Decodes one binding; its fields' place goes to `fields`.
    void binding(Binding& b, FieldsSpan& fields) {
        fields.begin = static_cast<uint32_t>(at_);
        const uint8_t flags = byte();
        FE_ASSERT((flags & ~kFlagHasQ) == 0);
        b.expires_at = time_from_ns(unzigzag(varint()));
        b.updated_at = b.expires_at - Duration(unzigzag(varint()));
        b.reg_id = narrow<uint32_t>(varint());
        b.cseq = narrow<uint32_t>(varint());
        b.node_id = narrow<uint32_t>(varint());
        b.has_q = (flags & kFlagHasQ) != 0;
        b.q_thousandths = b.has_q ? narrow<uint16_t>(varint()) : uint16_t{0};
        const uint64_t path_count = varint();
        FE_ASSERT(path_count <= bytes_.size());
        fields.size = static_cast<uint32_t>(at_ - fields.begin);
        string(b.contact);
        string(b.contact_uri);
        string(b.contact_key);
        string(b.instance_key);
        b.path.resize(path_count);
        for (std::string& value : b.path) {
            string(value);
        }
        string(b.flow_token);
        string(b.call_id);
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

    void string(std::string& out) {
        const size_t tag_pos = at_;
        const uint64_t tag = varint();
        const uint64_t size = tag >> 1;
        if ((tag & kReferenceBit) == 0) {
            FE_ASSERT(size <= bytes_.size() - at_);
            out.assign(bytes_.substr(at_, size));
            at_ += size;
            return;
        }
        const uint64_t distance = varint();
        if (distance != kInPartsDistance) {
            FE_ASSERT(distance <= tag_pos);
            FE_ASSERT(size <= distance);
            out.assign(bytes_.substr(tag_pos - distance, size));
            return;
        }
        FE_ASSERT(parts_ != nullptr);  // Bytes written with parts, read without.
        const std::string_view prefix = parts_->at(narrow<uint32_t>(varint()));
        const std::string_view suffix = parts_->at(narrow<uint32_t>(varint()));
        const uint64_t token_size = varint();
        FE_ASSERT(token_size <= bytes_.size() - at_);
        FE_ASSERT(prefix.size() + token_size + suffix.size() == size);
        out.reserve(size);
        out.assign(prefix);
        out.append(bytes_.substr(at_, token_size));
        out.append(suffix);
        at_ += token_size;
    }

    std::string_view bytes_;
    const PathParts* parts_;
    size_t at_ = 0;
};

}  // namespace

std::optional<uint32_t> PathParts::find_or_add(std::string_view part) {
    for (size_t i = 0; i < parts_.size(); ++i) {
        if (parts_[i] == part) {
            return static_cast<uint32_t>(i);
        }
    }
    if (parts_.size() >= kPathPartCountMax || part.size() > kPathPartSizeMax) {
        return std::nullopt;
    }
    parts_.emplace_back(part);
    return static_cast<uint32_t>(parts_.size() - 1);
}

std::string_view PathParts::at(uint32_t index) const {
    FE_ASSERT(index < parts_.size());
    return parts_[index];
}

void encode_bindings(std::span<const Binding> bindings, std::string& out, PathParts* parts) {
    Encoder encoder(out, parts);
    for (const Binding& b : bindings) {
        encoder.binding(b);
    }
    encoder.finish();
}

size_t decode_bindings(std::string_view bytes, std::string_view aor_key, std::vector<Binding>& out,
                       std::vector<FieldsSpan>* fields, const PathParts* parts) {
    FE_ASSERT(bytes.size() <= UINT32_MAX);
    Decoder decoder(bytes, parts);
    size_t count = 0;
    if (fields != nullptr) {
        fields->clear();
    }
    while (!decoder.done()) {
        if (out.size() <= count) {
            out.emplace_back();
        }
        Binding& b = out[count++];
        b.aor_key.assign(aor_key);
        FieldsSpan span;
        decoder.binding(b, span);
        if (fields != nullptr) {
            fields->push_back(span);
        }
    }
    return count;
}

bool patch_fields(std::span<char> fields, const Binding& b) {
    char buffer[kFieldsSizeMax];
    const size_t size = write_fields(buffer, b);
    if (size != fields.size()) {
        return false;
    }
    std::memcpy(fields.data(), buffer, size);
    return true;
}

}  // namespace fe::state::internal
