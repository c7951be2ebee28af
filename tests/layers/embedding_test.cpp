// Embedding against hand-computed values: the gather, the scatter-add of repeated ids, the
// mask of mask_zero (left- and right-padded rows agree), hostile ids refused before any row
// is read, Keras's defaults and configs, and integer model inputs (dtype kept by configs
// and model files, non-integers refused naming the input).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>

#include "citadel/core/error.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/embedding.hpp"
#include "citadel/layers/global_pooling1d.hpp"
#include "citadel/model/model_config.hpp"
#include "citadel/model/sequential.hpp"
#include "grad_check.hpp"

namespace embedding_test {

using namespace citadel;

namespace {

// A built Embedding(5, 3) whose row i is (10i, 10i + 1, 10i + 2).
std::unique_ptr<testkit::BuiltLayer> numbered_table(const Shape& ids_shape, bool mask_zero = false) {
  auto built = testkit::build_layer(Embedding(5, 3, mask_zero), ids_shape);
  TensorView table = built->params.value(0);
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t d = 0; d < 3; ++d) table[i * 3 + d] = float(10 * i + d);
  return built;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Embedding, GathersTheRowOfEachId) {
  auto built = numbered_table(Shape{2, 3});
  const Tensor ids(Shape{2, 3}, {4, 0, 2, 2, 2, 1});
  Tensor y;
  built->layer->forward(ids, y, Mode::kInfer);
  ASSERT_EQ(y.shape(), Shape({2, 3, 3}));
  const std::vector<float> expected{40, 41, 42, 0, 1, 2, 20, 21, 22, 20, 21, 22, 20, 21, 22, 10, 11, 12};
  EXPECT_EQ(y.to_vector(), expected);
}

TEST(Embedding, BackwardAddsEachPositionsGradientIntoItsRowOnly) {
  auto built = numbered_table(Shape{1, 3});
  const Tensor ids(Shape{1, 3}, {3, 1, 3});
  Tensor y, dx;
  built->layer->forward(ids, y, Mode::kTrain);
  built->params.zero_grad();
  built->layer->backward(Tensor(Shape{1, 3, 3}, {1, 2, 3, 10, 20, 30, 100, 200, 300}), dx);
  // Row 3 is hit twice (positions 0 and 2), row 1 once; rows 0, 2 and 4 not at all.
  const std::vector<float> expected{0, 0, 0, 10, 20, 30, 0, 0, 0, 101, 202, 303, 0, 0, 0};
  const auto grads = built->params.grads();
  EXPECT_EQ(std::vector<float>(grads.begin(), grads.end()), expected);
  EXPECT_EQ(dx.shape(), Shape({1, 3}));
  EXPECT_EQ(dx.to_vector(), std::vector<float>(3, 0.0f));  // ids have no gradient
}

TEST(Embedding, HostileIdsAreRefusedNamingTheLayerIdAndPosition) {
  auto built = numbered_table(Shape{2, 4});
  built->layer->set_name("words");
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  struct Case {
    float id;
    std::string says;
  };
  for (const Case& c : {Case{5, "id 5 at [example 1, position 2] is out of range; this layer's ids are 0 to 4"},
                        Case{-1, "id -1 at [example 1, position 2] is out of range"},
                        Case{-2147483648.0f, "id -2147483648 at [example 1, position 2] is out of range"},
                        Case{1e30f, "id 1.00000002e+30 at [example 1, position 2] is out of range"},
                        Case{16777216.0f, "id 16777216 at [example 1, position 2] is out of range"},
                        Case{0.5f, "id 0.5 at [example 1, position 2] is not an integer"},
                        Case{4.0001f, "id 4.00010014 at [example 1, position 2] is not an integer"},
                        Case{4.9999995f, "id 4.99999952 at [example 1, position 2] is not an integer"},
                        Case{nan, "id nan at [example 1, position 2] is not an integer"},
                        Case{-inf, "id -inf at [example 1, position 2] is not an integer"}}) {
    Tensor ids(Shape{2, 4}, {0, 1, 2, 3, 4, 0, c.id, 1});
    Tensor y;
    const std::string message = error_of([&] { built->layer->forward(ids, y, Mode::kInfer); });
    EXPECT_NE(message.find("words (Embedding): " + c.says), std::string::npos) << c.id << ": " << message;
  }
  EXPECT_THROW(Embedding(Embedding::kMaxInputDim + 1, 4), ValueError);
  EXPECT_THROW(Embedding(0, 4), ValueError);
  EXPECT_THROW(Embedding(10, 0), ValueError);
  EXPECT_NO_THROW(Embedding(Embedding::kMaxInputDim, 1));
}

TEST(Embedding, MaskZeroMasksPaddingSoLeftAndRightPaddedRowsAgree) {
  random::set_seed(4);
  const SymbolicTensor ids = Input({6}, {.name = "ids", .dtype = "int32"});
  const SymbolicTensor pooled = GlobalAveragePooling1D()(Embedding(9, 4, true)(ids));
  Model model(ids, Dense(2)(pooled));
  // The same tokens 3 5 5 8, right-padded, left-padded, and padded in the middle.
  const Tensor x(Shape{3, 6}, {3, 5, 5, 8, 0, 0, 0, 0, 3, 5, 5, 8, 3, 0, 5, 0, 5, 8});
  const Tensor y = model.predict(x);
  for (int64_t k = 0; k < 2; ++k) {
    EXPECT_NEAR(y.at(1, k), y.at(0, k), 1e-6);
    EXPECT_NEAR(y.at(2, k), y.at(0, k), 1e-6);
  }
  // Against the average of the four rows of the table by hand.
  const auto weights = model.get_weights();  // embeddings, kernel, bias
  for (int64_t k = 0; k < 2; ++k) {
    double expected = weights[2][k];
    for (int64_t d = 0; d < 4; ++d) {
      double mean = 0;
      for (int64_t id : {3, 5, 5, 8}) mean += weights[0][id * 4 + d] / 4.0;
      expected += mean * weights[1][d * 2 + k];
    }
    EXPECT_NEAR(y.at(0, k), expected, 1e-5);
  }
  // Without mask_zero, the padding rows count (the mean of six rows, two of them row 0).
  random::set_seed(4);
  const SymbolicTensor plain_ids = Input({6}, {.dtype = "int32"});
  Model plain(plain_ids, Dense(2)(GlobalAveragePooling1D()(Embedding(9, 4)(plain_ids))));
  plain.set_weights(weights);
  const Tensor unmasked = plain.predict(x);
  EXPECT_GT(std::fabs(unmasked.at(0, 0) - y.at(0, 0)) + std::fabs(unmasked.at(0, 1) - y.at(0, 1)), 1e-4);
}

TEST(Embedding, KerasDefaultsAndConfigs) {
  // Keras 3's default initializer "uniform" is U(-0.05, 0.05).
  random::set_seed(1);
  Sequential model;
  model.add(Embedding(1000, 8));
  model.build(Shape{5});
  const auto table = model.get_weights()[0];
  ASSERT_EQ(table.shape(), Shape({1000, 8}));
  float low = 1, high = -1;
  for (int64_t i = 0; i < table.numel(); ++i) low = std::min(low, table[i]), high = std::max(high, table[i]);
  EXPECT_GE(low, -0.05f);
  EXPECT_LE(high, 0.05f);
  EXPECT_LT(low, -0.045f);
  EXPECT_GT(high, 0.045f);
  EXPECT_EQ(model.parameters().parameters()[0].name, model.layer(0).name() + "/embeddings");
  EXPECT_EQ(model.input_dtypes(), std::vector<std::string>{"int32"});  // a chain that starts with ids

  // A Keras 3 config, as Keras writes it: input_dim is the vocabulary, not an input shape;
  // Keras 2's input_length is accepted and ignored.
  const std::string keras = R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
      {"class_name": "InputLayer", "config": {"batch_shape": [null, 7], "dtype": "int32", "sparse": false,
                                              "name": "tokens"}},
      {"class_name": "Embedding", "config": {"name": "emb", "trainable": true, "dtype": "float32",
         "input_dim": 50, "output_dim": 6, "embeddings_initializer": {"module": "keras.initializers",
         "class_name": "RandomUniform", "config": {"minval": -0.05, "maxval": 0.05, "seed": null}},
         "embeddings_regularizer": null, "activity_regularizer": null, "embeddings_constraint": null,
         "mask_zero": true, "input_length": 7}},
      {"class_name": "GlobalAveragePooling1D", "config": {"name": "pool"}}]}})";
  Model read = model_from_config(keras, "keras.json");
  read.build(Shape{7});
  EXPECT_EQ(read.input_shape(), Shape({7}));
  EXPECT_EQ(read.output_shape(), Shape({6}));
  const auto& embedding = dynamic_cast<const Embedding&>(read.layer(0));
  EXPECT_EQ(embedding.input_dim(), 50);
  EXPECT_TRUE(embedding.options().mask_zero);
  EXPECT_EQ(embedding.options().embeddings_initializer, "random_uniform");

  for (const char* bad : {R"("sparse": true)", R"("embeddings_constraint": "non_neg")", R"("lora_rank": 4)",
                          R"("input_dim": 16777217)", R"("input_dim": 0)"}) {
    const std::string config = std::string(R"({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Embedding", "config": {"input_dim": 5, "output_dim": 2, )") + bad +
                               R"(, "batch_input_shape": [null, 3]}}]}})";
    const std::string message = error_of([&] { model_from_config(config, "bad.json"); });
    EXPECT_NE(message.find("bad.json: layers[0]"), std::string::npos) << bad << ": " << message;
  }
}

TEST(Embedding, IntegerInputsKeepTheirDtypeAndRefuseNonIntegers) {
  random::set_seed(2);
  const SymbolicTensor ids = Input({4}, {.name = "ids", .dtype = "int64"});
  Model model(ids, Dense(1)(GlobalAveragePooling1D()(Embedding(20, 3, true)(ids))));
  EXPECT_EQ(model.input_dtypes(), std::vector<std::string>{"int64"});
  const Tensor x(Shape{2, 4}, {1, 2, 19, 0, 7, 0, 0, 3});
  const std::vector<float> expected = model.predict(x).to_vector();

  // The config, the model file and a Keras file keep the dtype.
  const std::string config = model_to_config(model);
  EXPECT_NE(config.find(R"("dtype":"int64")"), std::string::npos) << config;
  Model from_config = model_from_config(config, "config");
  EXPECT_EQ(from_config.input_dtypes(), std::vector<std::string>{"int64"});
  const auto path = std::filesystem::temp_directory_path() / ("citadel_ids_" + std::to_string(::getpid()) + ".safetensors");
  save_model(model, path.string());
  LoadedModel loaded = load_model(path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(loaded.model.input_dtypes(), std::vector<std::string>{"int64"});
  EXPECT_EQ(loaded.model.predict(x).to_vector(), expected);

  // A value that is not an integer id is refused at the model's door, naming the input.
  for (float bad : {0.5f, std::numeric_limits<float>::quiet_NaN(), 16777218.0f}) {
    Tensor hostile = x;
    hostile.at(1, 2) = bad;
    const std::string message = error_of([&] { model.predict(hostile); });
    EXPECT_NE(message.find("predict: input 'ids' is int64 (token ids) but holds"), std::string::npos) << message;
    EXPECT_NE(message.find("at row 1, index 2"), std::string::npos) << message;
  }
  // An integer out of the table's range is the layer's refusal, naming it.
  Tensor outside = x;
  outside.at(0, 3) = 20;
  EXPECT_NE(error_of([&] { model.predict(outside); }).find("(Embedding): id 20 at [example 0, position 3] is out of range"),
            std::string::npos);
  // Gradient attacks (FGSM/PGD, adversarial training) step in the input: ids have no gradient.
  model.compile({.loss = "mse", .optimizer = "sgd"});
  EXPECT_NE(error_of([&] { model.input_gradient(x, Tensor(Shape{2, 1})); }).find("input 'ids' holds token ids (int64)"),
            std::string::npos);
  EXPECT_THROW(Input({4}, {.dtype = "string"}), ValueError);
  EXPECT_THROW(Input({4}, {.dtype = "float16"}), ValueError);
}

}  // namespace embedding_test
