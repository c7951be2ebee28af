// Every registered layer type passes the gradient checks: a new layer cannot skip them.
#include <gtest/gtest.h>

#include "citadel/layers/layer.hpp"
#include "grad_check.hpp"
#include "sample_layers.hpp"

using namespace citadel;

TEST(LayerRegistry, EveryRegisteredTypeHasSamplesAndCorrectGradients) {
  const auto samples = testkit::sample_layers();
  for (const std::string& type : registered_layer_types()) {
    auto found = samples.find(type);
    ASSERT_NE(found, samples.end()) << "layer type " << type << " has no sample in tests/support";
    ASSERT_FALSE(found->second.empty());
    for (const auto& sample : found->second) {
      EXPECT_EQ(sample.layer->type(), type);
      const testkit::GradCheckOptions options{.epsilon = sample.epsilon};
      EXPECT_TRUE(testkit::check_input_gradient(*sample.layer, sample.input_shape, options)) << type;
      EXPECT_TRUE(testkit::check_param_gradients(*sample.layer, sample.input_shape, options)) << type;
    }
  }
}
