#pragma once

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "parley/sdk/context.hpp"

namespace parley::core {

class EventBus {
 public:
  using ErrorSink = std::function<void(const std::string& owner, const std::string& what)>;
  explicit EventBus(ErrorSink on_error) : on_error_(std::move(on_error)) {}

  std::shared_ptr<sdk::Revoker> subscribe(const std::string& owner, const std::string& topic,
                                          std::function<void(const sdk::Event&)> handler);
  void publish(const sdk::Event& event);

 private:
  struct Subscriber;
  using List = std::vector<std::shared_ptr<Subscriber>>;
  void unsubscribe(const std::string& topic, const Subscriber* sub);

  ErrorSink on_error_;
  mutable std::shared_mutex mutex_;
  // Copy-on-write lists: publishing takes a snapshot and delivers without holding the lock, so a
  // handler may subscribe or publish in turn.
  std::map<std::string, std::shared_ptr<const List>, std::less<>> topics_;
};

}  // namespace parley::core
