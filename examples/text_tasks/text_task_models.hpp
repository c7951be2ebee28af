// The models of the real text tasks (examples/text_tasks.cpp, tests' text_tasks.*): a tf-idf
// + multinomial logistic regression baseline, a BiLSTM and a small Transformer encoder, each
// trained on a task's training rows (the last tenth held out for early stopping) and scored
// on its test rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "citadel/data/text_datasets.hpp"
#include "citadel/metrics/classification_report.hpp"
#include "citadel/model/history.hpp"

namespace citadel::text_tasks {

struct TrainingSettings {
  int epochs = 30;   // at most: early stopping on the held-out tenth ends runs sooner
  int patience = 5;  // epochs without a better validation accuracy before stopping
  int64_t batch_size = 32;
  float learning_rate = 1e-3f;
  uint64_t seed = 42;
  int verbose = 0;  // fit's verbosity
  // Networks: vocabulary size (counting "" and "[UNK]") and tokens kept per row.
  int64_t max_tokens = 10'000;
  int64_t sequence_length = 40;
  int64_t embedding_dim = 50;  // GloVe 6B 50d's width
  int64_t units = 32;          // BiLSTM: per direction; Transformer: key_dim per head
  int64_t heads = 4;           // Transformer
  int64_t feed_forward = 128;  // Transformer: the feed-forward block's hidden width
  float dropout = 0.2f;
  float embedding_dropout = 0.2f;  // SpatialDropout1D on the token embeddings (whole vectors)
  bool cosine_schedule = false;
  std::string monitor = "val_accuracy";                     // what early stopping watches (best weights restored)
  std::string standardize = "lower_and_strip_punctuation";  // the networks' and baseline's tokens    // the learning
                                                            // rate decays to 0 over `epochs` (cosine)
  // Word vectors the networks' token embeddings start from (a GloVe text file: a token and
  // its numbers per line; embedding_dim must be their count); "" leaves Embedding's
  // random initializer. Tokens absent from the file keep their random rows.
  std::string glove_path = "";
  // The baseline: a linear model on unit-norm rows learns slowly at the networks' rate.
  int baseline_epochs = 30;
  float baseline_learning_rate = 1e-2f;
  int64_t baseline_features = 10'000;  // TfidfOptions::max_features
};

struct ModelResult {
  std::string name;
  ClassificationReport test;  // on the test rows
  History history;
  double train_seconds = 0;  // fit's wall time (with vectorizing)
  int64_t parameters = 0;
  std::string report_json;  // report::run_report_json of the run
};

// The baseline: TfidfVectorizer (scikit-learn's defaults, fit on the training rows) into
// Dense(classes, softmax), i.e. multinomial logistic regression, trained by citadel's fit.
ModelResult tfidf_logistic(const TextDataset& train, const TextDataset& test, const TrainingSettings& settings);
// Embedding(mask_zero) → Bidirectional(LSTM(units)) → Dropout → Dense(classes, softmax).
ModelResult bilstm(const TextDataset& train, const TextDataset& test, const TrainingSettings& settings);
// Token embedding + learned position embedding → one encoder block (MultiHeadAttention with
// residual and LayerNormalization, then a feed-forward block with residual and
// LayerNormalization) → GlobalAveragePooling1D over the unpadded steps → Dense(softmax).
ModelResult transformer(const TextDataset& train, const TextDataset& test, const TrainingSettings& settings);

// Rows of `table` ((vocabulary, D)) replaced by the GloVe vectors of their tokens; returns how
// many tokens the file held. IoError naming file and line for a line of another width.
int64_t load_glove_rows(const std::string& path, const std::vector<std::string>& vocabulary, Tensor& table);

// One line: name, test accuracy, macro-F1 (and the last class's F1 when there are two
// classes, e.g. spam), training seconds and epochs.
std::string summary_line(const ModelResult& result);

}  // namespace citadel::text_tasks
