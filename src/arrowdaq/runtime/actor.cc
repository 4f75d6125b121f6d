#include "arrowdaq/runtime/actor.h"

namespace arrowdaq::runtime {

ActorSystem::ActorSystem(ActorSystemOptions options) {
  if (options.threads > 0) {
    work_.emplace(io_.get_executor());
    threads_.reserve(static_cast<std::size_t>(options.threads));
    for (int i = 0; i < options.threads; ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
  }
}

ActorSystem::~ActorSystem() {
  work_.reset();
  io_.stop();
  for (auto& t : threads_) t.join();
  deadlines_->Shutdown();  // its timer must go before io_ (cells may keep the list alive)
}

std::size_t ActorSystem::Poll() {
  io_.restart();
  return io_.poll();
}

bool ActorSystem::RunUntil(const std::function<bool()>& done, Duration d) {
  const auto deadline = std::chrono::steady_clock::now() + d;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io_.restart();
    if (io_.run_one_for(std::chrono::milliseconds(1)) == 0) {
      continue;
    }
  }
  return true;
}

}  // namespace arrowdaq::runtime
