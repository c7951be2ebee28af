// One configured example of every registered layer type, with an input shape to test
// it on; the registry test fails when a registered type has no sample here.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "citadel/layers/layer.hpp"

namespace citadel::testkit {

struct LayerSample {
  std::unique_ptr<Layer> layer;
  Shape input_shape;  // with the batch axis
  // Finite-difference step: max pooling needs one smaller than the gaps between the
  // values of a window, or a step moves which value is the maximum.
  double epsilon = 1e-2;
};

std::map<std::string, std::vector<LayerSample>> sample_layers();

}  // namespace citadel::testkit
