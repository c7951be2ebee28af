// citadel's side of the benchmark workloads of ../shared/BENCHMARKS.md. Each workload
// prints one JSON object per figure on stdout: {"workload", "metric", "value", "unit",
// "better", "accuracy"}. bench/torch_bench.py prints the same for PyTorch, and
// bench/compare runs both alternately and tabulates them. Not a test: it asserts nothing.
//
//   citadel_bench WORKLOAD [--threads N] [--reps R] [--precision float32|mixed_bfloat16]
//                 [--width W] [--batch B] [--rows N] [--predict-all 0|1]   (the last four: sweep only)
//   WORKLOAD: w1 w1i w2 w2i w2f w3 w3-accuracy w4 w6 w7 w8 w9 limit sweep
#include <citadel/citadel.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "citadel/ops/gemm.hpp"
#include "workload_models.hpp"
#include "citadel/ops/precision.hpp"

using namespace citadel;
using citadel::bench::mlp_model;
using citadel::bench::w2_model;
using citadel::bench::w3_model;
using citadel::bench::w2_functional_model;
using citadel::bench::w7_model;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_of(const std::function<void()>& work) {
  const auto start = Clock::now();
  work();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Tensor first_rows(ConstTensorView x, int64_t n) {
  std::vector<int64_t> rows(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = i;
  return take_rows(x, rows);
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void report(const char* workload, const char* metric, double value, const char* unit, const char* better,
            double accuracy = -1) {
  std::printf("{\"workload\": \"%s\", \"metric\": \"%s\", \"value\": %.6g, \"unit\": \"%s\", \"better\": \"%s\"",
              workload, metric, value, unit, better);
  if (accuracy >= 0) std::printf(", \"accuracy\": %.4f", accuracy);
  std::printf("}\n");
  std::fflush(stdout);
}

struct Settings {
  int reps = 5;
  std::string precision = "float32";  // W2, W2i, W3, W4 and LIMIT's matrix products
  int64_t width = 256, batch = 128, rows = 60000;  // one point of bench/compare --sweep
  bool predict_all = false;                        // sweep: also time predicting all the rows
};

// ---- W1 / W1i: the reference Keras network on random data --------------------------

Sequential w1_model() {
  Sequential model;
  model.add(Dense(10, {.input_dim = 8, .activation = "relu"}));
  model.add(Dense(10, {.activation = "relu"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy",
                 .optimizer = Adam{.learning_rate = 1e-3f, .beta_1 = 0.9f, .beta_2 = 0.999f, .epsilon = 1e-7f},
                 .metrics = {"accuracy"}});
  return model;
}

void w1_data(Tensor& x, Tensor& y) {
  random::set_seed(7);
  x = random::uniform(Shape{1000, 8}, 0.0f, 1.0f);
  y = Tensor(Shape{1000, 1});
  Rng labels(11);
  for (int64_t i = 0; i < 1000; ++i) y[i] = static_cast<float>(labels.next_u64() & 1);
}

void run_w1(const Settings& settings) {
  Tensor x, y;
  w1_data(x, y);
  std::vector<double> times;
  double accuracy = 0;
  for (int rep = 0; rep <= settings.reps; ++rep) {  // rep 0 warms up
    Sequential model = w1_model();
    History history;
    const double t = seconds_of([&] { history = model.fit(x, y, {.epochs = 10, .batch_size = 32, .verbose = 0}); });
    if (rep > 0) times.push_back(t);
    accuracy = history.history.at("accuracy").back();
  }
  const double steps = 10.0 * 32;  // ceil(1000 / 32) = 32 steps per epoch
  report("W1", "train 10 epochs", median(times), "s", "lower", accuracy);
  report("W1", "time per step", median(times) / steps * 1e6, "us", "lower");
}

void run_w1i(const Settings& settings) {
  Tensor x, y;
  w1_data(x, y);
  Sequential model = w1_model();
  model.fit(x, y, {.epochs = 1, .batch_size = 32, .verbose = 0});
  Tensor row(Shape{1, 8});
  std::copy_n(x.data(), 8, row.data());
  std::vector<double> latencies;
  for (int i = 0; i < 1000; ++i) model.predict(row);  // warm-up
  // 2,000 calls per rep (10,000 at the default 5): --reps 1000 gives a loop long enough to profile.
  for (int i = 0; i < 2000 * settings.reps; ++i) latencies.push_back(seconds_of([&] { model.predict(row); }));
  report("W1i", "single-row predict", median(latencies) * 1e6, "us", "lower");
  Tensor rows(Shape{1000, 8});
  std::copy_n(x.data(), rows.numel(), rows.data());
  std::vector<double> batch;
  for (int rep = 0; rep <= settings.reps * 4; ++rep) {
    const double t = seconds_of([&] { model.predict(rows, {.batch_size = 1000}); });
    if (rep > 0) batch.push_back(t);
  }
  report("W1i", "predict 1000 rows", median(batch) * 1e6, "us", "lower");
}

// ---- W2 / W2i / W3 / W4: Fashion-MNIST ------------------------------------------------

ImageDataset fashion() {
  ImageDataset data = load_fashion_mnist();
  scale_pixels(data.x_train.view());
  scale_pixels(data.x_test.view());
  return data;
}

double test_accuracy(Model& model, const ImageDataset& data) {
  return model.evaluate(data.x_test, data.y_test, {.batch_size = 1000}).at("accuracy");
}

void run_w2(const Settings& settings) {
  const ImageDataset data = fashion();
  std::vector<double> times;
  double accuracy = 0;
  for (int rep = 0; rep < std::max(1, settings.reps / 2); ++rep) {
    random::set_seed(42 + rep);
    Sequential model = w2_model(settings.precision);
    model.train_on_batch(first_rows(data.x_train, 128), first_rows(data.y_train, 128));  // warm-up
    times.push_back(seconds_of([&] { model.fit(data.x_train, data.y_train, {.epochs = 1, .batch_size = 128, .verbose = 0}); }));
    if (rep == 0) accuracy = test_accuracy(model, data);
  }
  report("W2", "train samples/s", 60000 / median(times), "samples/s", "higher", accuracy);
  // The share of the FMA-bound rate: the matrix products' FLOPs of a training step.
  report("W2", "achieved GFLOP/s", citadel::bench::mlp_training_flops(256) * 60000 / median(times) / 1e9, "GFLOP/s",
         "higher");
}

void run_w2i(const Settings& settings) {
  const ImageDataset data = fashion();
  random::set_seed(42);
  Sequential model = w2_model(settings.precision);
  model.fit(first_rows(data.x_train, 6400), first_rows(data.y_train, 6400), {.epochs = 1, .batch_size = 128, .verbose = 0});
  const Tensor one = first_rows(data.x_test, 1);
  std::vector<double> latencies;
  for (int i = 0; i < 200; ++i) model.predict(one);
  for (int i = 0; i < 2000; ++i) latencies.push_back(seconds_of([&] { model.predict(one); }));
  report("W2i", "batch-1 predict", median(latencies) * 1e6, "us", "lower");
  std::vector<double> batch;
  for (int rep = 0; rep <= settings.reps; ++rep) {
    const double t = seconds_of([&] { model.predict(data.x_test, {.batch_size = 10000}); });
    if (rep > 0) batch.push_back(t);
  }
  report("W2i", "batch-10000 predict", median(batch) * 1e3, "ms", "lower");
}

void run_w3(const Settings& settings) {
  const ImageDataset data = fashion();
  const Tensor x = first_rows(data.x_train, 10000), y = first_rows(data.y_train, 10000);
  std::vector<double> times;
  for (int rep = 0; rep < std::max(1, settings.reps / 2); ++rep) {
    random::set_seed(42 + rep);
    Sequential model = w3_model(settings.precision);
    model.train_on_batch(first_rows(x, 128), first_rows(y, 128));  // warm-up
    times.push_back(seconds_of([&] { model.fit(x, y, {.epochs = 1, .batch_size = 128, .verbose = 0}); }));
  }
  report("W3", "train samples/s", 10000 / median(times), "samples/s", "higher");
}

// W2 as a Functional chain, timed alternately with Sequential W2 in this process (the
// graph engine's overhead on the same products).
void run_w2f(const Settings& settings) {
  const ImageDataset data = fashion();
  std::vector<double> graph_times, chain_times;
  for (int rep = 0; rep < std::max(2, settings.reps); ++rep) {
    random::set_seed(42 + rep);
    Model graph = w2_functional_model(settings.precision);
    random::set_seed(42 + rep);
    Sequential chain = w2_model(settings.precision);
    graph.train_on_batch(first_rows(data.x_train, 128), first_rows(data.y_train, 128));  // warm-up
    chain.train_on_batch(first_rows(data.x_train, 128), first_rows(data.y_train, 128));
    const FitOptions epoch{.epochs = 1, .batch_size = 128, .verbose = 0};
    if (rep % 2 == 0) {
      graph_times.push_back(seconds_of([&] { graph.fit(data.x_train, data.y_train, epoch); }));
      chain_times.push_back(seconds_of([&] { chain.fit(data.x_train, data.y_train, epoch); }));
    } else {
      chain_times.push_back(seconds_of([&] { chain.fit(data.x_train, data.y_train, epoch); }));
      graph_times.push_back(seconds_of([&] { graph.fit(data.x_train, data.y_train, epoch); }));
    }
  }
  report("W2f", "functional train samples/s", 60000 / median(graph_times), "samples/s", "higher");
  report("W2f", "sequential train samples/s", 60000 / median(chain_times), "samples/s", "higher");
  report("W2f", "functional / sequential time", median(graph_times) / median(chain_times), "", "lower");
}

// W7: the small ResNet of examples/fashion_resnet.cpp, one epoch over 10,000 images in
// batches of 128 (shared/BENCHMARKS.md's definition).
void run_w7(const Settings& settings) {
  const ImageDataset data = fashion();
  const Tensor x = first_rows(data.x_train, 10000), y = first_rows(data.y_train, 10000);
  std::vector<double> times;
  for (int rep = 0; rep < std::max(1, settings.reps / 2); ++rep) {
    random::set_seed(42 + rep);
    Model model = w7_model(settings.precision);
    model.train_on_batch(first_rows(x, 128), first_rows(y, 128));  // warm-up
    times.push_back(seconds_of([&] { model.fit(x, y, {.epochs = 1, .batch_size = 128, .verbose = 0}); }));
  }
  report("W7", "train samples/s", 10000 / median(times), "samples/s", "higher");
}

// ---- W8: an LSTM text classifier (docs/PERFORMANCE.md, "W8") --------------------------
// Embedding(20000, 128, mask_zero) → LSTM(128) → Dense(1, sigmoid), sequences of 200 token
// ids, batch 64, Adam; and the same with GRU and Bidirectional(LSTM(64)). The ids are random
// (uniform over 1..19999, each row padded at its end from a random length of 100 to 200),
// as bench/torch_bench.py's twin draws them: a speed measurement, not a task.

constexpr int64_t kW8Vocabulary = 20000, kW8Length = 200, kW8Batch = 64;

// `rows` rows of ids, float32 as citadel's Embedding reads them, with binary labels.
void w8_data(int64_t rows, Tensor& x, Tensor& y) {
  std::mt19937_64 engine(8);
  x = Tensor(Shape{rows, kW8Length});
  y = Tensor(Shape{rows, 1});
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t length = 100 + int64_t(engine() % (kW8Length - 100 + 1));
    for (int64_t t = 0; t < length; ++t) x[r * kW8Length + t] = float(1 + engine() % (kW8Vocabulary - 1));
    y[r] = float(engine() % 2);
  }
}

Sequential w8_model(const std::string& cell) {
  Sequential model;
  model.add(Embedding(kW8Vocabulary, 128, true));
  if (cell == "lstm") model.add(LSTM(128));
  if (cell == "gru") model.add(GRU(128));
  if (cell == "bilstm") model.add(Bidirectional(LSTM(64)));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = "adam"});
  return model;
}

// A sequence model's epoch over W8's 640 rows (samples/s) and its one-sequence latency (ms),
// reported as "PREFIXtrain samples/s" and "PREFIX1-sequence predict".
void time_sequence_model(Model& model, const char* workload, const std::string& prefix, const Settings& settings) {
  const int64_t rows = 10 * kW8Batch;
  Tensor x, y;
  w8_data(rows, x, y);
  model.train_on_batch(first_rows(x, kW8Batch), first_rows(y, kW8Batch));  // warm-up
  std::vector<double> times;
  for (int rep = 0; rep < std::max(1, settings.reps / 2); ++rep)
    times.push_back(seconds_of([&] { model.fit(x, y, {.epochs = 1, .batch_size = kW8Batch, .verbose = 0}); }));
  report(workload, (prefix + "train samples/s").c_str(), double(rows) / median(times), "samples/s", "higher");
  const Tensor one = first_rows(x, 1);
  std::vector<double> latencies;
  for (int i = 0; i < 20; ++i) model.predict(one);  // warm-up
  for (int i = 0; i < 200; ++i) latencies.push_back(seconds_of([&] { model.predict(one); }));
  report(workload, (prefix + "1-sequence predict").c_str(), median(latencies) * 1e3, "ms", "lower");
}

void run_w8(const Settings& settings) {
  for (const char* cell : {"lstm", "gru", "bilstm"}) {
    random::set_seed(42);
    Sequential model = w8_model(cell);
    time_sequence_model(model, "W8", std::string(cell) + " ", settings);
  }
}

// ---- W9: a Transformer encoder on W8's data (docs/PERFORMANCE.md, "W8 and W9") ----------
// Embedding(20000, 128, mask_zero) → 2 × [MultiHeadAttention(4 heads of 32) + residual →
// LayerNormalization → Dense(256, relu) → Dense(128) + residual → LayerNormalization]
// (PyTorch's nn.TransformerEncoderLayer, post-norm, without dropout) → masked mean →
// Dense(1, sigmoid); padding masked in the attention and the mean, as the twin does.
Model w9_model() {
  const SymbolicTensor ids = Input({kW8Length}, {.name = "ids"});
  SymbolicTensor x = Embedding(kW8Vocabulary, 128, true)(ids);
  for (int block = 0; block < 2; ++block) {
    x = LayerNormalization()(Add()({x, MultiHeadAttention(4, 32)({x, x})}));
    const SymbolicTensor fed = TimeDistributed(Dense(128))(TimeDistributed(Dense(256, {.activation = "relu"}))(x));
    x = LayerNormalization()(Add()({x, fed}));
  }
  Model model(ids, Dense(1, {.activation = "sigmoid"})(GlobalAveragePooling1D()(x)), {.name = "w9"});
  model.compile({.loss = "binary_crossentropy", .optimizer = "adam"});
  return model;
}

void run_w9(const Settings& settings) {
  random::set_seed(42);
  Model model = w9_model();
  time_sequence_model(model, "W9", "", settings);
}

// Test accuracy of W3 after one full epoch (slow: kept apart from the timing).
void run_w3_accuracy(const Settings& settings) {
  const ImageDataset data = fashion();
  random::set_seed(42);
  Sequential model = w3_model(settings.precision);
  model.fit(data.x_train, data.y_train, {.epochs = 1, .batch_size = 128, .verbose = 0});
  report("W3", "test accuracy after 1 epoch", test_accuracy(model, data), "", "higher", test_accuracy(model, data));
}

// W4: W2 trained with DP-SGD (clip 1.0, noise 1.1, batch 256, Poisson sampling), against
// non-private W2 (batch 128) timed in the same process.
void run_w4(const Settings& settings) {
  const ImageDataset data = fashion();
  std::vector<double> private_times, plain_times;
  double accuracy = 0, epsilon = 0;
  for (int rep = 0; rep < std::max(1, settings.reps / 2); ++rep) {
    random::set_seed(42 + rep);
    Sequential plain = w2_model(settings.precision);
    plain.train_on_batch(first_rows(data.x_train, 128), first_rows(data.y_train, 128));
    plain_times.push_back(seconds_of([&] { plain.fit(data.x_train, data.y_train, {.epochs = 1, .batch_size = 128, .verbose = 0}); }));
    random::set_seed(42 + rep);
    Sequential model = w2_model(settings.precision);
    model.train_on_batch(first_rows(data.x_train, 128), first_rows(data.y_train, 128));
    History history;
    private_times.push_back(seconds_of([&] {
      history = fit_private(model, data.x_train, data.y_train, {.epochs = 1, .batch_size = 256, .verbose = 0},
                            {.l2_norm_clip = 1.0f, .noise_multiplier = 1.1});
    }));
    if (rep == 0) accuracy = test_accuracy(model, data), epsilon = history.history.at("epsilon").back();
  }
  report("W4", "DP-SGD train samples/s", 60000 / median(private_times), "samples/s", "higher", accuracy);
  report("W4", "DP-SGD / non-private W2 throughput", median(plain_times) / median(private_times), "ratio", "higher");
  report("W4", "epsilon after 1 epoch (delta 1e-5)", epsilon, "", "lower");
}

// W6: W2 and W3 trained for 5 epochs in float32 and in mixed_bfloat16, alternately in one
// process: throughput of each, bf16's speed-up and the test accuracies.
void run_w6(const Settings& settings) {
  if (!ops::processor_has_bf16()) {
    std::fprintf(stderr, "citadel_bench w6: this processor has no bf16 instructions (AVX512-BF16 or AMX)\n");
    return;
  }
  const ImageDataset data = fashion();
  struct Case {
    const char* name;
    Sequential (*make)(const std::string&);
  };
  for (const Case& c : {Case{"W6 W2", w2_model}, Case{"W6 W3", w3_model}}) {
    double rate[2] = {}, accuracy[2] = {};
    const char* precisions[2] = {"float32", "mixed_bfloat16"};
    for (int p = 0; p < 2; ++p) {
      random::set_seed(42);
      Sequential model = c.make(precisions[p]);
      model.train_on_batch(first_rows(data.x_train, 128), first_rows(data.y_train, 128));  // warm-up
      const int epochs = 5;
      const double time = seconds_of([&] {
        model.fit(data.x_train, data.y_train, {.epochs = epochs, .batch_size = 128, .verbose = 0});
      });
      rate[p] = 60000.0 * epochs / time;
      accuracy[p] = test_accuracy(model, data);
      report(c.name, (std::string(precisions[p]) + " train samples/s").c_str(), rate[p], "samples/s", "higher",
             accuracy[p]);
    }
    report(c.name, "bf16 / float32 throughput", rate[1] / rate[0], "ratio", "higher");
    report(c.name, "test accuracy bf16 - float32 (points)", 100 * (accuracy[1] - accuracy[0]), "points", "higher");
  }
  (void)settings;
}

// One point of bench/compare --sweep: W2's MLP `width` wide trained for one epoch over
// `rows` rows (Fashion-MNIST's training images, repeated past 60,000) in batches of
// `batch`, then the latency of predicting `batch` test rows at once (and, with predict_all,
// the time to predict all `rows` rows in batches of 1,024).
void run_sweep(const Settings& settings) {
  const ImageDataset data = fashion();
  std::vector<int64_t> order(static_cast<size_t>(settings.rows));
  for (int64_t i = 0; i < settings.rows; ++i) order[static_cast<size_t>(i)] = i % data.x_train.shape()[0];
  const Tensor x = take_rows(data.x_train, order), y = take_rows(data.y_train, order);
  random::set_seed(42);
  Sequential model = mlp_model(settings.width, settings.precision);
  const int64_t warm = std::min<int64_t>(settings.batch, settings.rows);
  model.train_on_batch(first_rows(x, warm), first_rows(y, warm));
  const double train = seconds_of([&] {
    model.fit(x, y, {.epochs = 1, .batch_size = settings.batch, .verbose = 0});
  });
  report("SWEEP", "train samples/s", static_cast<double>(settings.rows) / train, "samples/s", "higher");
  report("SWEEP", "train one epoch", train, "s", "lower");
  const Tensor queries = first_rows(data.x_test, std::min<int64_t>(settings.batch, data.x_test.shape()[0]));
  const PredictOptions options{.batch_size = queries.shape()[0]};
  std::vector<double> latencies;
  const auto until = Clock::now() + std::chrono::milliseconds(400);
  for (int i = 0; i < 5; ++i) model.predict(queries, options);  // warm-up
  while (latencies.size() < 5 || (latencies.size() < 2000 && Clock::now() < until))
    latencies.push_back(seconds_of([&] { model.predict(queries, options); }));
  report("SWEEP", "predict latency", median(latencies) * 1e6, "us", "lower");
  if (settings.predict_all)
    report("SWEEP", "predict all rows", seconds_of([&] { model.predict(x, {.batch_size = 1024}); }), "s", "lower");
}

// ---- LIMIT: GEMM through ops::gemm ------------------------------------------------------

void run_limit(const Settings& settings) {
  const ops::PrecisionScope precision(ops::effective_precision(ops::parse_precision(settings.precision)));
  struct Case {
    const char* name;
    int64_t M, N, K;
    ops::Transpose ta, tb;
  };
  using ops::Transpose;
  const Case cases[] = {
      {"W2 fwd 128x784 . 784x256", 128, 256, 784, Transpose::kNo, Transpose::kNo},
      {"W2 fwd 128x256 . 256x128", 128, 128, 256, Transpose::kNo, Transpose::kNo},
      {"W2 dW 784x128 . 128x256", 784, 256, 128, Transpose::kYes, Transpose::kNo},
      {"W2 dx 128x256 . 256x784", 128, 784, 256, Transpose::kNo, Transpose::kYes},
      {"1024^3", 1024, 1024, 1024, Transpose::kNo, Transpose::kNo},
      {"2048^3", 2048, 2048, 2048, Transpose::kNo, Transpose::kNo},
  };
  for (const Case& c : cases) {
    Tensor a = random::uniform(Shape{c.M * c.K}, -1, 1), b = random::uniform(Shape{c.K * c.N}, -1, 1),
           out(Shape{c.M * c.N});
    const int64_t lda = c.ta == Transpose::kNo ? c.K : c.M, ldb = c.tb == Transpose::kNo ? c.N : c.K;
    auto once = [&] { ops::gemm(c.ta, c.tb, c.M, c.N, c.K, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, out.data(), c.N); };
    once();
    const double flops = 2.0 * c.M * c.N * c.K;
    const int calls = static_cast<int>(std::max(3.0, 3e9 / flops));
    std::vector<double> rates;
    for (int r = 0; r < 3; ++r) rates.push_back(flops * calls / seconds_of([&] { for (int i = 0; i < calls; ++i) once(); }) / 1e9);
    report("LIMIT", c.name, median(rates), "GFLOP/s", "higher");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: citadel_bench w1|w1i|w2|w2i|w2f|w3|w3-accuracy|w4|w6|w7|w8|w9|limit|sweep [--threads N] "
                         "[--reps R] [--precision float32|mixed_bfloat16] [--width W] [--batch B] [--rows N] "
                         "[--predict-all 0|1]\n");
    return 2;
  }
  Settings settings;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) set_num_threads(std::stoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--reps")) settings.reps = std::stoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--precision")) settings.precision = argv[i + 1];
    else if (!std::strcmp(argv[i], "--width")) settings.width = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch")) settings.batch = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rows")) settings.rows = std::stoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--predict-all")) settings.predict_all = std::stoi(argv[i + 1]) != 0;
    else {
      std::fprintf(stderr, "citadel_bench: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  const std::string workload = argv[1];
  const std::vector<std::pair<std::string, void (*)(const Settings&)>> workloads{
      {"w1", run_w1}, {"w1i", run_w1i}, {"w2", run_w2}, {"w2i", run_w2i},
      {"w3", run_w3}, {"w3-accuracy", run_w3_accuracy}, {"w2f", run_w2f}, {"w7", run_w7}, {"w4", run_w4}, {"w6", run_w6}, {"w8", run_w8}, {"w9", run_w9}, {"limit", run_limit},
      {"sweep", run_sweep}};
  for (const auto& [name, run] : workloads)
    if (name == workload) {
      run(settings);
      return 0;
    }
  std::fprintf(stderr, "citadel_bench: unknown workload %s\n", workload.c_str());
  return 2;
}
