// History bookkeeping.
#include "citadel/model/history.hpp"

#include "citadel/core/error.hpp"

namespace citadel {

const std::vector<double>& History::operator[](const std::string& key) const {
  auto found = history.find(key);
  if (found != history.end()) return found->second;
  std::string keys;
  for (const auto& [name, values] : history) keys += (keys.empty() ? "" : ", ") + name;
  throw ValueError("history has no '" + key + "'; it has: " + keys);
}

void History::append(int epoch_index, const Logs& logs) {
  epoch.push_back(epoch_index);
  for (const auto& [name, value] : logs) history[name].push_back(value);
}

}  // namespace citadel
