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
  Shape input_shape;  // with the batch axis (the first input's, for a merge)
  // Finite-difference step: max pooling needs one smaller than the gaps between the
  // values of a window, or a step moves which value is the maximum.
  double epsilon = 1e-2;
  std::vector<Shape> more_inputs = {};  // a merge layer's other inputs, with the batch axis
  // Every input's shape, with the batch axis.
  std::vector<Shape> input_shapes() const {
    std::vector<Shape> shapes{input_shape};
    shapes.insert(shapes.end(), more_inputs.begin(), more_inputs.end());
    return shapes;
  }
};

std::map<std::string, std::vector<LayerSample>> sample_layers();

}  // namespace citadel::testkit
