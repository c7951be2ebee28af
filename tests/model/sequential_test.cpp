// Sequential end to end: building, the summary, training small problems, gradients of
// the whole model, reproducibility, and the errors a user can run into.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "citadel/core/error.hpp"
#include "citadel/layers/activation.hpp"
#include "citadel/layers/conv2d.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/layers/pooling2d.hpp"
#include "citadel/model/sequential.hpp"
#include "grad_check.hpp"

namespace sequential_test {

using namespace citadel;

namespace {

Sequential reference_network() {
  Sequential model;
  model.add(Dense(10, {.input_dim = 8, .activation = "relu"}));
  model.add(Dense(10, {.activation = "relu"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  return model;
}

// XOR, repeated: not linearly separable, so it needs the hidden layer.
void xor_data(Tensor& x, Tensor& y) {
  x = Tensor(Shape{16, 2});
  y = Tensor(Shape{16, 1});
  for (int i = 0; i < 16; ++i) {
    const int a = i & 1, b = (i >> 1) & 1;
    x.at(i, 0) = float(a);
    x.at(i, 1) = float(b);
    y[i] = float(a ^ b);
  }
}

// Three Gaussian blobs in 2-D, labels 0..2.
void blobs(Tensor& x, Tensor& y, int per_class, uint64_t seed) {
  Rng rng(seed);
  const float centres[3][2] = {{-2, 0}, {2, 0}, {0, 2.5f}};
  x = Tensor(Shape{3 * per_class, 2});
  y = Tensor(Shape{3 * per_class});
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < per_class; ++i) {
      const int row = c * per_class + i;
      x.at(row, 0) = centres[c][0] + float(0.6 * rng.normal());
      x.at(row, 1) = centres[c][1] + float(0.6 * rng.normal());
      y[row] = float(c);
    }
}

std::string error_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Sequential, SummaryShowsLayersShapesAndParameterCountsAsKeras) {
  Sequential model = reference_network();
  const std::string table = model.summary_text();
  // 8·10 + 10 = 90, 10·10 + 10 = 110, 10·1 + 1 = 11.
  EXPECT_NE(table.find("dense (Dense)"), std::string::npos) << table;
  EXPECT_NE(table.find("dense_1 (Dense)"), std::string::npos) << table;
  EXPECT_NE(table.find("dense_2 (Dense)"), std::string::npos) << table;
  EXPECT_NE(table.find("(None, 10)"), std::string::npos) << table;
  EXPECT_NE(table.find("(None, 1)"), std::string::npos) << table;
  EXPECT_NE(table.find("90\n"), std::string::npos) << table;
  EXPECT_NE(table.find("110\n"), std::string::npos) << table;
  EXPECT_NE(table.find("11\n"), std::string::npos) << table;
  EXPECT_NE(table.find("Total params: 211"), std::string::npos) << table;
}

// Every row's cells start where the header's columns start, with white space before them,
// however long a layer's name or shape.
TEST(Sequential, SummaryColumnsNeverRunTogether) {
  Sequential model;
  model.add(Conv2D(16, {3, 3}, {.input_shape = {28, 28, 1}, .activation = "relu"}));
  model.add(MaxPooling2D({2, 2}));
  model.add(Flatten());
  model.add(Dense(10));
  model.layer(3).set_name("a_layer_name_longer_than_any_keras_column");  // as a config's "name" does
  const std::string table = model.summary_text();
  std::istringstream lines(table);
  std::string line, header;
  std::vector<std::string> rows;
  while (std::getline(lines, line)) {
    if (line.find("Layer (type)") != std::string::npos) header = line;
    else if (line.find(") ") != std::string::npos && line.rfind(" ", 0) == 0) rows.push_back(line);
  }
  ASSERT_EQ(rows.size(), 4u) << table;
  const size_t shape_column = header.find("Output Shape"), count_column = header.find("Param #");
  for (const std::string& row : rows) {
    ASSERT_GT(row.size(), count_column) << table;
    EXPECT_EQ(row[shape_column], '(') << "the shape does not start under its header:\n" << table;
    EXPECT_EQ(row.substr(shape_column - 2, 2), "  ") << "the name runs into the shape:\n" << table;
    EXPECT_NE(row[count_column], ' ') << table;
    EXPECT_EQ(row[count_column - 1], ' ') << "the shape runs into the count:\n" << table;
  }
  EXPECT_NE(table.find(" max_pooling2d (MaxPooling2D)  "), std::string::npos) << table;
  EXPECT_NE(table.find("a_layer_name_longer_than_any_keras_column (Dense)  "), std::string::npos) << table;
}

TEST(Sequential, LearnsXor) {
  random::set_seed(3);
  Sequential model;
  model.add(Dense(8, {.input_dim = 2, .activation = "tanh"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = Adam{.learning_rate = 0.05f}, .metrics = {"accuracy"}});
  Tensor x, y;
  xor_data(x, y);
  const History history = model.fit(x, y, {.epochs = 300, .batch_size = 4, .verbose = 0});
  EXPECT_LT(history["loss"].back(), 0.1 * history["loss"].front());
  EXPECT_EQ(model.evaluate(x, y)["accuracy"], 1.0);
}

TEST(Sequential, LearnsThreeBlobsWithSoftmax) {
  random::set_seed(4);
  Sequential model;
  model.add(Dense(16, {.input_dim = 2, .activation = "relu"}));
  model.add(Dense(3, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam", .metrics = {"accuracy", "auc"}});
  Tensor x, y, x_test, y_test;
  blobs(x, y, 100, 1);
  blobs(x_test, y_test, 50, 2);
  model.fit(x, y, {.epochs = 40, .batch_size = 16, .verbose = 0});
  const Logs logs = model.evaluate(x_test, y_test);
  EXPECT_GT(logs.at("accuracy"), 0.95);
  EXPECT_GT(logs.at("auc"), 0.98);
  const Tensor probabilities = model.predict(x_test);
  ASSERT_EQ(probabilities.shape(), (Shape{150, 3}));
  for (int64_t n = 0; n < 150; ++n)
    EXPECT_NEAR(probabilities.at(n, 0) + probabilities.at(n, 1) + probabilities.at(n, 2), 1.0, 1e-5);
}

TEST(Sequential, FitsALineWithMeanSquaredError) {
  random::set_seed(5);
  Sequential model;
  model.add(Dense(1, {.input_dim = 1}));
  model.compile({.loss = "mse", .optimizer = SGD{.learning_rate = 0.1f}});
  Tensor x = random::uniform({200, 1}, -1, 1), y(Shape{200, 1});
  for (int i = 0; i < 200; ++i) y[i] = 2 * x[i] + 1;
  model.fit(x, y, {.epochs = 100, .batch_size = 20, .verbose = 0});
  const std::vector<Tensor> weights = model.get_weights();
  EXPECT_NEAR(weights[0][0], 2.0, 1e-3);
  EXPECT_NEAR(weights[1][0], 1.0, 1e-3);
}

// The whole model's parameter gradients (with the sigmoid/softmax fused into the loss, or
// not) against finite differences of its evaluated loss.
class ModelGradient : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelGradient, MatchesFiniteDifferencesOfTheLoss) {
  const std::string loss = GetParam();
  random::set_seed(6);
  Sequential model;
  model.add(Dense(5, {.input_dim = 3, .activation = "tanh"}));
  const bool multiclass = loss.find("categorical") != std::string::npos;
  model.add(Dense(multiclass ? 3 : 1, {.activation = multiclass ? "softmax" : "sigmoid"}));
  model.compile({.loss = loss, .optimizer = "sgd"});
  const Tensor x = testkit::random_input(Shape{6, 3}, 9);
  Tensor y(loss == "categorical_crossentropy" ? Shape{6, 3} : Shape{6, 1});
  for (int n = 0; n < 6; ++n) {
    if (loss == "categorical_crossentropy") y.at(n, n % 3) = 1;
    else y[n] = float(multiclass ? n % 3 : n % 2);
  }
  EXPECT_LT(testkit::model_gradient_error(model, x, y), 2e-3) << loss;
}

INSTANTIATE_TEST_SUITE_P(FusedAndUnfused, ModelGradient,
                         ::testing::Values("binary_crossentropy", "mse", "huber", "categorical_crossentropy",
                                           "sparse_categorical_crossentropy"));

TEST(Sequential, SameSeedGivesBitIdenticalWeights) {
  auto train = [](uint64_t seed) {
    random::set_seed(seed);
    Sequential model = reference_network();
    model.compile({.loss = "binary_crossentropy", .optimizer = "adam"});
    Tensor x = random::uniform({200, 8});
    Tensor y = random::randint(0, 2, {200, 1});
    model.fit(x, y, {.epochs = 3, .batch_size = 32, .verbose = 0});
    std::vector<float> flat;
    for (const Tensor& w : model.get_weights()) {
      const auto values = w.to_vector();
      flat.insert(flat.end(), values.begin(), values.end());
    }
    return flat;
  };
  const auto first = train(11), second = train(11), other = train(12);
  EXPECT_EQ(first, second);  // exact equality of every float
  EXPECT_NE(first, other);
}

TEST(Sequential, ValidationSplitTakesTheLastRowsAndFillsHistory) {
  random::set_seed(7);
  Sequential model = reference_network();
  model.compile({.loss = "binary_crossentropy", .optimizer = "adam", .metrics = {"accuracy", "precision"}});
  Tensor x = random::uniform({100, 8});
  Tensor y = random::randint(0, 2, {100, 1});
  const History history = model.fit(x, y, {.epochs = 3, .validation_split = 0.2, .verbose = 0});
  for (const char* key : {"loss", "accuracy", "precision", "val_loss", "val_accuracy", "val_precision"})
    EXPECT_EQ(history[key].size(), 3u) << key;
  EXPECT_EQ(history.epoch, (std::vector<int>{0, 1, 2}));
  // The validation figures of the last epoch are those of the final weights on rows 80..99.
  const Logs last_rows = model.evaluate(x.rows(80, 100), y.rows(80, 100));
  EXPECT_DOUBLE_EQ(history["val_loss"].back(), last_rows.at("loss"));
  EXPECT_THROW(history["val_auc"], ValueError);
}

TEST(Sequential, ValidationDataIsUsedWhenGiven) {
  Sequential model = reference_network();
  model.compile({.loss = "binary_crossentropy", .optimizer = "adam"});
  Tensor x = random::uniform({64, 8}), y = random::randint(0, 2, {64, 1});
  Tensor xv = random::uniform({10, 8}), yv = random::randint(0, 2, {10, 1});
  const History history = model.fit(x, y, {.epochs = 2, .validation_data = ValidationData{xv, yv}, .verbose = 0});
  EXPECT_DOUBLE_EQ(history["val_loss"].back(), model.evaluate(xv, yv).at("loss"));
}

TEST(Sequential, EvaluateMatchesTheLossComputedFromPredictions) {
  Sequential model = reference_network();
  model.compile({.loss = "binary_crossentropy", .optimizer = "adam", .metrics = {"accuracy"}});
  Tensor x = random::uniform({50, 8}), y = random::randint(0, 2, {50, 1});
  model.fit(x, y, {.epochs = 2, .verbose = 0});
  const Tensor p = model.predict(x);
  double loss = 0, correct = 0;
  for (int n = 0; n < 50; ++n) {
    loss -= y[n] * std::log(double(p[n])) + (1 - y[n]) * std::log(1 - double(p[n]));
    correct += (p[n] >= 0.5f) == (y[n] == 1.0f);
  }
  const Logs logs = model.evaluate(x, y, {.batch_size = 7});
  EXPECT_NEAR(logs.at("loss"), loss / 50, 1e-5);
  EXPECT_DOUBLE_EQ(logs.at("accuracy"), correct / 50);
}

TEST(Sequential, LossThresholdStopsTraining) {
  random::set_seed(8);
  Sequential model;
  model.add(Dense(8, {.input_dim = 2, .activation = "tanh"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = Adam{.learning_rate = 0.05f}});
  Tensor x, y;
  xor_data(x, y);
  const History history = model.fit(x, y, {.epochs = 1000, .batch_size = 4, .verbose = 0, .loss_threshold = 0.2});
  EXPECT_LT(history.epoch.size(), 1000u);
  EXPECT_LE(history["loss"].back(), 0.2);
  EXPECT_GT(history["loss"][history["loss"].size() - 2], 0.2);
  EXPECT_NE(history.stop_reason.find("threshold"), std::string::npos);
}

TEST(Sequential, VerboseTwoPrintsOneKerasLinePerEpoch) {
  Sequential model = reference_network();
  model.compile({.loss = "binary_crossentropy", .optimizer = "adam", .metrics = {"accuracy"}});
  Tensor x = random::uniform({64, 8}), y = random::randint(0, 2, {64, 1});
  ::testing::internal::CaptureStdout();
  model.fit(x, y, {.epochs = 2, .verbose = 2});
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("Epoch 1/2\n2/2 - "), std::string::npos) << out;
  // Keras 3's order: the figures sorted by name.
  EXPECT_NE(out.find("/step - accuracy: "), std::string::npos) << out;
  EXPECT_NE(out.find(" - loss: "), std::string::npos) << out;
  EXPECT_NE(out.find("Epoch 2/2"), std::string::npos) << out;
}

TEST(Sequential, ErrorsNameWhatIsWrong) {
  Tensor x = random::uniform({40, 8}), y = random::randint(0, 2, {40, 1});
  {
    Sequential model = reference_network();
    EXPECT_NE(error_message([&] { model.fit(x, y); }).find("before compile()"), std::string::npos);
  }
  {
    Sequential model = reference_network();
    model.compile({.loss = "binary_crossentropy", .optimizer = "adam"});
    const std::string wrong_width = error_message([&] { model.fit(random::uniform({40, 7}), y); });
    EXPECT_NE(wrong_width.find("(None, 8)"), std::string::npos) << wrong_width;
    const std::string rows = error_message([&] { model.fit(x, random::randint(0, 2, {39, 1})); });
    EXPECT_NE(rows.find("40 rows but y has 39"), std::string::npos) << rows;
    const std::string labels = error_message([&] { model.fit(x, random::randint(0, 3, {40, 2}), {.verbose = 0}); });
    EXPECT_NE(labels.find("binary_crossentropy"), std::string::npos) << labels;
  }
  {
    Sequential model;
    model.add(Dense(10, {.input_dim = 8}));
    model.add(Dense(4, {.input_dim = 3}));
    const std::string chain = error_message([&] { model.build(Shape{8}); });
    EXPECT_NE(chain.find("dense_1"), std::string::npos) << chain;
    EXPECT_NE(chain.find("(10,)"), std::string::npos) << chain;
  }
  Sequential model = reference_network();
  EXPECT_NE(error_message([&] { model.compile({.loss = "crossentropy"}); }).find("known:"), std::string::npos);
  EXPECT_NE(error_message([&] { model.compile({.loss = "mse", .optimizer = "adamax"}); }).find("known:"),
            std::string::npos);
  EXPECT_NE(error_message([&] { model.compile({.loss = "mse", .metrics = {"acc", "f2"}}); }).find("'f2'"),
            std::string::npos);
  EXPECT_NE(error_message([&] { model.compile({}); }).find("loss is required"), std::string::npos);
}

TEST(Sequential, NonFiniteLossStopsWithEpochAndStep) {
  Sequential model = reference_network();
  model.compile({.loss = "binary_crossentropy", .optimizer = "adam"});
  Tensor x = random::uniform({100, 8}), y = random::randint(0, 2, {100, 1});
  x.at(40, 3) = std::nanf("");  // row 40 is in the second batch of 32 when not shuffled
  const std::string message =
      error_message([&] { model.fit(x, y, {.epochs = 2, .batch_size = 32, .shuffle = false, .verbose = 0}); });
  EXPECT_NE(message.find("epoch 1, step 2 of 4"), std::string::npos) << message;
}

}  // namespace sequential_test
