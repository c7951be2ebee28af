// The data and model of the several-outputs CLI tests: three numbers, a class ("kind") and an
// amount, and a Functional config with one output for each.
#pragma once

#include <string>

namespace citadel::testkit {

// x1, x2, x3; kind = big when x1 + x2 > 0; amount = 2·x1 − x3 + 0.5. `offset` shifts the
// rows drawn (other rows of the same law).
inline std::string two_labels_csv(int rows = 120, int offset = 0) {
  std::string csv = "x1,x2,kind,x3,amount\n";
  for (int j = 0; j < rows; ++j) {
    const int i = j + offset;
    const double x1 = (i % 11 - 5) / 5.0, x2 = ((i * 7) % 13 - 6) / 6.0, x3 = ((i * 5) % 9 - 4) / 4.0;
    csv += std::to_string(x1) + "," + std::to_string(x2) + "," + (x1 + x2 > 0 ? "big" : "small") + "," +
           std::to_string(x3) + "," + std::to_string(2 * x1 - x3 + 0.5) + "\n";
  }
  return csv;
}

// features (3) → Dense(8, relu) → kind_out: Dense(1, sigmoid) and amount_out: Dense(1).
inline std::string two_outputs_config() {
  return R"({"class_name": "Functional", "config": {"name": "two_outputs", "layers": [
    {"class_name": "InputLayer", "name": "features", "config": {"batch_input_shape": [null, 3], "name": "features"}, "inbound_nodes": []},
    {"class_name": "Dense", "name": "h", "config": {"name": "h", "units": 8, "activation": "relu"}, "inbound_nodes": [[["features", 0, 0, {}]]]},
    {"class_name": "Dense", "name": "kind_out", "config": {"name": "kind_out", "units": 1, "activation": "sigmoid"}, "inbound_nodes": [[["h", 0, 0, {}]]]},
    {"class_name": "Dense", "name": "amount_out", "config": {"name": "amount_out", "units": 1}, "inbound_nodes": [[["h", 0, 0, {}]]]}],
    "input_layers": [["features", 0, 0]], "output_layers": [["kind_out", 0, 0], ["amount_out", 0, 0]]}})";
}

}  // namespace citadel::testkit
