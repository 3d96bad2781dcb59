// Taking back the steps of a load that failed before its switch (Load.cpp).
#pragma once

#include <functional>
#include <vector>

namespace bulwark::rt {

// Undo log of a load: run in reverse if anything fails before the switch.
class Undo {
public:
  void add(std::function<void()> f) { steps_.push_back(std::move(f)); }
  void commit() { steps_.clear(); }
  ~Undo() {
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
      try {
        (*it)();
      } catch (...) {
      }
    }
  }

private:
  std::vector<std::function<void()>> steps_;
};

} // namespace bulwark::rt
