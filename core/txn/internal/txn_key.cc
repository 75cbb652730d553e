#include "core/txn/internal/txn_key.h"

#include "core/base/strings.h"

namespace fe::txn::internal {
namespace {

TxnTableError check_branch(std::string_view branch) {
    if (!starts_with_ignore_case(branch, kBranchMagicCookie)) {
        return TxnTableError::kNoMagicCookie;
    }
    if (branch.size() > kBranchSizeMax) {
        return TxnTableError::kBranchTooLong;
    }
    return TxnTableError::kOk;
}

TxnTableError check_method(std::string_view method) {
    if (method.empty()) {
        return TxnTableError::kMethodEmpty;
    }
    if (method.size() > kMethodSizeMax) {
        return TxnTableError::kMethodTooLong;
    }
    return TxnTableError::kOk;
}

}  // namespace

void KeyBuilder::put_sized_lower(std::string_view part) {
    put_byte(static_cast<char>((part.size() >> 8) & 0xff));
    put_byte(static_cast<char>(part.size() & 0xff));
    for (char c : part) {
        put_byte(ascii_lower(c));
    }
}

void KeyBuilder::put_raw(std::string_view part) {
    for (char c : part) {
        put_byte(c);
    }
}

TxnTableError check_client(const ClientKey& key) {
    if (TxnTableError e = check_branch(key.branch); e != TxnTableError::kOk) {
        return e;
    }
    return check_method(key.method);
}

TxnTableError check_server(const ServerKey& key) {
    if (TxnTableError e = check_branch(key.branch); e != TxnTableError::kOk) {
        return e;
    }
    if (key.sent_by.empty()) {
        return TxnTableError::kSentByEmpty;
    }
    if (key.sent_by.size() > kSentBySizeMax) {
        return TxnTableError::kSentByTooLong;
    }
    return check_method(key.method);
}

void compose_client(const ClientKey& key, KeyBuilder& out) {
    out.put_tag('C');
    out.put_sized_lower(key.branch);
    out.put_raw(key.method);
}

void compose_server(const ServerKey& key, std::string_view method, KeyBuilder& out) {
    out.put_tag('S');
    out.put_sized_lower(key.branch);
    out.put_sized_lower(key.sent_by);
    out.put_raw(method);
}

}  // namespace fe::txn::internal
