// File: state/internal/redis_scripts.h
//
// The Lua scripts of the Redis store (state/redis_store.h). Each runs
// atomically inside Redis; the store sends EVALSHA with the SHA-1 computed
// here, loads both with SCRIPT LOAD at connect, and falls back to EVAL on a
// NOSCRIPT answer (a Redis that restarted, failed over, or ran SCRIPT FLUSH).
//
//   const RedisScript& s = apply_script();
//   argv = {"EVALSHA", s.sha1_hex, "1", aor_hash_key, ...};   // see the .cc for ARGV
//
// Keys and records are laid out as state/internal/redis_codec.h draws them.
#pragma once

#include <string_view>

namespace fe::state::internal {

struct RedisScript {
    std::string_view source;
    std::string_view sha1_hex;  // 40 lower-case hex digits, as Redis names scripts
};

// One REGISTER's change to one AOR. KEYS[1]: the AOR hash. ARGV: prefix, AOR,
// now_ms, Call-ID, CSeq, remove_all ("1"/"0"), flow token, binding limit, then
// per binding: action ("u" upsert / "r" remove), hash field, record (fields
// 1.. for "u", empty for "r"). Returns {status, record...} where status is
// "ok", "order" (RFC 3261 §10.3 steps 6-7) or "limit", and the records (with
// seq) are the AOR's bindings after the change, only with "ok".
const RedisScript& apply_script();

// forget_flow, one batch. KEYS[1]: the token's AOR set. ARGV: prefix, flow
// token, batch size. Pops up to `batch size` AORs off the set (SPOP, so
// Redis >= 5, which replicates a script's effects) and removes their
// bindings over the token; Redis deletes the set with its last member.
// Returns {bindings removed, AORs left in the set}: the store runs it again
// while AORs are left, so no single script holds Redis for long.
const RedisScript& forget_script();

}  // namespace fe::state::internal
