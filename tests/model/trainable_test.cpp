// Frozen layers (Keras's trainable = False): their weights stay bit for bit through fit
// whatever the optimizer, weight decay or penalty; they count as non-trainable; a frozen
// BatchNormalization normalizes with its moving statistics; freezing after build moves no
// value; DP-SGD clips over the trainable weights only (against per-example backward
// passes); configs keep the flag.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/interop/keras_import.hpp"
#include "citadel/layers/batch_normalization.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/model/model_config.hpp"
#include "citadel/model/sequential.hpp"

namespace trainable_test {

using namespace citadel;

namespace {

// Values of each parameter, by name (independent of the store's layout).
std::map<std::string, std::vector<float>> values_by_name(const Model& model) {
  std::map<std::string, std::vector<float>> result;
  const ParameterStore& store = model.parameters();
  for (size_t id = 0; id < store.parameters().size(); ++id) {
    const ConstTensorView value = store.value(int(id));
    result[store.parameters()[id].name] = std::vector<float>(value.data(), value.data() + value.numel());
  }
  return result;
}

struct Data {
  Tensor x, y;
};
Data regression_data(int64_t rows, int64_t features) {
  random::set_seed(5);
  Data d{random::uniform(Shape{rows, features}, -1.0f, 1.0f), Tensor(Shape{rows, 1})};
  for (int64_t r = 0; r < rows; ++r) d.y[r] = d.x[r * features] - 0.5f * d.x[r * features + 1];
  return d;
}

// A residual graph with a frozen hidden layer (penalized, to show the penalty is not applied).
Model residual_with_frozen_layer() {
  random::set_seed(3);
  auto x = Input({4}, {.name = "x"});
  Dense frozen(4, {.activation = "tanh", .kernel_regularizer = {.l1 = 0.01f, .l2 = 0.1f}});
  frozen.named("frozen").set_trainable(false);
  auto h = frozen(x);
  auto r = Add().named("residual")({x, h});
  auto out = Dense(1).named("out")(Dense(3, {.activation = "relu"}).named("hidden")(r));
  return Model({x}, {out});
}

}  // namespace

TEST(Trainable, FrozenLayerKeepsItsWeightsBitForBitWhileTheOthersTrain) {
  const Data d = regression_data(64, 4);
  for (const OptimizerSpec& optimizer : {OptimizerSpec(AdamW{.learning_rate = 0.05f, .weight_decay = 0.1f}),
                                         OptimizerSpec(SGD{.learning_rate = 0.1f, .momentum = 0.9f})}) {
    Model model = residual_with_frozen_layer();
    model.compile({.loss = "mse", .optimizer = optimizer});
    const auto before = values_by_name(model);
    model.fit(d.x, d.y, {.epochs = 3, .batch_size = 16, .verbose = 0});
    const auto after = values_by_name(model);
    for (const auto& [name, value] : before) {
      if (name.rfind("frozen/", 0) == 0) EXPECT_EQ(value, after.at(name)) << name << " moved";
      else EXPECT_NE(value, after.at(name)) << name << " did not train";
    }
  }
}

TEST(Trainable, FrozenLayerPenaltyIsLeftOutOfTheLoss) {
  // Keras sums the penalties of trainable weights only: the frozen model's loss is the plain MSE.
  const Data d = regression_data(16, 4);
  Model model = residual_with_frozen_layer();
  model.compile({.loss = "mse", .optimizer = "sgd"});
  const Tensor prediction = model.predict(d.x);
  double mse = 0;
  for (int64_t r = 0; r < 16; ++r) mse += double(prediction[r] - d.y[r]) * (prediction[r] - d.y[r]);
  EXPECT_NEAR(model.evaluate(d.x, d.y).at("loss"), mse / 16, 1e-6);
}

TEST(Trainable, SummaryCountsFrozenWeightsAsNonTrainable) {
  random::set_seed(1);
  auto x = Input({6});
  auto h = Dense(5).named("base")(x);  // 6·5 + 5 = 35
  auto n = BatchNormalization().named("norm")(h);  // γ, β: 10 trainable; moving mean/var: 10 never
  auto out = Dense(2).named("head")(n);  // 5·2 + 2 = 12
  Model model({x}, {out});
  auto counts = [&] {
    const std::string text = model.summary_text();
    return std::make_pair(text.substr(text.find("Trainable params: ")), model.count_trainable_params());
  };
  EXPECT_EQ(model.count_params(), 67);
  EXPECT_EQ(counts().second, 35 + 10 + 12);
  EXPECT_NE(counts().first.find("Trainable params: 57\nNon-trainable params: 10\n"), std::string::npos);
  // As Keras's summary: the counts follow the flags at once, training from the next compile.
  model.get_layer("base").set_trainable(false);
  model.get_layer("norm").set_trainable(false);
  EXPECT_EQ(counts().second, 12);
  EXPECT_NE(counts().first.find("Trainable params: 12\nNon-trainable params: 55\n"), std::string::npos);
  EXPECT_EQ(model.parameters().trainable_size(), 57);
  model.compile({.loss = "mse", .optimizer = "adam"});
  EXPECT_EQ(model.parameters().trainable_size(), 12);
  EXPECT_EQ(model.parameters().frozen_size(), 45);
}

TEST(Trainable, FreezingAndUnfreezingAfterBuildMovesNoValue) {
  const Data d = regression_data(32, 4);
  Model model = residual_with_frozen_layer();
  model.compile({.loss = "mse", .optimizer = SGD{.learning_rate = 0.1f}});
  const std::vector<Tensor> weights = model.get_weights();
  const Tensor prediction = model.predict(d.x);
  model.get_layer("frozen").set_trainable(true);
  model.get_layer("hidden").set_trainable(false);
  model.compile({.loss = "mse", .optimizer = SGD{.learning_rate = 0.1f}});  // lays the store out again
  const std::vector<Tensor> relaid = model.get_weights();
  ASSERT_EQ(relaid.size(), weights.size());
  for (size_t i = 0; i < weights.size(); ++i)
    EXPECT_TRUE(std::equal(weights[i].data(), weights[i].data() + weights[i].numel(), relaid[i].data())) << i;
  const Tensor again = model.predict(d.x);
  EXPECT_TRUE(std::equal(prediction.data(), prediction.data() + prediction.numel(), again.data()));
  const auto before = values_by_name(model);
  model.fit(d.x, d.y, {.epochs = 2, .batch_size = 8, .verbose = 0});
  const auto after = values_by_name(model);
  EXPECT_EQ(before.at("hidden/kernel"), after.at("hidden/kernel"));
  EXPECT_EQ(before.at("hidden/bias"), after.at("hidden/bias"));
  EXPECT_NE(before.at("frozen/kernel"), after.at("frozen/kernel"));
  // Changed without a compile: training still follows the last compile, as in Keras.
  model.get_layer("out").set_trainable(false);
  const auto unchanged = values_by_name(model);
  model.fit(d.x, d.y, {.epochs = 1, .batch_size = 8, .verbose = 0});
  EXPECT_NE(unchanged.at("out/kernel"), values_by_name(model).at("out/kernel"));
}

TEST(Trainable, FrozenBatchNormalizationUsesAndKeepsItsMovingStatistics) {
  // Input → BN (frozen) → Dense(1, no bias): the training gradient of the kernel must be the
  // one through (x − moving_mean)/√(moving_var + ε)·γ + β, computed here by hand.
  random::set_seed(2);
  Sequential model;
  BatchNormalization norm({.input_shape = {3}, .epsilon = 1e-3f});
  norm.set_trainable(false);
  model.add(norm);
  model.add(Dense(1, {.use_bias = false}));
  model.compile({.loss = "mse", .optimizer = SGD{.learning_rate = 0.1f}});
  const float gamma[3] = {1.5f, 0.5f, 2.0f}, beta[3] = {0.1f, -0.2f, 0.3f};
  const float mean[3] = {0.4f, -1.0f, 2.0f}, variance[3] = {4.0f, 0.25f, 9.0f};
  const float kernel[3] = {0.3f, -0.7f, 0.2f};
  model.set_weights({Tensor(Shape{3}, {gamma[0], gamma[1], gamma[2]}), Tensor(Shape{3}, {beta[0], beta[1], beta[2]}),
                     Tensor(Shape{3}, {mean[0], mean[1], mean[2]}),
                     Tensor(Shape{3}, {variance[0], variance[1], variance[2]}),
                     Tensor(Shape{3, 1}, {kernel[0], kernel[1], kernel[2]})});
  const Data d = regression_data(8, 3);
  model.compute_gradients(d.x, d.y);
  double expected[3] = {0, 0, 0};
  for (int64_t r = 0; r < 8; ++r) {
    double normalized[3], out = 0;
    for (int c = 0; c < 3; ++c) {
      normalized[c] = (d.x[r * 3 + c] - mean[c]) / std::sqrt(double(variance[c]) + 1e-3) * gamma[c] + beta[c];
      out += normalized[c] * kernel[c];
    }
    for (int c = 0; c < 3; ++c) expected[c] += 2.0 * (out - d.y[r]) * normalized[c] / 8;
  }
  ParameterStore& store = model.parameters();
  for (size_t id = 0; id < store.parameters().size(); ++id) {
    if (store.parameters()[id].name.find("kernel") == std::string::npos) continue;
    const TensorView grad = store.grad(int(id));
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(grad[c], expected[c], 1e-5) << c;
  }
  model.fit(d.x, d.y, {.epochs = 2, .batch_size = 4, .verbose = 0});
  const std::vector<Tensor> after = model.get_weights();
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(after[0][c], gamma[c]);
    EXPECT_EQ(after[1][c], beta[c]);
    EXPECT_EQ(after[2][c], mean[c]);
    EXPECT_EQ(after[3][c], variance[c]);
  }
  // Unfrozen, it normalizes with the batch's statistics and moves its moving ones.
  model.layer(0).set_trainable(true);
  model.compile({.loss = "mse", .optimizer = SGD{.learning_rate = 0.1f}});
  model.fit(d.x, d.y, {.epochs = 1, .batch_size = 4, .verbose = 0});
  EXPECT_NE(model.get_weights()[2][0], mean[0]);
}

TEST(Trainable, PrivateTrainingClipsOverTheTrainableWeightsOnly) {
  // x → Dense(5, frozen) → BN(frozen) → Dense(4) → Dense(1), and a second branch x → Dense(2)
  // merged by Concatenate: one DP-SGD step without noise against per-example backward passes
  // whose norms cover the trainable layers' gradients, selected here by name.
  const Data d = regression_data(6, 4);
  const std::vector<std::string> frozen = {"base/", "norm/"};
  auto is_frozen = [&](const std::string& name) {
    return std::any_of(frozen.begin(), frozen.end(), [&](const std::string& p) { return name.rfind(p, 0) == 0; });
  };
  auto make = [] {
    random::set_seed(11);
    auto x = Input({4});
    Dense base(5, {.activation = "tanh"});
    base.named("base").set_trainable(false);
    BatchNormalization norm;
    norm.named("norm").set_trainable(false);
    auto h = norm(base(x));
    auto side = Dense(2).named("side")(x);
    auto merged = Concatenate().named("concat")({Dense(4, {.activation = "tanh"}).named("mid")(h), side});
    Model model({x}, {Dense(1).named("out")(merged)});
    model.compile({.loss = "mse", .optimizer = SGD{.learning_rate = 0.1f}});
    return model;
  };
  for (const float clip : {0.01f, 1e6f}) {
    Model reference = make();
    const auto before = values_by_name(reference);
    std::map<std::string, std::vector<double>> sum;
    for (int64_t r = 0; r < 6; ++r) {
      reference.compute_gradients(d.x.rows(r, r + 1), d.y.rows(r, r + 1));
      ParameterStore& store = reference.parameters();
      double squared = 0;
      std::map<std::string, std::vector<float>> gradient;
      for (size_t id = 0; id < store.parameters().size(); ++id) {
        const ParameterInfo& info = store.parameters()[id];
        if (is_frozen(info.name)) continue;
        const TensorView g = store.grad(int(id));
        gradient[info.name].assign(g.data(), g.data() + g.numel());
        for (int64_t i = 0; i < g.numel(); ++i) squared += double(g[i]) * g[i];
      }
      const double factor = std::min(1.0, clip / std::sqrt(squared));
      for (const auto& [name, g] : gradient) {
        sum[name].resize(g.size(), 0.0);
        for (size_t i = 0; i < g.size(); ++i) sum[name][i] += factor * g[i];
      }
    }
    Model model = make();
    model.fit(d.x, d.y,
              {.epochs = 1, .batch_size = 6, .shuffle = false, .verbose = 0,
               .private_training = PrivateTraining{.l2_norm_clip = clip, .noise_multiplier = 0.0f,
                                                  .poisson_sampling = false}});
    const auto after = values_by_name(model);
    double worst = 0, largest = 0;
    for (const auto& [name, value] : before) {
      if (is_frozen(name)) {
        EXPECT_EQ(value, after.at(name)) << name;
        continue;
      }
      for (size_t i = 0; i < value.size(); ++i) {
        const double step = 0.1 * sum.at(name)[i] / 6;
        worst = std::max(worst, std::fabs(double(value[i]) - step - after.at(name)[i]));
        largest = std::max(largest, std::fabs(step));
      }
    }
    EXPECT_GT(largest, 1e-5) << "clip " << clip;
    EXPECT_LT(worst, 1e-6 + 1e-3 * largest) << "clip " << clip;
  }
}

TEST(Trainable, ConfigsKeepTheFlag) {
  Model model = residual_with_frozen_layer();
  const nlohmann::json config = nlohmann::json::parse(model_to_config(model));
  int frozen_entries = 0;
  for (const auto& entry : config["config"]["layers"]) {
    const bool frozen = entry["config"].value("trainable", true) == false;
    frozen_entries += frozen;
    EXPECT_EQ(frozen, entry["name"] == "frozen") << entry.dump();
  }
  EXPECT_EQ(frozen_entries, 1);
  Model loaded = model_from_config(config.dump(), "config");
  EXPECT_FALSE(loaded.get_layer("frozen").trainable());
  EXPECT_TRUE(loaded.get_layer("hidden").trainable());
  loaded.build();
  EXPECT_EQ(loaded.count_trainable_params(), model.count_trainable_params());
  EXPECT_EQ(loaded.parameters().trainable_size(), 4 * 3 + 3 + 3 * 1 + 1);  // hidden, out

  // A Sequential config too, and a bad value names the layer.
  nlohmann::json sequential = {{"class_name", "Sequential"},
                               {"config",
                                {{"name", "s"},
                                 {"layers",
                                  {{{"class_name", "Dense"},
                                    {"config", {{"name", "d"}, {"units", 2}, {"input_dim", 3}, {"trainable", false}}}},
                                   {{"class_name", "Dense"}, {"config", {{"name", "e"}, {"units", 1}}}}}}}}};
  Model chain = model_from_config(sequential.dump(), "seq.json");
  EXPECT_FALSE(chain.get_layer("d").trainable());
  chain.build(Shape{3});
  EXPECT_NE(model_to_config(chain).find("\"trainable\":false"), std::string::npos);
  sequential["config"]["layers"][0]["config"]["trainable"] = "no";
  try {
    model_from_config(sequential.dump(), "seq.json");
    FAIL() << "a non-boolean trainable was accepted";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("seq.json: layers[0]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("trainable"), std::string::npos) << e.what();
  }
}

TEST(Trainable, KerasConfigsFreezeFrozenLayersAndFrozenNestedModels) {
  // A Keras 3 Functional config with a frozen nested Sequential model (its layers' own flags
  // left true, to show the model's flag is enough) and a frozen top-level layer.
  auto dense = [](const std::string& name, int units, bool trainable) {
    return nlohmann::json{{"class_name", "Dense"},
                          {"config", {{"name", name}, {"units", units}, {"trainable", trainable}}}};
  };
  auto ref = [](const std::string& layer) {
    return nlohmann::json{{"class_name", "__keras_tensor__"}, {"config", {{"keras_history", {layer, 0, 0}}}}};
  };
  nlohmann::json block = {{"class_name", "Sequential"},
                          {"name", "block"},
                          {"config", {{"name", "block"}, {"trainable", false},
                                      {"layers", {dense("inner", 3, true)}}}},
                          {"inbound_nodes", {{{"args", {ref("x")}}, {"kwargs", nlohmann::json::object()}}}}};
  nlohmann::json top = dense("top", 2, false);
  top["name"] = "top";
  top["inbound_nodes"] = {{{"args", {ref("block")}}, {"kwargs", nlohmann::json::object()}}};
  nlohmann::json head = dense("head", 1, true);
  head["name"] = "head";
  head["inbound_nodes"] = {{{"args", {ref("top")}}, {"kwargs", nlohmann::json::object()}}};
  const nlohmann::json config = {
      {"class_name", "Functional"},
      {"config",
       {{"name", "outer"},
        {"layers",
         {{{"class_name", "InputLayer"}, {"name", "x"}, {"config", {{"name", "x"}, {"batch_shape", {nullptr, 4}}}},
           {"inbound_nodes", nlohmann::json::array()}},
          block, top, head}},
        {"input_layers", {{"x", 0, 0}}},
        {"output_layers", {{"head", 0, 0}}}}}};
  Model model = keras_architecture(config.dump(), "outer.json");
  EXPECT_FALSE(model.get_layer("block.inner").trainable());
  EXPECT_FALSE(model.get_layer("top").trainable());
  EXPECT_TRUE(model.get_layer("head").trainable());
  model.build();
  EXPECT_EQ(model.count_params(), 4 * 3 + 3 + 3 * 2 + 2 + 2 + 1);
  EXPECT_EQ(model.parameters().trainable_size(), 2 + 1);
}

}  // namespace trainable_test
