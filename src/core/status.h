// Status helpers shared by every module. Errors are values: absl::Status / absl::StatusOr.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define SEGMENTA_RETURN_IF_ERROR(expr)                   \
  do {                                                   \
    absl::Status segmenta_status_ = (expr);              \
    if (!segmenta_status_.ok()) return segmenta_status_; \
  } while (0)

#define SEGMENTA_CONCAT_INNER(a, b) a##b
#define SEGMENTA_CONCAT(a, b) SEGMENTA_CONCAT_INNER(a, b)

// `lhs` = value of `rexpr` (an absl::StatusOr<T>), or returns its error.
#define SEGMENTA_ASSIGN_OR_RETURN(lhs, rexpr) \
  SEGMENTA_ASSIGN_OR_RETURN_IMPL(SEGMENTA_CONCAT(segmenta_statusor_, __LINE__), lhs, rexpr)
#define SEGMENTA_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();        \
  lhs = std::move(tmp).value()
