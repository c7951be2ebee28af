// The table of Keras activation names.
#include "citadel/layers/activations.hpp"

#include <utility>

#include "citadel/core/error.hpp"

namespace citadel {
namespace {

using ops::ActivationKind;

const std::vector<std::pair<std::string, ActivationKind>>& table() {
  static const std::vector<std::pair<std::string, ActivationKind>> entries{
      {"linear", ActivationKind::kLinear},   {"relu", ActivationKind::kRelu},
      {"sigmoid", ActivationKind::kSigmoid}, {"tanh", ActivationKind::kTanh},
      {"softmax", ActivationKind::kSoftmax}, {"leaky_relu", ActivationKind::kLeakyRelu},
      {"elu", ActivationKind::kElu},         {"selu", ActivationKind::kSelu},
      {"gelu", ActivationKind::kGelu},       {"softplus", ActivationKind::kSoftplus},
      {"swish", ActivationKind::kSwish},     {"silu", ActivationKind::kSwish},
  };
  return entries;
}

std::string joined_names() {
  std::string text;
  for (const auto& [name, kind] : table()) text += (text.empty() ? "" : ", ") + name;
  return text;
}

}  // namespace

ops::ActivationKind activation_from_name(std::string_view name) {
  if (name.empty() || name == "none") return ActivationKind::kLinear;
  for (const auto& [known, kind] : table())
    if (known == name) return kind;
  throw ValueError("unknown activation '" + std::string(name) + "'; known: " + joined_names());
}

std::string activation_name(ops::ActivationKind kind) {
  for (const auto& [name, known] : table())
    if (known == kind) return name;
  return "unknown";
}

const std::vector<std::string>& known_activations() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> result;
    for (const auto& entry : table()) result.push_back(entry.first);
    return result;
  }();
  return names;
}

}  // namespace citadel
