// Every registered layer type passes the gradient checks and survives a model config and a
// model file bit for bit: a new layer can skip neither.
#include <gtest/gtest.h>

#include <filesystem>

#include "citadel/core/random.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/layers/layer_registry.hpp"
#include "citadel/model/model_config.hpp"
#include "grad_check.hpp"
#include "sample_layers.hpp"

namespace registry_test {

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
      EXPECT_TRUE(testkit::check_input_gradient(*sample.layer, sample.input_shapes(), options)) << type;
      EXPECT_TRUE(testkit::check_param_gradients(*sample.layer, sample.input_shapes(), options)) << type;
    }
  }
}

namespace {

// A model of the sample alone: a Sequential chain for a one-input layer, a graph for a merge.
Model model_of(const testkit::LayerSample& sample) {
  if (sample.more_inputs.empty()) {
    Sequential model;
    model.add(sample.layer->clone());
    model.build(sample.input_shape.without_batch());
    return model;
  }
  std::vector<SymbolicTensor> inputs;
  for (const Shape& shape : sample.input_shapes()) inputs.push_back(Input(shape.without_batch()));
  const SymbolicTensor output = (*sample.layer->clone())(inputs);
  return Model(inputs, {output});
}

std::vector<Tensor> random_inputs(const testkit::LayerSample& sample) {
  std::vector<Tensor> inputs;
  for (const Shape& shape : sample.input_shapes())
    inputs.push_back(sample.layer->token_id_bound() > 0
                         ? testkit::random_ids(shape, sample.layer->token_id_bound(), inputs.size() + 5)
                         : random::uniform(shape, -1.0f, 1.0f));
  return inputs;
}

std::vector<ConstTensorView> views(const std::vector<Tensor>& tensors) { return {tensors.begin(), tensors.end()}; }

}  // namespace

TEST(LayerRegistry, EveryRegisteredTypeRoundTripsThroughAConfigAndAModelFile) {
  const auto samples = testkit::sample_layers();
  const auto path = std::filesystem::temp_directory_path() / ("citadel_registry_" + std::to_string(::getpid()) + ".safetensors");
  for (const std::string& type : registered_layer_types()) {
    for (const auto& sample : samples.at(type)) {
      random::set_seed(21);
      Model model = model_of(sample);
      // Weights away from their initial values (moving variances stay positive).
      for (float& w : model.parameters().values()) w = random::uniform({1}, 0.5f, 1.5f)[0];
      const std::vector<Tensor> x = random_inputs(sample);
      const std::vector<float> expected = model.predict(views(x))[0].to_vector();

      const std::string config = model_to_config(model);
      Model from_config = model_from_config(config, type + " config");
      from_config.build(sample.more_inputs.empty() ? sample.input_shape.without_batch() : Shape{});
      from_config.set_weights(model.get_weights());
      EXPECT_EQ(from_config.predict(views(x))[0].to_vector(), expected) << type << " through model_to_config";
      EXPECT_EQ(model_to_config(from_config), config) << type << ": the config read back writes another";

      save_model(model, path.string());
      LoadedModel loaded = load_model(path.string());
      EXPECT_EQ(loaded.model.predict(views(x))[0].to_vector(), expected) << type << " through a model file";
      EXPECT_EQ(loaded.model.layer(0).type(), type);
    }
  }
  std::filesystem::remove(path);
}

// Settings that leave a trained model's predictions alone (initializers, regularizers,
// momentum, the dropout rate) change its initial weights or its first training step: a
// layer that forgets one in get_config or from_config fails here.
TEST(LayerRegistry, EveryRegisteredTypeInitializesAndTrainsTheSameAfterAConfigRoundTrip) {
  const auto samples = testkit::sample_layers();
  for (const std::string& type : registered_layer_types()) {
    for (const auto& sample : samples.at(type)) {
      // The model's seed is drawn when it is made: the same seed before each.
      random::set_seed(33);
      Model original = model_of(sample);
      const std::string config = model_to_config(original);
      random::set_seed(33);
      Model copy = model_from_config(config, type + " config");
      copy.build(sample.more_inputs.empty() ? sample.input_shape.without_batch() : Shape{});
      original.compile({.loss = "mse", .optimizer = "sgd"});
      copy.compile({.loss = "mse", .optimizer = "sgd"});

      const auto weights = original.get_weights(), copied_weights = copy.get_weights();
      ASSERT_EQ(weights.size(), copied_weights.size()) << type;
      for (size_t i = 0; i < weights.size(); ++i)
        EXPECT_EQ(weights[i].to_vector(), copied_weights[i].to_vector()) << type << ": initial weights " << i;

      const std::vector<Tensor> x = random_inputs(sample);
      Shape output = original.output_shape();
      std::vector<int64_t> y_dims{sample.input_shape[0]};
      for (int64_t dim : output.dims()) y_dims.push_back(dim);
      const Tensor y = random::uniform(Shape(y_dims), -1.0f, 1.0f);
      EXPECT_EQ(original.train_on_batch(views(x), {y}), copy.train_on_batch(views(x), {y})) << type << ": training loss";
      EXPECT_EQ(original.predict(views(x))[0].to_vector(), copy.predict(views(x))[0].to_vector())
          << type << " after a training step";
    }
  }
}

}  // namespace registry_test
