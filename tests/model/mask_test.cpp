// Masks beside tensors (Keras's): Masking makes them, LayerNormalization and Activation pass
// them on, merge layers combine them as Keras 3 does, GlobalAveragePooling1D reads them;
// left- and right-padded batches predict what the unpadded sequences do; layers that drop
// a mask are named in mask_warnings() and summary(); Predictor and config round trips keep
// the masks; Keras 3's recorded mask computations are dropped on import.
#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/interop/keras_import.hpp"
#include "citadel/layers/activation.hpp"
#include "citadel/layers/conv1d.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/global_pooling1d.hpp"
#include "citadel/layers/layer_normalization.hpp"
#include "citadel/layers/masking.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/model/model_config.hpp"
#include "citadel/model/predictor.hpp"
#include "citadel/model/sequential.hpp"

namespace mask_test {

using namespace citadel;

namespace {

// Masking → LayerNormalization → GlobalAveragePooling1D → Dense, on `steps` steps of 3.
Model pooled_model(int64_t steps) {
  const SymbolicTensor x = Input({steps, 3});
  const SymbolicTensor h = GlobalAveragePooling1D()(LayerNormalization()(Masking(0.0f)(x)));
  return Model(x, Dense(2, {.activation = "tanh", .bias_initializer = "glorot_uniform"})(h));
}

// Row n of `content` (lengths[n] steps) placed at the start (right padding) or end (left).
Tensor padded(const std::vector<Tensor>& content, int64_t steps, bool left) {
  Tensor x(Shape{int64_t(content.size()), steps, 3});
  std::fill_n(x.data(), x.numel(), 0.0f);
  for (size_t n = 0; n < content.size(); ++n) {
    const int64_t length = content[n].shape(1), start = left ? steps - length : 0;
    std::copy_n(content[n].data(), length * 3, x.data() + (int64_t(n) * steps + start) * 3);
  }
  return x;
}

bool contains(const std::vector<std::string>& lines, const std::string& text) {
  for (const std::string& line : lines)
    if (line.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(Masks, LeftAndRightPaddedBatchesPredictWhatTheUnpaddedSequencesDo) {
  random::set_seed(4);
  Model model = pooled_model(6);
  const std::vector<int64_t> lengths = {6, 4, 1, 3};
  std::vector<Tensor> content;
  for (const int64_t length : lengths) content.push_back(random::uniform(Shape{1, length, 3}, 0.5f, 2.0f));
  const Tensor right = model.predict(padded(content, 6, false));
  const Tensor left = model.predict(padded(content, 6, true));
  ASSERT_EQ(right.shape(), (Shape{4, 2}));
  for (size_t n = 0; n < lengths.size(); ++n) {
    // The same weights on the sequence alone, of its own length: no padding, no mask.
    Model alone = pooled_model(lengths[n]);
    alone.set_weights(model.get_weights());
    const Tensor expected = alone.predict(content[n]);
    for (int64_t k = 0; k < 2; ++k) {
      EXPECT_NEAR(right[int64_t(n) * 2 + k], expected[k], 1e-6) << "row " << n;
      EXPECT_NEAR(left[int64_t(n) * 2 + k], expected[k], 1e-6) << "row " << n;
    }
  }
  EXPECT_EQ(Predictor(model).predict(padded(content, 6, true)).to_vector(), left.to_vector());
  EXPECT_TRUE(model.mask_warnings().empty());
}

TEST(Masks, GradientsDoNotReachMaskedSteps) {
  random::set_seed(5);
  Model model = pooled_model(5);
  model.compile({.loss = "mse", .optimizer = "sgd"});
  Tensor x = random::uniform(Shape{2, 5, 3}, 0.5f, 2.0f);
  for (int64_t t = 3; t < 5; ++t)
    for (int64_t c = 0; c < 3; ++c) x[(0 * 5 + t) * 3 + c] = 0.0f;  // row 0: steps 3 and 4 padded
  const Tensor y = random::uniform(Shape{2, 2});
  const Tensor dx = model.input_gradient(x, y);
  for (int64_t t = 0; t < 5; ++t) {
    double row0 = 0, row1 = 0;
    for (int64_t c = 0; c < 3; ++c) {
      row0 += std::fabs(dx[(0 * 5 + t) * 3 + c]);
      row1 += std::fabs(dx[(1 * 5 + t) * 3 + c]);
    }
    if (t >= 3) EXPECT_EQ(row0, 0.0) << "masked step " << t;
    else EXPECT_GT(row0, 0.0) << "step " << t;
    EXPECT_GT(row1, 0.0) << "step " << t;
  }
}

TEST(Masks, MergeLayersCombineMasksAsKeras3) {
  // Steps of one feature: 0 (masked by Masking(0)), 9 (masked by Masking(9)), 2.
  const Tensor x(Shape{1, 3, 1}, {0, 9, 2});
  const SymbolicTensor input = Input({3, 1});
  const SymbolicTensor zeros_masked = Masking(0.0f)(input), nines_masked = Masking(9.0f)(input);
  // Add of two masked tensors: a step is kept where either keeps it (OR), so all 3 count:
  // (0 + 0) + (9 + 0) + (2 + 2) over 3.
  Model both(input, GlobalAveragePooling1D()(Add()({zeros_masked, nines_masked})));
  EXPECT_FLOAT_EQ(both.predict(x)[0], 13.0f / 3.0f);
  // Add with an unmasked tensor gives no mask (Keras 3): (0+0) + (9+9) + (2+2) over 3.
  Model one(input, GlobalAveragePooling1D()(Add()({zeros_masked, input})));
  EXPECT_FLOAT_EQ(one.predict(x)[0], 22.0f / 3.0f);
  // Concatenate along the features: an input without a mask keeps every step.
  Model features(input, GlobalAveragePooling1D()(Concatenate()({zeros_masked, input})));
  const Tensor f = features.predict(x);
  EXPECT_FLOAT_EQ(f[0], 11.0f / 3.0f);
  EXPECT_FLOAT_EQ(f[1], 11.0f / 3.0f);
  // Concatenate along time: the masks are concatenated: steps 9, 2 of the first and all
  // three of the second count: (9 + 2 + 0 + 9 + 2) / 5.
  Model time(input, GlobalAveragePooling1D()(Concatenate({.axis = 1})({zeros_masked, input})));
  EXPECT_FLOAT_EQ(time.predict(x)[0], 22.0f / 5.0f);
  // A mask passes through Activation; Dot takes masked inputs and gives none.
  Model activated(input, GlobalAveragePooling1D()(Activation("relu")(zeros_masked)));
  EXPECT_FLOAT_EQ(activated.predict(x)[0], 11.0f / 2.0f);
  for (Model* model : {&both, &one, &features, &time, &activated}) EXPECT_TRUE(model->mask_warnings().empty());
}

TEST(Masks, LayersThatDropAMaskAreNamedInTheSummary) {
  const SymbolicTensor x = Input({6, 3});
  const SymbolicTensor masked = Masking(0.0f).named("pad_mask")(x);
  const SymbolicTensor convolved = Conv1D(4, 3, {.padding = "same"}).named("conv")(masked);
  Model model(x, Dense(1).named("out")(GlobalAveragePooling1D()(convolved)));
  const std::vector<std::string> warnings = model.mask_warnings();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("'conv' (Conv1D) does not support masking"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("'pad_mask' (Masking)"), std::string::npos) << warnings[0];
  EXPECT_NE(model.summary_text().find("Warning: layer 'conv' (Conv1D)"), std::string::npos) << model.summary_text();

  // GlobalMaxPooling1D takes the maximum over every step (Keras 3 too): a warning.
  Model max_pooled(x, GlobalMaxPooling1D().named("max")(masked));
  EXPECT_TRUE(contains(max_pooled.mask_warnings(), "'max' (GlobalMaxPooling1D) does not support masking"));

  // An output that carries a mask: the loss does not apply it, and says so.
  Model sequence_out(x, LayerNormalization().named("norm")(masked));
  EXPECT_TRUE(contains(sequence_out.mask_warnings(), "output 'norm' (LayerNormalization) carries a mask"));

  // A Sequential model before it is built, planned as a chain.
  Sequential chain;
  chain.add(Masking(0.0f));
  chain.add(Conv1D(2, 2));
  EXPECT_TRUE(contains(chain.mask_warnings(), "'conv1d' (Conv1D) does not support masking"));

  // No Masking, no warning.
  Model plain(x, GlobalAveragePooling1D()(Conv1D(4, 3)(x)));
  EXPECT_TRUE(plain.mask_warnings().empty());
  EXPECT_EQ(plain.summary_text().find("Warning"), std::string::npos);
}

TEST(Masks, PredictorAndConfigRoundTripKeepTheMasks) {
  random::set_seed(6);
  Model model = pooled_model(5);
  Tensor x = random::uniform(Shape{3, 5, 3}, 0.5f, 2.0f);
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t t = 0; t < n + 1; ++t)
      for (int64_t c = 0; c < 3; ++c) x[(n * 5 + t) * 3 + c] = 0.0f;  // left padding of n + 1 steps
  const std::vector<float> expected = model.predict(x).to_vector();
  EXPECT_EQ(Predictor(model).predict(x).to_vector(), expected);
  Model copy = model_from_config(model_to_config(model), "test");
  copy.build();
  copy.set_weights(model.get_weights());
  EXPECT_EQ(copy.predict(x).to_vector(), expected);
  // And the mask mattered: the unmasked average of the same steps differs.
  const SymbolicTensor input = Input({5, 3});
  Model unmasked(input, Dense(2, {.activation = "tanh"})(GlobalAveragePooling1D()(LayerNormalization()(input))));
  unmasked.set_weights(model.get_weights());
  EXPECT_NE(unmasked.predict(x).to_vector(), expected);
}

namespace {

// A Keras 3.15 Functional config as real Keras writes it for Masking → (LayerNormalization,
// Activation) → Add → GlobalAveragePooling1D → Dense: the mask computations are recorded as
// operation layers (NotEqual, Any, LogicalOr) feeding the pooling's `mask` argument.
std::string tensor(const std::string& layer, const char* shape = "[null, 4, 2]") {
  return std::string(R"({"class_name": "__keras_tensor__", "config": {"shape": )") + shape +
         R"(, "dtype": "float32", "keras_history": [")" + layer + R"(", 0, 0]}})";
}
std::string call(const std::string& args, const std::string& kwargs = "{}") {
  return R"([{"args": [)" + args + R"(], "kwargs": )" + kwargs + "}]";
}
std::string layer(const char* class_name, const char* name, const std::string& config, const std::string& inbound,
                  const char* module = "keras.layers") {
  return std::string(R"({"module": ")") + module + R"(", "class_name": ")" + class_name + R"(", "name": ")" + name +
         R"(", "config": {"name": ")" + name + "\"" + config + R"(}, "inbound_nodes": )" + inbound + "}";
}
std::string keras3_masked_config(const std::string& mask_source, const std::string& norm_input = "pad") {
  const std::string layers[] = {
      layer("InputLayer", "tokens", R"(, "batch_shape": [null, 4, 2], "dtype": "float32")", "[]"),
      layer("Masking", "pad", R"(, "mask_value": 0.0)", call(tensor("tokens"))),
      layer("NotEqual", "not_equal", "", call(tensor("tokens") + ", 0.0"), "keras.src.ops.numpy"),
      layer("LayerNormalization", "norm", R"(, "axis": -1, "epsilon": 0.001)", call(tensor(norm_input))),
      layer("Activation", "squash", R"(, "activation": "tanh")", call(tensor("pad"))),
      layer("Any", "any", R"(, "axis": -1)", call(tensor("not_equal")), "keras.src.ops.numpy"),
      layer("Add", "both", "", call(std::string("[").append(tensor("norm")).append(", ").append(tensor("squash")).append("]"))),
      layer("LogicalOr", "logical_or", "", call(tensor("any", "[null, 4]") + ", " + tensor("any", "[null, 4]")),
            "keras.src.ops.numpy"),
      layer("GlobalAveragePooling1D", "mean", R"(, "data_format": "channels_last", "keepdims": false)",
            call(tensor("both"), R"({"mask": )" + tensor(mask_source, "[null, 4]") + "}")),
      layer("Dense", "out", R"(, "units": 1)", call(tensor("mean", "[null, 2]"))),
  };
  std::string joined;
  for (const std::string& entry : layers) joined += (joined.empty() ? "" : ", ") + entry;
  return R"({"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name": "masked", )"
         R"("layers": [)" + joined + R"(], "input_layers": [["tokens", 0, 0]], "output_layers": [["out", 0, 0]]}})";
}

}  // namespace

TEST(Masks, KerasRecordedMaskComputationsAreDroppedOnImport) {
  Model imported = keras_architecture(keras3_masked_config("logical_or"), "masked.json");
  imported.build();
  std::vector<std::string> types;
  for (size_t i = 0; i < imported.size(); ++i) types.push_back(imported.layer(i).type());
  EXPECT_EQ(types, (std::vector<std::string>{"Masking", "LayerNormalization", "Activation", "Add",
                                             "GlobalAveragePooling1D", "Dense"}));
  EXPECT_TRUE(imported.mask_warnings().empty());
  // It computes what the same model built in C++ does, masks included.
  const SymbolicTensor x = Input({4, 2});
  const SymbolicTensor masked = Masking(0.0f)(x);
  const SymbolicTensor both = Add()({LayerNormalization()(masked), Activation("tanh")(masked)});
  Model native(x, Dense(1)(GlobalAveragePooling1D()(both)));
  native.set_weights(imported.get_weights());
  const Tensor batch(Shape{2, 4, 2}, {1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 5, 6, 7, 8, 9, 1});
  EXPECT_EQ(imported.predict(batch).to_vector(), native.predict(batch).to_vector());
  const Tensor shifted(Shape{2, 4, 2}, {0, 0, 1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 9, 1, 0, 0});
  const Tensor a = imported.predict(batch), b = imported.predict(shifted);
  for (int64_t i = 0; i < 2; ++i) EXPECT_NEAR(a[i], b[i], 1e-6) << "padding on either side";

  // A mask argument fed by a layer's output is not a recorded computation: refused by name.
  try {
    keras_architecture(keras3_masked_config("norm"), "masked.json");
    FAIL() << "a mask from a layer";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("'mask'"), std::string::npos) << error.what();
  }
  // An operation a layer reads stays, and is refused as the class citadel lacks.
  try {
    keras_architecture(keras3_masked_config("logical_or", "not_equal"), "masked.json");
    FAIL() << "an operation read by a layer";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("NotEqual"), std::string::npos) << error.what();
  }
}

}  // namespace mask_test
