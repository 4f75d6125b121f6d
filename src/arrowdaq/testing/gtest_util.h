// Test helpers: assertions on Status and Result. Tests only.
#pragma once

#include <gtest/gtest.h>

#include "arrowdaq/core/status.h"

namespace arrowdaq::testing {
inline ::arrow::Status ToStatus(const ::arrow::Status& st) { return st; }
template <typename T>
::arrow::Status ToStatus(const ::arrow::Result<T>& r) {
  return r.status();
}
}  // namespace arrowdaq::testing

#define ARROWDAQ_CONCAT_INNER(a, b) a##b
#define ARROWDAQ_CONCAT(a, b) ARROWDAQ_CONCAT_INNER(a, b)

#define ASSERT_OK(expr)                                        \
  do {                                                         \
    const ::arrow::Status _st = ::arrowdaq::testing::ToStatus(expr); \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.ToString();  \
  } while (false)

#define EXPECT_OK(expr)                                        \
  do {                                                         \
    const ::arrow::Status _st = ::arrowdaq::testing::ToStatus(expr); \
    EXPECT_TRUE(_st.ok()) << #expr << ": " << _st.ToString();  \
  } while (false)

#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, rexpr)                        \
  auto tmp = (rexpr);                                                     \
  ASSERT_TRUE(tmp.ok()) << #rexpr << ": " << tmp.status().ToString();     \
  lhs = std::move(tmp).ValueUnsafe();

#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ASSERT_OK_AND_ASSIGN_IMPL(ARROWDAQ_CONCAT(_result_, __COUNTER__), lhs, rexpr)
