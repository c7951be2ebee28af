// What citadel does not import yet, named before anything else is checked: a model class
// of Keras's other than Sequential and Functional, or a Keras layer without a citadel twin
// (Embedding, LSTM, ...) in the model or a model nested in it, so that the refusal names
// the real obstacle rather than a consequence of it (an int32 input, a module path).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace citadel::detail {

// NotImplementedError naming `source`, the class and the layer, saying what citadel imports
// and pointing at docs/INTEROP.md. Only Keras's own classes are named here: a class of
// another module or a custom object is code, which keras_config_guard refuses as such.
void refuse_unsupported_classes(const nlohmann::json& config, const std::string& source);

}  // namespace citadel::detail
