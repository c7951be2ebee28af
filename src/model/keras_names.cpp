// Keras's naming rule, shared by layer names and initializer class names.
#include "keras_names.hpp"

#include <cctype>

namespace citadel {

std::string detail::keras_snake_case(const std::string& name) {
  std::string result;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (std::isupper(c) && i > 0 && std::islower(static_cast<unsigned char>(name[i - 1]))) result += '_';
    result += static_cast<char>(std::tolower(c));
  }
  return result;
}

std::string detail::current_layer_name(std::string name) {
  for (size_t at = name.find("2_d"); at != std::string::npos; at = name.find("2_d", at + 2)) name.replace(at, 3, "2d");
  return name;
}

}  // namespace citadel
