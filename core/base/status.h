// File: core/base/status.h
//
// Control-plane error plumbing (config, startup, membership). The data plane
// uses small result enums instead. Debian's abseil (20220623) lacks
// ABSL_RETURN_IF_ERROR, so we keep our own:
//
//   absl::Status Node::start() {
//       FE_RETURN_IF_ERROR(listen_all());
//       FE_ASSIGN_OR_RETURN(auto key_ring, load_keys(path));
//       ...
//   }
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FE_RETURN_IF_ERROR(expr)                \
    do {                                        \
        ::absl::Status fe_status_ = (expr);     \
        if (!fe_status_.ok()) {                 \
            return fe_status_;                  \
        }                                       \
    } while (0)

#define FE_STATUS_CONCAT_INNER_(a, b) a##b
#define FE_STATUS_CONCAT_(a, b) FE_STATUS_CONCAT_INNER_(a, b)

#define FE_ASSIGN_OR_RETURN(lhs, expr) \
    FE_ASSIGN_OR_RETURN_IMPL_(FE_STATUS_CONCAT_(fe_statusor_, __LINE__), lhs, expr)

#define FE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
    auto tmp = (expr);                            \
    if (!tmp.ok()) {                              \
        return tmp.status();                      \
    }                                             \
    lhs = std::move(tmp).value()
