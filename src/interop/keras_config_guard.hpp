// What a Keras config may hold before citadel builds anything from it: only Keras's own
// classes, no Python code in any form, float32 weights.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace citadel::detail {

// SecurityError naming the place ("config.json: config.layers[2]") of anything that would
// make Keras run code: Lambda layers, lambdas and functions, custom objects (a
// registered_name of their own) and modules outside Keras. NotImplementedError for dtype
// policies other than float32 (and mixed ones, whose variables are float32).
void refuse_code_in_config(const nlohmann::json& config, const std::string& source);

// Whether a class name is one that holds or calls code (Lambda, functions, wrappers of
// other frameworks' modules).
bool code_class(const std::string& class_name);

}  // namespace citadel::detail
