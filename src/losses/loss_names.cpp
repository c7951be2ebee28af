// Keras loss identifiers, mapped to the loss objects.
#include <functional>
#include <utility>

#include "citadel/core/error.hpp"
#include "citadel/losses/loss.hpp"

namespace citadel {
namespace {

using Factory = std::function<std::unique_ptr<Loss>()>;

const std::vector<std::pair<std::string, Factory>>& table() {
  static const std::vector<std::pair<std::string, Factory>> entries{
      {"mean_squared_error", [] { return make_loss(MeanSquaredError{}); }},
      {"mse", [] { return make_loss(MeanSquaredError{}); }},
      {"mean_absolute_error", [] { return make_loss(MeanAbsoluteError{}); }},
      {"mae", [] { return make_loss(MeanAbsoluteError{}); }},
      {"huber", [] { return make_loss(Huber{}); }},
      {"binary_crossentropy", [] { return make_loss(BinaryCrossentropy{}); }},
      {"categorical_crossentropy", [] { return make_loss(CategoricalCrossentropy{}); }},
      {"sparse_categorical_crossentropy", [] { return make_loss(SparseCategoricalCrossentropy{}); }},
  };
  return entries;
}

}  // namespace

const std::vector<std::string>& known_losses() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> result;
    for (const auto& entry : table()) result.push_back(entry.first);
    return result;
  }();
  return names;
}

std::unique_ptr<Loss> make_loss(std::string_view name) {
  for (const auto& [known, factory] : table())
    if (known == name) return factory();
  std::string list;
  for (const auto& known : known_losses()) list += (list.empty() ? "" : ", ") + known;
  throw ValueError("unknown loss '" + std::string(name) + "'; known: " + list);
}

}  // namespace citadel
