// Keys and binding records of the Redis store; the layout is drawn in the header.
#include "state/internal/redis_codec.h"

#include <charconv>

#include "core/base/assert.h"
#include "core/base/strings.h"
#include "state/redis_limits.h"

namespace fe::state::internal {

namespace {

// Reads netstrings one after another from a record.
class NetstringReader {
public:
    explicit NetstringReader(std::string_view record) : rest_(record) {}

    bool at_end() const { return rest_.empty(); }

    RecordError next(std::string_view& field) {
        if (rest_.empty()) {
            return RecordError::kMissingField;
        }
        const size_t colon = rest_.find(':');
        // A uint32 length has at most 10 digits; more is not ours.
        if (colon == std::string_view::npos || colon == 0 || colon > 10) {
            return RecordError::kBadLength;
        }
        const std::optional<uint32_t> size = parse_u32(rest_.substr(0, colon));
        if (!size) {
            return RecordError::kBadLength;
        }
        if (*size > rest_.size() - colon - 1) {
            return RecordError::kTruncated;
        }
        field = rest_.substr(colon + 1, *size);
        rest_.remove_prefix(colon + 1 + *size);
        return RecordError::kOk;
    }

    RecordError next_string(std::string& out) {
        std::string_view field;
        const RecordError e = next(field);
        if (e == RecordError::kOk) {
            out.assign(field);
        }
        return e;
    }

    RecordError next_u64(uint64_t& out) {
        std::string_view field;
        const RecordError e = next(field);
        if (e != RecordError::kOk) {
            return e;
        }
        const std::optional<uint64_t> value = parse_u64(field);
        if (!value) {
            return RecordError::kBadNumber;
        }
        out = *value;
        return RecordError::kOk;
    }

    RecordError next_u32(uint32_t& out) {
        uint64_t value = 0;
        const RecordError e = next_u64(value);
        if (e == RecordError::kOk && value > UINT32_MAX) {
            return RecordError::kBadNumber;
        }
        out = static_cast<uint32_t>(value);
        return e;
    }

private:
    std::string_view rest_;
};

// Wall-clock milliseconds fit int64 for 292 million years; a larger value in
// a record is not ours.
constexpr uint64_t kWallMsMax = static_cast<uint64_t>(INT64_MAX) / 1'000'000;

}  // namespace

void append_decimal(std::string& out, uint64_t value) {
    char digits[20];
    const auto [end, error] = std::to_chars(digits, digits + sizeof(digits), value);
    FE_ASSERT(error == std::errc());
    out.append(digits, static_cast<size_t>(end - digits));
}

void append_netstring(std::string& out, std::string_view value) {
    FE_ASSERT(value.size() <= UINT32_MAX);
    append_decimal(out, value.size());
    out.push_back(':');
    out.append(value);
}

void append_netstring(std::string& out, uint64_t value) {
    char digits[20];
    const auto [end, error] = std::to_chars(digits, digits + sizeof(digits), value);
    FE_ASSERT(error == std::errc());
    append_netstring(out, std::string_view(digits, static_cast<size_t>(end - digits)));
}

void append_aor_key(std::string& out, std::string_view prefix, std::string_view aor_key) {
    out.append(prefix);
    out.append(":{");
    out.append(aor_key);
    out.append("}:b");
}

void append_token_key(std::string& out, std::string_view prefix, std::string_view flow_token) {
    out.append(prefix);
    out.append(":{tok:");
    out.append(flow_token);
    out.append("}:a");
}

void append_binding_field(std::string& out, const BindingUpdate& update) {
    // Same rule as the embedded store's same_key(): an outbound binding is
    // (instance, reg-id) and never matches a plain one (OB-REG-10, OB-REG-13).
    if (update.reg_id != 0) {
        out.append("o:");
        append_decimal(out, update.reg_id);
        out.push_back(':');
        out.append(update.instance_key);
        return;
    }
    out.append("p:");
    out.append(update.contact_key);
}

int64_t wall_ms(Time t, Duration wall_clock_offset) {
    const int64_t ns = to_ns(t.time_since_epoch() + wall_clock_offset);
    // Round toward minus infinity so times before the epoch stay ordered.
    return ns >= 0 ? ns / 1'000'000 : -((-ns + 999'999) / 1'000'000);
}

Time time_from_wall_ms(int64_t ms, Duration wall_clock_offset) {
    return Time(milliseconds(ms) - wall_clock_offset);
}

void append_binding_record(std::string& out, const RegisterUpdate& update,
                           const BindingUpdate& binding, RecordTimes times) {
    FE_ASSERT(times.expires_ms >= 0);
    FE_ASSERT(times.now_ms >= 0);
    append_netstring(out, static_cast<uint64_t>(times.expires_ms));
    append_netstring(out, update.cseq);
    append_netstring(out, update.call_id);
    append_netstring(out, update.flow_token);
    append_netstring(out, binding.instance_key);
    append_netstring(out, binding.reg_id);
    append_netstring(out, binding.contact_key);
    append_netstring(out, binding.contact);
    append_netstring(out, binding.contact_uri);
    if (binding.has_q) {
        append_netstring(out, binding.q_thousandths);
    } else {
        append_netstring(out, std::string_view());
    }
    append_netstring(out, static_cast<uint64_t>(times.now_ms));
    append_netstring(out, update.node_id);
    for (std::string_view path : update.path) {
        append_netstring(out, path);
    }
}

std::string_view record_error_name(RecordError e) {
    switch (e) {
        case RecordError::kOk: return "ok";
        case RecordError::kBadLength: return "bad netstring length";
        case RecordError::kTruncated: return "truncated netstring";
        case RecordError::kMissingField: return "missing field";
        case RecordError::kBadNumber: return "bad number";
        case RecordError::kTooManyPaths: return "too many path values";
    }
    return "unknown";
}

// Reads fields 0..12 in order; the first failure is the result.
RecordError decode_binding_record(std::string_view record, Duration wall_clock_offset,
                                  Binding& out, uint64_t& seq) {
    NetstringReader reader(record);
    uint64_t expires_ms = 0;
    uint64_t updated_ms = 0;
    std::string_view q;
    RecordError e = reader.next_u64(seq);
    e = e != RecordError::kOk ? e : reader.next_u64(expires_ms);
    e = e != RecordError::kOk ? e : reader.next_u32(out.cseq);
    e = e != RecordError::kOk ? e : reader.next_string(out.call_id);
    e = e != RecordError::kOk ? e : reader.next_string(out.flow_token);
    e = e != RecordError::kOk ? e : reader.next_string(out.instance_key);
    e = e != RecordError::kOk ? e : reader.next_u32(out.reg_id);
    e = e != RecordError::kOk ? e : reader.next_string(out.contact_key);
    e = e != RecordError::kOk ? e : reader.next_string(out.contact);
    e = e != RecordError::kOk ? e : reader.next_string(out.contact_uri);
    e = e != RecordError::kOk ? e : reader.next(q);
    e = e != RecordError::kOk ? e : reader.next_u64(updated_ms);
    e = e != RecordError::kOk ? e : reader.next_u32(out.node_id);
    if (e != RecordError::kOk) {
        return e;
    }
    if (expires_ms > kWallMsMax || updated_ms > kWallMsMax) {
        return RecordError::kBadNumber;
    }
    out.has_q = !q.empty();
    out.q_thousandths = 0;
    if (out.has_q) {
        const std::optional<uint32_t> value = parse_u32(q, 1000);
        if (!value) {
            return RecordError::kBadNumber;
        }
        out.q_thousandths = static_cast<uint16_t>(*value);
    }
    out.expires_at = time_from_wall_ms(static_cast<int64_t>(expires_ms), wall_clock_offset);
    out.updated_at = time_from_wall_ms(static_cast<int64_t>(updated_ms), wall_clock_offset);
    size_t path_count = 0;
    while (!reader.at_end()) {
        if (path_count == kRedisRecordPathCountMax) {
            return RecordError::kTooManyPaths;
        }
        if (out.path.size() <= path_count) {
            out.path.emplace_back();
        }
        e = reader.next_string(out.path[path_count]);
        if (e != RecordError::kOk) {
            return e;
        }
        ++path_count;
    }
    out.path.resize(path_count);  // Shrinking keeps no storage we would reuse.
    return RecordError::kOk;
}

}  // namespace fe::state::internal
