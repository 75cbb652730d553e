// File: state/internal/redis_codec.h
//
// Keys and binding records of the Redis store (state/redis_store.h): how a
// binding is laid out in Redis, written by C++ and read by both C++ and the
// Lua scripts (state/internal/redis_scripts.cc). Pure: no hiredis here.
//
//   std::string key;
//   append_aor_key(key, "fe", "sip:alice@example.com");   // fe:{sip:alice@example.com}:b
//   std::string record;
//   append_binding_record(record, update, binding_update, {.expires_ms = e, .now_ms = n});
//   Binding b; uint64_t seq;
//   if (decode_binding_record(stored, offset, b, seq) != RecordError::kOk) { ...count... }
//
// Keys (hash tags in braces, so Redis Cluster keeps each in one slot):
//
//   <prefix>:{<aor>}:b          HASH   field = binding key, value = binding record.
//                                      PEXPIREAT = the latest expiry of its bindings.
//   <prefix>:{tok:<token>}:a    SET    members = AORs with a binding over flow <token>
//                                      (the forget_flow index). PEXPIREAT = the latest
//                                      expiry among the bindings it was updated for.
//
// Binding key (the hash field), RFC 5626 §6 / RFC 3261 §10.3:
//
//   outbound (reg_id != 0)   "o:" <reg_id, decimal> ":" <instance_key>
//   plain    (reg_id == 0)   "p:" <contact_key>
//
// Binding record (the hash value): netstrings "<length, decimal>:<bytes>" back
// to back, no separator, in this order:
//
//   index  field          bytes                           written by
//   0      seq            decimal, insertion order in AOR the apply script (prepended)
//   1      expires_ms     decimal wall-clock ms, Unix     C++
//   2      cseq           decimal uint32                  C++
//   3      call_id        as received                     C++
//   4      flow_token     as minted, may be empty         C++
//   5      instance_key   may be empty                    C++
//   6      reg_id         decimal uint32                  C++
//   7      contact_key                                    C++
//   8      contact        whole Contact value             C++
//   9      contact_uri                                    C++
//   10     q              "" (none) or thousandths        C++
//   11     updated_ms     decimal wall-clock ms, Unix     C++
//   12     node_id        decimal uint32                  C++
//   13..   path           zero or more, topmost first     C++
//
//   e.g. "1:7" "13:1700000003600" "1:5" "2:c1" "4:TOK1" ... "0:" ...
//
// Fields 0-4 come first and in fixed places so the scripts read expiry,
// Call-ID/CSeq ordering and the flow without parsing the rest. Times are wall
// clock because Redis and every node must agree on them (fe::Time is each
// node's own monotonic clock): wall_ms = (now + wall_clock_offset) / 1 ms.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/time.h"
#include "state/binding_store.h"

namespace fe::state::internal {

// The hash key of an AOR's bindings.
void append_aor_key(std::string& out, std::string_view prefix, std::string_view aor_key);
// The set key of a flow token's AORs.
void append_token_key(std::string& out, std::string_view prefix, std::string_view flow_token);
// The hash field of a binding (its key within the AOR).
void append_binding_field(std::string& out, const BindingUpdate& update);

void append_netstring(std::string& out, std::string_view value);
void append_netstring(std::string& out, uint64_t value);
// Decimal, as Redis and Lua read numbers.
void append_decimal(std::string& out, uint64_t value);

// Wall-clock milliseconds of a monotonic time, and back. Rounds down.
int64_t wall_ms(Time t, Duration wall_clock_offset);
Time time_from_wall_ms(int64_t ms, Duration wall_clock_offset);

struct RecordTimes {
    int64_t expires_ms = 0;
    int64_t now_ms = 0;  // becomes updated_ms (OB-REG-19)
};
// Fields 1.. of a record (the script prepends seq).
void append_binding_record(std::string& out, const RegisterUpdate& update,
                           const BindingUpdate& binding, RecordTimes times);

enum class [[nodiscard]] RecordError : uint8_t {
    kOk = 0,
    kBadLength,     // a netstring length is not decimal, or has no ':'
    kTruncated,     // a netstring runs past the record's end
    kMissingField,  // the record ends before field 12
    kBadNumber,     // a numeric field is not a decimal that fits
    kTooManyPaths,  // more than kRedisRecordPathCountMax path values
};
std::string_view record_error_name(RecordError e);

// Decodes a stored record (with seq) into `out`, reusing its strings'
// storage. out.aor_key is left alone (the record does not hold it).
RecordError decode_binding_record(std::string_view record, Duration wall_clock_offset,
                                  Binding& out, uint64_t& seq);

}  // namespace fe::state::internal
