// File: state/internal/binding_codec.h
//
// The compact form of one AOR's bindings inside the embedded store
// (state/embedded_store.h): every binding of the AOR as one byte string, so a
// stored AOR is one allocation (state/internal/aor_block.h) instead of a
// vector of Bindings with nine std::strings each (~1.2 kB per outbound
// binding with a Path; ~250 B in this form, see the sizes below).
//
//   std::string bytes;
//   fe::state::internal::encode_bindings(bindings, bytes);      // appends
//   std::vector<fe::state::Binding> out;
//   size_t count = fe::state::internal::decode_bindings(bytes, aor_key, out);
//   // out[0 .. count) are the bindings; elements past count are kept (and
//   // their strings' capacity), so a warm scratch vector decodes without
//   // allocating.
//   // A refresh that changed only numbers (CSeq, expiry) is written in place:
//   std::vector<fe::state::internal::FieldsSpan> fields;
//   (void)decode_bindings(bytes, aor_key, out, &fields);
//   out[0].cseq++;
//   if (!patch_fields({bytes.data() + fields[0].begin, fields[0].size}, out[0])) { encode again }
//
// The store always reads or rewrites an AOR's bindings whole (a REGISTER, a
// lookup, an expiry, a flow's end), so the form needs no random access: it
// is read front to back, and it can refer back to bytes it already holds.
//
// Layout, per binding, back to back (varint: LEB128, 1 byte per 7 bits):
//
//   flags        1 B      bit 0: has_q
//   expires_at   varint   zigzag(int64 ns)
//   lifetime     varint   zigzag(expires_at - updated_at) ns (OB-REG-19)
//   reg_id       varint
//   cseq         varint
//   node_id      varint
//   q            varint   only with has_q
//   path_count   varint
//   strings      contact, contact_uri, contact_key, instance_key,
//                path[0 .. path_count), flow_token, call_id; each one of
//                  literal:   varint (size << 1)      then `size` bytes
//                  reference: varint (size << 1 | 1)  varint distance (>= 1):
//                             the bytes start `distance` bytes before this
//                             string's first varint
//                  in parts:  varint (size << 1 | 1)  varint 0 (Path values
//                             only), varint prefix, varint suffix (PathParts
//                             indexes), varint token_size, the token: the
//                             value is prefix + token + suffix
//
// A string becomes a reference when it equals the same field of the previous
// binding (a REGISTER's Call-ID and Path are written into each of its
// bindings) or occurs where it usually does: the Contact URI, its canonical
// key and the +sip.instance inside the Contact value, the flow token inside a
// Path value (ours carries it as its user part). Only those places are
// searched, so encoding stays linear in the AOR's size. The aor_key is not stored per binding: every binding of an
// AOR carries the AOR's key, which the block holds once.
//
// Sizes for the bench's outbound binding (a 113 B Contact, a 78 B Path, a
// 32 B Call-ID): ~17 B of fields, ~200 B of strings with the Path in parts.
//
// The bytes are the store's own and never cross a process: a decode of
// bytes that encode_bindings() did not write is a programmer error
// (asserted), not input validation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "state/binding_store.h"

namespace fe::state::internal {

// The text around the flow token in Path values, each distinct piece stored
// once: our own Path value is "<sip:" TOKEN "@host:port;transport=tcp;lr;ob>"
// for every flow through this node, so with the pieces shared a binding
// keeps only its token (~40 B less per binding). Append-only and bounded
// (kPathPartCountMax pieces of at most kPathPartSizeMax bytes; a value whose
// pieces do not fit is written whole). Not thread-safe: the embedded store
// keeps one per AOR shard, under the shard's lock, and a binding encoded
// with one must be decoded with the same one.
class PathParts {
public:
    // The piece's index, added if new and there is room; nullopt otherwise.
    std::optional<uint32_t> find_or_add(std::string_view part);
    std::string_view at(uint32_t index) const;
    size_t count() const { return parts_.size(); }

private:
    std::vector<std::string> parts_;
};

// Appends the encoding of `bindings` to `out`. Their aor_key is not stored.
// With `parts`, Path values that hold the binding's flow token are written
// as two piece indexes and the token.
void encode_bindings(std::span<const Binding> bindings, std::string& out,
                     PathParts* parts = nullptr);

// Where one binding's fields (flags .. path_count, everything before its
// strings) sit in the encoded bytes.
struct FieldsSpan {
    uint32_t begin = 0;
    uint32_t size = 0;
};

// Decodes every binding in `bytes` into out[0 .. count), assigning into the
// existing elements first (out grows when needed, never shrinks), each with
// aor_key = `aor_key`. Returns count. With `fields`, it is set to each
// binding's FieldsSpan (for patch_fields()).
// `parts`: the PathParts the bytes were encoded with, if any.
size_t decode_bindings(std::string_view bytes, std::string_view aor_key, std::vector<Binding>& out,
                       std::vector<FieldsSpan>* fields = nullptr,
                       const PathParts* parts = nullptr);

// Rewrites a binding's fields in place (`fields`: where decode_bindings()
// found them) with those of `b`, whose strings must be the ones encoded there
// (a refresh that changes only CSeq, times, q or node). False, and nothing
// written, when the new fields take another number of bytes (a varint
// crossed a 7-bit boundary): then encode the AOR again.
bool patch_fields(std::span<char> fields, const Binding& b);

}  // namespace fe::state::internal
