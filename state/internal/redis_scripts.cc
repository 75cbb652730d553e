// The Lua scripts of the Redis store and their SHA-1 names.
//
// Semantics match the embedded store (state/embedded_store.cc) step for step:
// purge the AOR's expired bindings, check every update (Call-ID/CSeq order,
// then the binding limit, which an AOR already above it may still shrink
// under), and only then change anything, so a REGISTER applies whole or not
// at all. The flow-token index is kept by the same script, so "an AOR is in
// token T's set whenever one of its bindings has flow T" holds after every
// script, as the embedded store's invariant does.
//
// Cost: the apply script reads one AOR (at most its binding limit of
// records) and adds or removes that AOR in a token set, O(1) whatever the
// token carries (Redis 7 keeps a set of strings as a hash table; 7.2 and
// later as a listpack scanned linearly up to 128 members, then a hash table).
// The forget script visits at most its batch of AORs per run.
//
// Redis Cluster: the apply script declares only the AOR hash; it also writes
// the token sets of the new flow and of flows its bindings left, and the
// forget script writes the AOR hashes its set lists. Those keys are in other
// hash slots, which standalone Redis and Sentinel accept and Cluster refuses.
// TODO(redis): for Cluster, split the index upkeep into SADD/SREM commands
// after the apply script (a crash between them leaves a binding that only
// expiry removes) and run forget_flow as SMEMBERS then one script per AOR.
#include "state/internal/redis_scripts.h"

#include <openssl/sha.h>

#include <string>

namespace fe::state::internal {

namespace {

// Shared helpers: netstring parsing of a stored record's first fields.
#define FE_LUA_RECORD_HELPERS                                                      \
    "local function ns(s, pos)\n"                                                  \
    "  local colon = string.find(s, ':', pos, true)\n"                             \
    "  local len = tonumber(string.sub(s, pos, colon - 1))\n"                      \
    "  return string.sub(s, colon + 1, colon + len), colon + len + 1\n"            \
    "end\n"                                                                        \
    "-- seq, expires_ms, cseq, call_id, flow_token of a stored record\n"          \
    "local function head(rec)\n"                                                   \
    "  local seq, p = ns(rec, 1)\n"                                                \
    "  local exp, cseq, cid, tok\n"                                                \
    "  exp, p = ns(rec, p)\n"                                                      \
    "  cseq, p = ns(rec, p)\n"                                                     \
    "  cid, p = ns(rec, p)\n"                                                      \
    "  tok, p = ns(rec, p)\n"                                                      \
    "  return tonumber(seq), tonumber(exp), tonumber(cseq), cid, tok\n"            \
    "end\n"

constexpr std::string_view kApplySource =
    FE_LUA_RECORD_HELPERS
    "local key = KEYS[1]\n"
    "local prefix, aor = ARGV[1], ARGV[2]\n"
    "local now = tonumber(ARGV[3])\n"
    "local call_id, cseq = ARGV[4], tonumber(ARGV[5])\n"
    "local remove_all = ARGV[6] == '1'\n"
    "local token = ARGV[7]\n"
    "local limit = tonumber(ARGV[8])\n"
    "local function token_key(t) return prefix .. ':{tok:' .. t .. '}:a' end\n"
    // Load the AOR, dropping expired bindings (as the embedded store does
    // before every change).
    "local flat = redis.call('HGETALL', key)\n"
    "local recs, count, maxseq, touched = {}, 0, 0, {}\n"
    "for i = 1, #flat, 2 do\n"
    "  local seq, exp, c, cid, tok = head(flat[i + 1])\n"
    "  if seq > maxseq then maxseq = seq end\n"
    "  if exp <= now then\n"
    "    redis.call('HDEL', key, flat[i])\n"
    "    touched[tok] = true\n"
    "  else\n"
    "    recs[flat[i]] = {seq = seq, exp = exp, cseq = c, cid = cid, tok = tok, rec = flat[i + 1]}\n"
    "    count = count + 1\n"
    "  end\n"
    "end\n"
    // RFC 3261 §10.3 steps 6-7: same Call-ID needs a higher CSeq.
    "local function in_order(b) return b.cid ~= call_id or cseq > b.cseq end\n"
    "local status = 'ok'\n"
    "if remove_all then\n"
    "  for f, b in pairs(recs) do\n"
    "    if not in_order(b) then status = 'order' break end\n"
    "  end\n"
    "else\n"
    "  local after = count\n"
    "  for i = 9, #ARGV, 3 do\n"
    "    local b = recs[ARGV[i + 1]]\n"
    "    if b and not in_order(b) then status = 'order' break end\n"
    "    if not b and ARGV[i] == 'u' then after = after + 1\n"
    "    elseif b and ARGV[i] == 'r' then after = after - 1 end\n"
    "  end\n"
    "  if status == 'ok' and after > limit and after > count then status = 'limit' end\n"
    "end\n"
    // Change: all of the REGISTER or none of it.
    "if status == 'ok' and remove_all then\n"
    "  for f, b in pairs(recs) do\n"
    "    redis.call('HDEL', key, f)\n"
    "    touched[b.tok] = true\n"
    "  end\n"
    "  recs = {}\n"
    "elseif status == 'ok' then\n"
    "  for i = 9, #ARGV, 3 do\n"
    "    local f = ARGV[i + 1]\n"
    "    local b = recs[f]\n"
    "    if ARGV[i] == 'r' then\n"
    "      if b then\n"
    "        redis.call('HDEL', key, f)\n"
    "        touched[b.tok] = true\n"
    "        recs[f] = nil\n"
    "      end\n"
    "    else\n"
    "      local seq\n"
    "      if b then\n"
    "        seq = b.seq\n"  // A refresh keeps the binding's place.
    "        touched[b.tok] = true\n"
    "      else\n"
    "        maxseq = maxseq + 1\n"
    "        seq = maxseq\n"
    "      end\n"
    "      local s = tostring(seq)\n"
    "      local rec = string.len(s) .. ':' .. s .. ARGV[i + 2]\n"
    "      redis.call('HSET', key, f, rec)\n"
    "      recs[f] = {seq = seq, exp = tonumber((ns(ARGV[i + 2], 1))), tok = token, rec = rec}\n"
    "    end\n"
    "  end\n"
    "end\n"
    // Expire the AOR key with its latest binding; keep the token index.
    "local out, maxexp, uses, texp = {status}, 0, {}, 0\n"
    "for f, b in pairs(recs) do\n"
    "  if b.exp > maxexp then maxexp = b.exp end\n"
    "  if b.tok == token and b.exp > texp then texp = b.exp end\n"
    "  uses[b.tok] = true\n"
    "  if status == 'ok' then out[#out + 1] = b.rec end\n"
    "end\n"
    "if maxexp == 0 then redis.call('DEL', key) else redis.call('PEXPIREAT', key, maxexp) end\n"
    "if status == 'ok' and token ~= '' and uses[token] then\n"
    "  local tk = token_key(token)\n"
    "  redis.call('SADD', tk, aor)\n"
    "  local ttl = redis.call('PTTL', tk)\n"
    "  if ttl < 0 or now + ttl < texp then redis.call('PEXPIREAT', tk, texp) end\n"
    "end\n"
    "for t in pairs(touched) do\n"
    "  if t ~= '' and not uses[t] then redis.call('SREM', token_key(t), aor) end\n"
    "end\n"
    "return out\n";

constexpr std::string_view kForgetSource =
    FE_LUA_RECORD_HELPERS
    "local prefix, token, batch = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
    "local aors = redis.call('SPOP', KEYS[1], batch)\n"
    "local removed = 0\n"
    "for _, aor in ipairs(aors) do\n"
    "  local key = prefix .. ':{' .. aor .. '}:b'\n"
    "  local flat = redis.call('HGETALL', key)\n"
    "  local gone, left, maxexp = 0, 0, 0\n"
    "  for i = 1, #flat, 2 do\n"
    "    local seq, exp, c, cid, tok = head(flat[i + 1])\n"
    "    if tok == token then\n"
    "      redis.call('HDEL', key, flat[i])\n"
    "      gone = gone + 1\n"
    "    else\n"
    "      left = left + 1\n"
    "      if exp > maxexp then maxexp = exp end\n"
    "    end\n"
    "  end\n"
    "  if gone > 0 and left == 0 then redis.call('DEL', key)\n"
    "  elseif gone > 0 then redis.call('PEXPIREAT', key, maxexp) end\n"
    "  removed = removed + gone\n"
    "end\n"
    "return {removed, redis.call('SCARD', KEYS[1])}\n";

#undef FE_LUA_RECORD_HELPERS

// A script with its SHA-1, computed once.
class NamedScript {
public:
    explicit NamedScript(std::string_view source) {
        uint8_t digest[SHA_DIGEST_LENGTH];
        SHA1(reinterpret_cast<const uint8_t*>(source.data()), source.size(), digest);
        static constexpr char kHex[] = "0123456789abcdef";
        for (size_t i = 0; i < SHA_DIGEST_LENGTH; ++i) {
            hex_[2 * i] = kHex[digest[i] >> 4];
            hex_[2 * i + 1] = kHex[digest[i] & 0xF];
        }
        script_ = RedisScript{source, std::string_view(hex_, 2 * SHA_DIGEST_LENGTH)};
    }
    const RedisScript& script() const { return script_; }

private:
    char hex_[2 * SHA_DIGEST_LENGTH];
    RedisScript script_;
};

}  // namespace

const RedisScript& apply_script() {
    static const NamedScript named(kApplySource);
    return named.script();
}

const RedisScript& forget_script() {
    static const NamedScript named(kForgetSource);
    return named.script();
}

}  // namespace fe::state::internal
