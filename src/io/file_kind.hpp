// Telling a model file from the files users mistake for one (CSV data, a report, a Keras
// archive, ONNX, ...) by their first bytes, so that the loader can say what a file is.
#pragma once

#include <string>
#include <string_view>

namespace citadel::detail {

// A safetensors file starts with its header's length (8 bytes, little-endian, far below
// 2^56) and then the header's JSON object ('{').
bool starts_like_safetensors(std::string_view bytes);

// The loader's message for a file that does not start like a safetensors file: "<source>
// is not a citadel model file (...)", then what the first bytes look like and a hint.
std::string not_a_model_file_message(std::string_view bytes, const std::string& source);

}  // namespace citadel::detail
