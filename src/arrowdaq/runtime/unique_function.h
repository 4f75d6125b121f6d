// UniqueFunction: a move-only `void()` callable, for jobs that own move-only state (completion
// handlers, promises). std::move_only_function is C++23; this is the small subset we need.
// Not thread-safe by itself; it is handed from thread to thread, never shared.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace arrowdaq::runtime {

class UniqueFunction {
 public:
  UniqueFunction() = default;
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, UniqueFunction>>>
  UniqueFunction(F&& f)  // NOLINT(google-explicit-constructor): a callable converts implicitly
      : impl_(std::make_unique<Impl<std::decay_t<F>>>(std::forward<F>(f))) {}

  UniqueFunction(UniqueFunction&&) noexcept = default;
  UniqueFunction& operator=(UniqueFunction&&) noexcept = default;

  explicit operator bool() const { return impl_ != nullptr; }
  void operator()() { impl_->Call(); }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual void Call() = 0;
  };
  template <typename F>
  struct Impl final : Base {
    explicit Impl(F&& f) : fn(std::move(f)) {}
    explicit Impl(const F& f) : fn(f) {}
    void Call() override { fn(); }
    F fn;
  };
  std::unique_ptr<Base> impl_;
};

}  // namespace arrowdaq::runtime
