// Graph models: Input → layer calls → Model(inputs, outputs). A chain trains exactly as
// Sequential; residual blocks, several inputs and outputs and shared layers have the
// gradients of finite differences; figures are named per output; DP-SGD's clipping of a
// shared layer matches per-example backward passes; errors name what is at fault; configs
// (Keras 3's and Keras 2's forms) and model files round-trip.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/io/checkpoint.hpp"
#include "citadel/io/encryption.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/protected_file.hpp"
#include "citadel/io/signing.hpp"
#include "citadel/layers/activation.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/model/callbacks.hpp"
#include "citadel/model/model_config.hpp"
#include "citadel/model/predictor.hpp"
#include "citadel/model/sequential.hpp"
#include "grad_check.hpp"
#include "private_step.hpp"

namespace functional_test {

using namespace citadel;

namespace {

std::vector<ConstTensorView> views(const std::vector<Tensor>& tensors) { return {tensors.begin(), tensors.end()}; }

std::string testkit_read(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

std::string error_of(const std::function<void()>& make) {
  try {
    make();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// x → h → h + Dense(h) → Dense(1): a residual block.
Model residual_model() {
  const SymbolicTensor x = Input({5}, {.name = "features"});
  const SymbolicTensor h = Dense(6, {.activation = "tanh"})(x);
  const SymbolicTensor skip = Add()({h, Dense(6, {.activation = "tanh"})(h)});
  return Model(x, Dense(1)(skip), {.name = "residual"});
}

// Two inputs, two outputs: a class from both, an amount from the product of both.
Model two_headed_model() {
  const SymbolicTensor a = Input({4}, {.name = "a"}), b = Input({3}, {.name = "b"});
  const SymbolicTensor ha = Dense(5, {.activation = "tanh"})(a), hb = Dense(5, {.activation = "tanh"})(b);
  const SymbolicTensor joined = Concatenate()({ha, hb});
  const SymbolicTensor label = Dense(1, {.activation = "sigmoid"}).named("label")(joined);
  const SymbolicTensor amount = Dense(2).named("amount")(Multiply()({ha, hb}));
  return Model({a, b}, {label, amount}, {.name = "two_headed"});
}

struct TwoHeadedData {
  Tensor a, b, label, amount;
};

TwoHeadedData two_headed_data(int64_t rows) {
  random::set_seed(4);
  TwoHeadedData d{random::uniform({rows, 4}, -1, 1), random::uniform({rows, 3}, -1, 1), Tensor(Shape{rows, 1}),
                  Tensor(Shape{rows, 2})};
  for (int64_t r = 0; r < rows; ++r) {
    d.label[r] = d.a.at(r, 0) + d.b.at(r, 1) > 0 ? 1.0f : 0.0f;
    d.amount.at(r, 0) = d.a.at(r, 2) * d.b.at(r, 0);
    d.amount.at(r, 1) = d.a.at(r, 1) - d.b.at(r, 2);
  }
  return d;
}

void compile_two_headed(Model& model) {
  model.compile({.loss = LossSpec(),
                 .optimizer = Adam{.learning_rate = 0.02f},
                 .losses = {{"label", LossSpec("binary_crossentropy")}, {"amount", LossSpec("mse")}},
                 .loss_weights = {{"amount", 0.5}},
                 .output_metrics = {{"label", {"accuracy"}}, {"amount", {"mae"}}}});
}

}  // namespace

// A chain made with the functional API is the same model as Sequential: same names, same
// initial weights from the same seed, the same weights after training, bit for bit.
TEST(Functional, AChainTrainsExactlyAsSequential) {
  random::set_seed(8);
  const Tensor x = random::uniform({64, 6}, -1, 1);
  Tensor y(Shape{64, 1});
  for (int64_t r = 0; r < 64; ++r) y[r] = x.at(r, 0) * x.at(r, 1) > 0 ? 1.0f : 0.0f;
  random::set_seed(3);
  Sequential sequential;
  sequential.add(Dense(8, {.input_dim = 6, .activation = "relu"}));
  sequential.add(Dense(8, {.activation = "relu"}));
  sequential.add(Dense(1, {.activation = "sigmoid"}));
  random::set_seed(3);
  const SymbolicTensor input = Input({6});
  SymbolicTensor t = Dense(8, {.activation = "relu"})(input);
  t = Dense(8, {.activation = "relu"})(t);
  Model functional(input, Dense(1, {.activation = "sigmoid"})(t));
  for (Model* model : {static_cast<Model*>(&sequential), &functional})
    model->compile({.loss = "binary_crossentropy", .optimizer = "adam", .metrics = {"accuracy"}});
  sequential.build(Shape{6});
  ASSERT_EQ(functional.count_params(), sequential.count_params());
  for (size_t i = 0; i < sequential.size(); ++i) EXPECT_EQ(functional.layer(i).name(), sequential.layer(i).name());
  const auto before = functional.get_weights(), expected_before = sequential.get_weights();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(before[i].to_vector(), expected_before[i].to_vector());
  const History a = sequential.fit(x, y, {.epochs = 3, .batch_size = 16, .verbose = 0, .seed = 5});
  const History b = functional.fit(x, y, {.epochs = 3, .batch_size = 16, .verbose = 0, .seed = 5});
  EXPECT_EQ(a.history.at("loss"), b.history.at("loss"));
  const auto after = functional.get_weights(), expected_after = sequential.get_weights();
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i].to_vector(), expected_after[i].to_vector());
}

TEST(Functional, GraphGradientsMatchFiniteDifferences) {
  random::set_seed(11);
  Model residual = residual_model();
  residual.compile({.loss = "mse", .optimizer = "sgd"});
  const Tensor x = random::uniform({7, 5}, -1, 1), y = random::uniform({7, 1}, -1, 1);
  EXPECT_LT(testkit::model_gradient_error(residual, x, y), 2e-3);

  Model two = two_headed_model();
  compile_two_headed(two);
  const TwoHeadedData d = two_headed_data(6);
  EXPECT_LT(testkit::model_gradient_error(two, {d.a, d.b}, {d.label, d.amount}), 2e-3);
}

// A layer called twice shares one set of weights; its gradient is the sum over its calls
// (checked against finite differences, which know nothing of calls).
TEST(Functional, ASharedLayerHasOneSetOfWeightsAndTheSumOfItsCallsGradients) {
  random::set_seed(12);
  const SymbolicTensor left = Input({4}), right = Input({4});
  const Dense encoder(3, {.activation = "tanh"});
  const SymbolicTensor distance = Subtract()({encoder(left), encoder(right)});
  Model siamese({left, right}, {Dense(1, {.activation = "sigmoid"})(distance)});
  EXPECT_EQ(siamese.size(), 3u);  // the encoder, the subtraction, the output
  EXPECT_EQ(siamese.count_params(), (4 * 3 + 3) + (3 + 1));
  siamese.compile({.loss = "binary_crossentropy", .optimizer = "sgd"});
  const Tensor l = random::uniform({5, 4}, -1, 1), r = random::uniform({5, 4}, -1, 1);
  Tensor same(Shape{5, 1});
  for (int64_t i = 0; i < 5; ++i) same[i] = float(i % 2);
  EXPECT_LT(testkit::model_gradient_error(siamese, {l, r}, {same}), 2e-3);
  EXPECT_NE(siamese.summary_text().find("dense[1][0]"), std::string::npos) << siamese.summary_text();
}

// Several outputs: a loss, a weight and metrics per output, named as Keras names them, in
// fit's history (validation too), evaluate and the callbacks; predict gives one array each.
TEST(Functional, SeveralOutputsAreTrainedAndReportedByName) {
  random::set_seed(13);
  Model model = two_headed_model();
  compile_two_headed(model);
  const TwoHeadedData d = two_headed_data(200);
  EarlyStopping stop({.monitor = "val_label_loss", .patience = 100});
  const History history = model.fit({d.a, d.b}, {d.label, d.amount},
                                    {.epochs = 15, .batch_size = 20, .validation_split = 0.2, .verbose = 0,
                                     .callbacks = {&stop}});
  for (const char* key : {"loss", "label_loss", "amount_loss", "label_accuracy", "amount_mae", "val_loss",
                          "val_label_loss", "val_amount_loss", "val_label_accuracy", "val_amount_mae"})
    EXPECT_TRUE(history.history.count(key)) << key;
  EXPECT_GT(history["label_accuracy"].back(), 0.8);
  EXPECT_LT(history["amount_loss"].back(), history["amount_loss"].front());
  // The total is the weighted sum of the outputs' losses.
  const Logs logs = model.evaluate({d.a, d.b}, {d.label, d.amount});
  EXPECT_NEAR(logs.at("loss"), logs.at("label_loss") + 0.5 * logs.at("amount_loss"), 1e-6);
  const std::vector<Tensor> predictions = model.predict({d.a, d.b});
  ASSERT_EQ(predictions.size(), 2u);
  EXPECT_EQ(predictions[0].shape(), Shape({200, 1}));
  EXPECT_EQ(predictions[1].shape(), Shape({200, 2}));
  EXPECT_EQ(model.output_names(), (std::vector<std::string>{"label", "amount"}));
  EXPECT_EQ(model.input_names(), (std::vector<std::string>{"a", "b"}));
  // A concurrent Predictor gives the same arrays.
  Predictor predictor(model);
  const std::vector<Tensor> again = predictor.predict(views({d.a, d.b}));
  EXPECT_EQ(again[0].to_vector(), predictions[0].to_vector());
  EXPECT_EQ(again[1].to_vector(), predictions[1].to_vector());
  // Feature extraction: an inner layer's output with the trained weights.
  const std::vector<Tensor> features = model.predict_layer_outputs(views({d.a, d.b}), {"concatenate"});
  EXPECT_EQ(features[0].shape(), Shape({200, 10}));
  EXPECT_THROW(model.predict_layer_outputs(views({d.a, d.b}), {"nope"}), ValueError);
  // Compile settings that name no output are refused.
  EXPECT_THROW(model.compile({.loss = "mse", .loss_weights = {{"nope", 1.0}}}), ValueError);
}

// DP-SGD on a graph with a shared layer and a fan-out: the sum of clipped per-example
// gradients equals one backward pass per example, clipped and summed. Summing each call's
// norm instead (the easy mistake) would clip by the wrong norm and fail.
TEST(Functional, PrivateTrainingClipsTheSumOverASharedLayersCalls) {
  auto make = [] {
    random::set_seed(21);
    const SymbolicTensor left = Input({4}), right = Input({4});
    const Dense encoder(3, {.activation = "tanh"});
    const SymbolicTensor l = encoder(left), r = encoder(right);
    const SymbolicTensor joined = Concatenate()({Add()({l, r}), Multiply()({l, l})});  // l fans out
    Model model({left, right}, {Dense(1, {.activation = "sigmoid"})(joined)});
    model.compile({.loss = "binary_crossentropy", .optimizer = SGD{.learning_rate = 1.0f}});
    return model;
  };
  random::set_seed(22);
  const Tensor l = random::uniform({6, 4}, -2, 2), r = random::uniform({6, 4}, -2, 2);
  Tensor y(Shape{6, 1});
  for (int64_t i = 0; i < 6; ++i) y[i] = float(i % 2);
  for (const float clip : {0.05f, 1e6f}) {
    const auto [worst, largest] = testkit::private_step_against_per_example_passes(make, l, r, y, clip);
    EXPECT_GT(largest, 1e-4) << "clip " << clip;
    EXPECT_LT(worst, 1e-5 + 1e-3 * largest) << "clip " << clip;
  }
}

// Checkpoints resume a graph exactly: 2 epochs + 2 resumed give the weights of 4.
TEST(Functional, ACheckpointResumesAGraphExactly) {
  const TwoHeadedData d = two_headed_data(60);
  const auto path = std::filesystem::temp_directory_path() / ("citadel_graph_ckpt_" + std::to_string(::getpid()));
  random::set_seed(31);
  Model straight = two_headed_model();
  compile_two_headed(straight);
  straight.fit({d.a, d.b}, {d.label, d.amount}, {.epochs = 4, .batch_size = 16, .verbose = 0, .seed = 2});
  random::set_seed(31);
  Model first = two_headed_model();
  compile_two_headed(first);
  first.fit({d.a, d.b}, {d.label, d.amount}, {.epochs = 2, .batch_size = 16, .verbose = 0, .seed = 2,
                                             .callbacks = {ModelCheckpoint(path.string())}});
  random::set_seed(99);
  Model resumed = two_headed_model();
  compile_two_headed(resumed);
  const ResumePoint point = restore_checkpoint(resumed, path.string());
  EXPECT_EQ(point.epoch, 2);
  resumed.fit({d.a, d.b}, {d.label, d.amount},
              {.epochs = 4, .batch_size = 16, .verbose = 0, .seed = 2, .resume = point});
  const auto expected = straight.get_weights(), got = resumed.get_weights();
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(got[i].to_vector(), expected[i].to_vector()) << i;
  std::filesystem::remove(path);
}

// The config (Keras 3's Functional form) and a model file give the same predictions; a
// graph file is format version 2, which older readers refuse by its version.
TEST(Functional, ConfigsAndModelFilesRoundTrip) {
  random::set_seed(41);
  Model model = two_headed_model();
  const TwoHeadedData d = two_headed_data(9);
  for (float& w : model.parameters().values()) w = random::uniform({1}, -1, 1)[0];
  const std::vector<Tensor> expected = model.predict({d.a, d.b});
  const std::string config = model_to_config(model);
  EXPECT_NE(config.find("\"class_name\":\"Functional\""), std::string::npos);
  EXPECT_NE(config.find("keras_history"), std::string::npos);
  Model copy = model_from_config(config, "two_headed.json");
  EXPECT_FALSE(copy.built());  // nothing allocated until asked (loaders check files first)
  copy.build();
  copy.set_weights(model.get_weights());
  EXPECT_EQ(copy.predict({d.a, d.b})[1].to_vector(), expected[1].to_vector());
  EXPECT_EQ(model_to_config(copy), config);
  const auto path = std::filesystem::temp_directory_path() / ("citadel_graph_" + std::to_string(::getpid()) + ".safetensors");
  save_model(model, path.string());
  LoadedModel loaded = load_model(path.string());
  EXPECT_EQ(loaded.metadata.at("format_version"), "2");
  EXPECT_EQ(loaded.model.predict({d.a, d.b})[0].to_vector(), expected[0].to_vector());
  std::filesystem::remove(path);
}

// Keras 2's form of the same graph (inbound_nodes as [[name, node, tensor, {}]] lists, a
// shared layer called twice by node index) reads into the model built in C++.
TEST(Functional, Keras2InboundNodesAreRead) {
  const std::string config = R"({"class_name": "Model", "config": {"name": "siamese", "layers": [
    {"class_name": "InputLayer", "name": "left", "config": {"batch_input_shape": [null, 4], "name": "left"}, "inbound_nodes": []},
    {"class_name": "InputLayer", "name": "right", "config": {"batch_input_shape": [null, 4], "name": "right"}, "inbound_nodes": []},
    {"class_name": "Dense", "name": "encoder", "config": {"name": "encoder", "units": 3, "activation": "tanh"},
     "inbound_nodes": [[["left", 0, 0, {}]], [["right", 0, 0, {}]]]},
    {"class_name": "Subtract", "name": "subtract", "config": {"name": "subtract"},
     "inbound_nodes": [[["encoder", 0, 0, {}], ["encoder", 1, 0, {}]]]},
    {"class_name": "Dense", "name": "out", "config": {"name": "out", "units": 1, "activation": "sigmoid"},
     "inbound_nodes": [[["subtract", 0, 0, {}]]]}],
    "input_layers": [["left", 0, 0], ["right", 0, 0]], "output_layers": [["out", 0, 0]]}})";
  Model model = model_from_config(config, "keras2.json");
  model.build();
  EXPECT_EQ(model.size(), 3u);
  EXPECT_EQ(model.count_params(), 15 + 4);
  random::set_seed(42);
  const Tensor l = random::uniform({3, 4}, -1, 1), r = random::uniform({3, 4}, -1, 1);
  const SymbolicTensor left = Input({4}), right = Input({4});
  const Dense encoder(3, {.activation = "tanh"});
  Model built({left, right}, {Dense(1, {.activation = "sigmoid"})(Subtract()({encoder(left), encoder(right)}))});
  built.set_weights(model.get_weights());
  EXPECT_EQ(model.predict({l, r})[0].to_vector(), built.predict({l, r})[0].to_vector());
}

TEST(Functional, GraphMistakesNameWhatIsAtFault) {
  const SymbolicTensor x1 = Input({3}, {.name = "x1"}), x2 = Input({3}, {.name = "x2"});
  // An output that depends on an input the model was not given (a tensor of another model).
  EXPECT_NE(error_of([&] { Model({x1}, {Add()({Dense(2)(x1), Dense(2)(x2)})}); }).find("depends on the Input 'x2'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { Model({x1, x2}, {Dense(1)(x1)}); }).find("the input 'x2' (inputs[1]) is used by no output"),
            std::string::npos);
  EXPECT_NE(error_of([&] { Model({x1}, {Add()({Dense(2).named("h")(x1), Dense(2).named("h")(x1)})}); })
                .find("two layers are named 'h'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { Add()({Dense(2)(x1), Dense(4)(x1)}); }).find("must have one shape, got (None, 2), (None, 4)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { Dense(2)({x1, x2}); }).find("takes 1 input, got 2"), std::string::npos);
  EXPECT_NE(error_of([&] { Model({x1}, {x1}); }).find("is the Input 'x1' itself"), std::string::npos);
  EXPECT_NE(error_of([&] { Sequential s; s.add(Add()); }).find("merges several tensors"), std::string::npos);
  EXPECT_NE(error_of([&] { Model({Dense(1)(x1)}, {Dense(1)(x1)}); }).find("not an Input"), std::string::npos);
  const SymbolicTensor shared_input = Input({2});
  const Dense reused(2);
  reused(shared_input);
  EXPECT_NE(error_of([&] {
              const SymbolicTensor wide = Input({5});
              Model({shared_input, wide}, {Concatenate()({reused(shared_input), reused(wide)})});
            }).find("a layer whose weights are shared takes one input shape"),
            std::string::npos);
}

// Hostile or broken configs: a cycle, a reference to a missing layer or call, a layer that
// leads nowhere; each an error naming the layer.
TEST(Functional, BrokenGraphConfigsNameTheLayer) {
  auto config = [](const std::string& layers, const std::string& outputs = R"([["b", 0, 0]])") {
    return R"({"class_name": "Functional", "config": {"layers": [
      {"class_name": "InputLayer", "name": "x", "config": {"batch_shape": [null, 3], "name": "x"}, "inbound_nodes": []},)" +
           layers + R"(], "input_layers": [["x", 0, 0]], "output_layers": )" + outputs + "}}";
  };
  auto dense = [](const std::string& name, const std::string& from, int node = 0) {
    return R"({"class_name": "Dense", "name": ")" + name + R"(", "config": {"units": 3, "name": ")" + name +
           R"("}, "inbound_nodes": [[[")" + from + R"(", )" + std::to_string(node) + ", 0, {}]]]}";
  };
  auto error = [](const std::string& text) { return error_of([&] { model_from_config(text, "graph.json"); }); };
  EXPECT_NE(error(config(dense("a", "b") + "," + dense("b", "a"))).find("form a cycle"), std::string::npos);
  EXPECT_NE(error(config(dense("a", "x") + "," + dense("b", "ghost"))).find("layer 'ghost' that the config does not have"),
            std::string::npos);
  EXPECT_NE(error(config(dense("a", "x") + "," + dense("b", "a", 3))).find("call 3 of layer 'a'"), std::string::npos);
  EXPECT_NE(error(config(dense("a", "x") + "," + dense("b", "x") + "," + dense("c", "x"))).find("lead to no output"),
            std::string::npos);
  EXPECT_NE(
      error(config(dense("a", "x") + "," + dense("b", "a"), R"([["b", 0, 1]])")).find("whose call gives 1 output"),
      std::string::npos);
  EXPECT_NE(error(config(dense("a", "x") + "," + dense("a", "x"))).find("used by an earlier layer"), std::string::npos);
}

// Deep and wide graphs cost O(N) to check: 9,999 layers in a chain read without exhausting
// the stack, and a tensor read by 3,000 layers merged by one Concatenate.
TEST(Functional, DeepAndWideGraphsAreReadInLinearWork) {
  std::string layers = R"({"class_name": "InputLayer", "name": "x", "config": {"batch_shape": [null, 2], "name": "x"}, "inbound_nodes": []})";
  std::string previous = "x";
  for (int i = 0; i < 9999; ++i) {
    const std::string name = "a" + std::to_string(i);
    layers += R"(, {"class_name": "Activation", "name": ")" + name + R"(", "config": {"activation": "tanh", "name": ")" +
              name + R"("}, "inbound_nodes": [[[")" + previous + R"(", 0, 0, {}]]]})";
    previous = name;
  }
  const std::string deep = R"({"class_name": "Functional", "config": {"layers": [)" + layers +
                           R"(], "input_layers": [["x", 0, 0]], "output_layers": [[")" + previous + R"(", 0, 0]]}})";
  Model model = model_from_config(deep, "deep.json", {.max_bytes = 16 << 20});
  EXPECT_EQ(model.size(), 9999u);
  const Tensor x = Tensor(Shape{1, 2}, {0.5f, -0.25f});
  EXPECT_EQ(model.predict(x).shape(), Shape({1, 2}));

  const SymbolicTensor input = Input({2});
  std::vector<SymbolicTensor> heads;
  for (int i = 0; i < 3000; ++i) heads.push_back(Dense(1)(input));
  Model wide(input, Concatenate()(heads));
  wide.compile({.loss = "mse", .optimizer = "sgd"});
  const Tensor y = random::uniform({4, 3000});
  const Tensor xs = random::uniform({4, 2});
  EXPECT_TRUE(std::isfinite(wide.train_on_batch(xs, y)));
}

// A graph's model file, signed and encrypted, goes through the one protected read; a changed
// byte is refused before parsing. Sequential files stay version 1 (older builds read them);
// a version this build does not know is refused naming the fix.
TEST(Functional, SignedAndEncryptedGraphFilesLoadThroughTheProtectedRead) {
  const auto dir = std::filesystem::temp_directory_path() / ("citadel_graph_keys_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string pub = (dir / "team.pub").string(), sec = (dir / "team.key").string(),
                    key = (dir / "model.key").string(), file = (dir / "graph.safetensors").string();
  generate_signing_keys(pub, sec, true);
  generate_encryption_key(key, true);
  random::set_seed(51);
  Model model = two_headed_model();
  const TwoHeadedData d = two_headed_data(5);
  const std::vector<Tensor> expected = model.predict({d.a, d.b});
  ModelProtection protection;
  protection.secret_key = sec;
  protection.key.key_file = key;
  write_protected_file(file, model_file_bytes(model, {}), protection, kPurposeModel);
  ModelAccess access;
  access.public_key = pub;
  access.key.key_file = key;
  const std::string plaintext = read_protected_file(file, access, kPurposeModel);
  LoadedModel loaded = load_model_from_bytes(plaintext, file);
  EXPECT_EQ(loaded.model.predict({d.a, d.b})[1].to_vector(), expected[1].to_vector());
  std::string bytes = testkit_read(file);
  bytes[bytes.size() / 2] ^= 1;
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_THROW(read_protected_file(file, access, kPurposeModel), Error);
  Sequential chain;
  chain.add(Dense(2, {.input_dim = 3}));
  chain.build(Shape{3});
  EXPECT_EQ(load_model_from_bytes(model_file_bytes(chain, {}), "chain").metadata.at("format_version"), "1");
  std::string future = model_file_bytes(model, {});
  const size_t at = future.find("\"format_version\":\"2\"");
  ASSERT_NE(at, std::string::npos);
  // A version beyond this build's (3 is now a saved model of several outputs).
  future[at + std::string("\"format_version\":\"").size()] = char('0' + kModelFormatVersion + 1);
  EXPECT_NE(error_of([&] { load_model_from_bytes(future, "future.safetensors"); })
                .find("model file version " + std::to_string(kModelFormatVersion + 1)),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace functional_test
