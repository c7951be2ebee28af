// Samples of each layer type, covering its options that change the math.
#include "sample_layers.hpp"

#include "citadel/layers/activation.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/dropout.hpp"
#include "citadel/layers/flatten.hpp"

namespace citadel::testkit {

std::map<std::string, std::vector<LayerSample>> sample_layers() {
  std::map<std::string, std::vector<LayerSample>> samples;
  samples["Dense"].push_back({std::make_unique<Dense>(4), Shape{3, 5}});
  samples["Dense"].push_back({std::make_unique<Dense>(3, DenseOptions{.activation = "tanh"}), Shape{2, 4}});
  samples["Dense"].push_back(
      {std::make_unique<Dense>(2, DenseOptions{.activation = "softmax", .use_bias = false}), Shape{4, 3}});
  samples["Activation"].push_back({std::make_unique<Activation>("gelu"), Shape{3, 4}});
  samples["Activation"].push_back({std::make_unique<Activation>("softmax"), Shape{2, 5}});
  samples["Dropout"].push_back({std::make_unique<Dropout>(0.3f), Shape{4, 6}});
  samples["Dropout"].push_back({std::make_unique<Dropout>(0.5f), Shape{2, 3, 4}});
  samples["Flatten"].push_back({std::make_unique<Flatten>(), Shape{2, 3, 4, 2}});
  return samples;
}

}  // namespace citadel::testkit
