// The text tasks' baseline and networks, trained with compile/fit and early stopping on the
// last tenth of the training rows (fit's validation_split: taken from the end, before
// shuffling), then scored on the test rows.
#include "text_task_models.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/data/text_vectorization.hpp"
#include "citadel/data/tfidf_vectorizer.hpp"
#include "citadel/layers/bidirectional.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/dropout.hpp"
#include "citadel/layers/embedding.hpp"
#include "citadel/layers/global_pooling1d.hpp"
#include "citadel/layers/layer_normalization.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/layers/multi_head_attention.hpp"
#include "citadel/layers/recurrent.hpp"
#include "citadel/layers/spatial_dropout.hpp"
#include "citadel/layers/time_distributed.hpp"
#include "citadel/model/model.hpp"
#include "citadel/report/html_report.hpp"

namespace citadel::text_tasks {

namespace {

using Clock = std::chrono::steady_clock;

int64_t class_count(const TextDataset& data) { return static_cast<int64_t>(data.class_names.size()); }

// Compiles, fits with early stopping on validation accuracy (best weights restored), and
// scores the test rows. x: one tensor per model input.
ModelResult train_and_score(const std::string& name, Model& model, const std::vector<ConstTensorView>& x_train,
                            const TextDataset& train, const std::vector<ConstTensorView>& x_test,
                            const TextDataset& test, const TrainingSettings& settings, Clock::time_point started) {
  model.compile({.loss = "sparse_categorical_crossentropy",
                 .optimizer = Adam{.learning_rate = settings.learning_rate},
                 .metrics = {"accuracy"}});
  const Tensor y_train = train.label_tensor(), y_test = test.label_tensor();
  ModelResult result;
  result.name = name;
  std::vector<CallbackRef> callbacks = {
      EarlyStopping{{.monitor = settings.monitor, .patience = settings.patience, .restore_best_weights = true}}};
  if (settings.cosine_schedule)
    callbacks.push_back(LearningRateScheduler(cosine_decay(settings.learning_rate, settings.epochs)));
  result.history = model.fit(x_train, {y_train.view()},
                             {.epochs = settings.epochs,
                              .batch_size = settings.batch_size,
                              .validation_split = 0.1,
                              .verbose = settings.verbose,
                              .seed = settings.seed,
                              .callbacks = callbacks});
  result.train_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  const std::vector<Tensor> scores = model.predict(x_test, {.batch_size = 256});
  result.test = classification_report(scores[0], y_test, test.class_names);
  result.parameters = model.count_params();
  result.report_json = report::run_report_json(result.history, &result.test, &model);
  return result;
}

TextVectorization token_ids(const TextDataset& train, const TrainingSettings& settings) {
  TextVectorization vectorizer({.max_tokens = settings.max_tokens,
                                .output_sequence_length = settings.sequence_length,
                                .standardize = settings.standardize});
  vectorizer.adapt(train.texts);
  return vectorizer;
}

// Position ids 1..T where the row has a token and 0 where it is padding, so that the
// position embedding carries the same mask as the tokens' (Add keeps a mask only when every
// input has one).
Tensor position_ids(const Tensor& ids) {
  Tensor out(ids.shape());
  for (int64_t i = 0; i < ids.numel(); ++i)
    out.data()[i] = ids.data()[i] == 0 ? 0.0f : static_cast<float>(i % ids.shape(1) + 1);
  return out;
}

// The token embedding (the model's first weight) from GloVe, when settings ask for it.
void start_from_glove(Model& model, const TextVectorization& vectorizer, const TrainingSettings& settings) {
  if (settings.glove_path.empty()) return;
  std::vector<Tensor> weights = model.get_weights();
  CITADEL_CHECK(weights[0].shape() == (Shape{vectorizer.vocabulary_size(), settings.embedding_dim}), ValueError,
                "the first weight is not the token embedding");
  const int64_t found = load_glove_rows(settings.glove_path, vectorizer.vocabulary(), weights[0]);
  model.set_weights(weights);
  if (settings.verbose > 0)
    std::printf("%lld of %lld tokens start from GloVe vectors\n", static_cast<long long>(found),
                static_cast<long long>(vectorizer.vocabulary_size()));
}

}  // namespace

int64_t load_glove_rows(const std::string& path, const std::vector<std::string>& vocabulary, Tensor& table) {
  std::ifstream file(path);
  CITADEL_CHECK(file.is_open(), IoError, path, ": cannot open the word vectors (scripts/setup_text_data writes them)");
  std::unordered_map<std::string_view, int64_t> row_of;
  for (size_t i = 2; i < vocabulary.size(); ++i) row_of.emplace(vocabulary[i], int64_t(i));  // not "" or [UNK]
  const int64_t width = table.shape(1);
  int64_t found = 0, line_number = 0;
  for (std::string line; std::getline(file, line);) {
    ++line_number;
    const size_t space = line.find(' ');
    const auto row = row_of.find(std::string_view(line).substr(0, space));
    if (row == row_of.end()) continue;
    std::istringstream numbers(line.substr(space + 1));
    float* out = table.data() + row->second * width;
    int64_t count = 0;
    for (float value; count <= width && numbers >> value;) {
      if (count < width) out[count] = value;
      ++count;
    }
    CITADEL_CHECK(count == width, IoError, path, ":", line_number, ": expected ", width, " numbers after the token");
    ++found;
  }
  return found;
}

ModelResult tfidf_logistic(const TextDataset& train, const TextDataset& test, const TrainingSettings& settings) {
  const auto started = Clock::now();
  TfidfVectorizer vectorizer({.max_features = settings.baseline_features, .standardize = settings.standardize});
  const Tensor x_train = vectorizer.fit_transform(train.texts);
  const Tensor x_test = vectorizer.transform(test.texts);
  random::set_seed(settings.seed);
  const SymbolicTensor input = Input({vectorizer.feature_count()}, {.name = "tfidf"});
  Model model(input, Dense(class_count(train), {.activation = "softmax"})(input), {.name = "tfidf_logistic"});
  TrainingSettings linear = settings;
  linear.learning_rate = settings.baseline_learning_rate;
  linear.epochs = settings.baseline_epochs;
  return train_and_score("tf-idf + logistic", model, {x_train.view()}, train, {x_test.view()}, test, linear, started);
}

ModelResult bilstm(const TextDataset& train, const TextDataset& test, const TrainingSettings& settings) {
  const auto started = Clock::now();
  const TextVectorization vectorizer = token_ids(train, settings);
  const Tensor x_train = vectorizer.transform(train.texts), x_test = vectorizer.transform(test.texts);
  random::set_seed(settings.seed);
  const SymbolicTensor tokens = Input({settings.sequence_length}, {.name = "tokens", .dtype = "int32"});
  SymbolicTensor x = Embedding(vectorizer.vocabulary_size(), settings.embedding_dim, true)(tokens);
  if (settings.embedding_dropout > 0) x = SpatialDropout1D(settings.embedding_dropout)(x);
  x = Bidirectional(LSTM(settings.units))(x);
  x = Dropout(settings.dropout)(x);
  Model model(tokens, Dense(class_count(train), {.activation = "softmax"})(x), {.name = "bilstm"});
  start_from_glove(model, vectorizer, settings);
  return train_and_score("BiLSTM", model, {x_train.view()}, train, {x_test.view()}, test, settings, started);
}

ModelResult transformer(const TextDataset& train, const TextDataset& test, const TrainingSettings& settings) {
  const auto started = Clock::now();
  const TextVectorization vectorizer = token_ids(train, settings);
  const Tensor x_train = vectorizer.transform(train.texts), x_test = vectorizer.transform(test.texts);
  const Tensor p_train = position_ids(x_train), p_test = position_ids(x_test);
  random::set_seed(settings.seed);
  const int64_t width = settings.embedding_dim;
  const SymbolicTensor tokens = Input({settings.sequence_length}, {.name = "tokens", .dtype = "int32"});
  const SymbolicTensor positions = Input({settings.sequence_length}, {.name = "positions", .dtype = "int32"});
  SymbolicTensor x = Add()({Embedding(vectorizer.vocabulary_size(), width, true)(tokens),
                            Embedding(settings.sequence_length + 1, width, true)(positions)});
  if (settings.embedding_dropout > 0) x = SpatialDropout1D(settings.embedding_dropout)(x);
  SymbolicTensor attended = MultiHeadAttention(settings.heads, settings.units)({x, x});
  attended = Dropout(settings.dropout)(attended);
  x = LayerNormalization()(Add()({x, attended}));
  SymbolicTensor fed = TimeDistributed(Dense(settings.feed_forward, {.activation = "relu"}))(x);
  fed = TimeDistributed(Dense(width))(fed);
  fed = Dropout(settings.dropout)(fed);
  x = LayerNormalization()(Add()({x, fed}));
  x = GlobalAveragePooling1D()(x);
  x = Dropout(settings.dropout)(x);
  Model model({tokens, positions}, {Dense(class_count(train), {.activation = "softmax"})(x)}, {.name = "transformer"});
  start_from_glove(model, vectorizer, settings);
  return train_and_score("Transformer", model, {x_train.view(), p_train.view()}, train, {x_test.view(), p_test.view()},
                         test, settings, started);
}

std::string summary_line(const ModelResult& result) {
  char line[256];
  const size_t epochs = result.history.epoch.size();
  if (result.test.classes.size() == 2) {
    std::snprintf(
        line, sizeof line, "%-20s test accuracy %.4f  macro-F1 %.4f  %s F1 %.4f  %7.1f s  %zu epochs  %lld params",
        result.name.c_str(), result.test.accuracy, result.test.macro_average.f1, result.test.classes[1].name.c_str(),
        result.test.classes[1].f1, result.train_seconds, epochs, static_cast<long long>(result.parameters));
  } else {
    std::snprintf(line, sizeof line, "%-20s test accuracy %.4f  macro-F1 %.4f  %7.1f s  %zu epochs  %lld params",
                  result.name.c_str(), result.test.accuracy, result.test.macro_average.f1, result.train_seconds, epochs,
                  static_cast<long long>(result.parameters));
  }
  return line;
}

}  // namespace citadel::text_tasks
