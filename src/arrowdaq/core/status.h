// Status and Result: arrowdaq uses Arrow's error types on every path that can fail, so that
// Arrow calls and our own compose with ARROW_RETURN_NOT_OK / ARROW_ASSIGN_OR_RAISE.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

namespace arrowdaq {

using Status = arrow::Status;
template <typename T>
using Result = arrow::Result<T>;

}  // namespace arrowdaq
