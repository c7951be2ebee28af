// Embedding-space attacks on text models: the gradient with respect to the Embedding's output
// against finite differences, the attack's ball per token with padding frozen, robust
// accuracy against ε, and the nearest-token projection on a hand-made table.
#include "citadel/attacks/embedding_attack.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/embedding.hpp"
#include "citadel/layers/global_pooling1d.hpp"
#include "citadel/layers/recurrent.hpp"
#include "citadel/model/sequential.hpp"

namespace embedding_attack_test {

using namespace citadel;

namespace {

constexpr int64_t kVocabulary = 20, kLength = 8, kSignal = 5;

// Sequences of 3 to 8 ids in [2, 20) padded with 0 at the end; label 1 when the id 5
// appears (planted in half the rows), else 0.
struct Sequences {
  Tensor ids, y;
};
Sequences sequences(int64_t rows, uint64_t seed) {
  Rng rng(seed);
  Sequences data{Tensor(Shape{rows, kLength}), Tensor(Shape{rows, 1})};
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t length = 3 + int64_t(rng.uniform() * 6) % 6;
    const bool signal = r % 2 == 1;
    const int64_t at = int64_t(rng.uniform() * double(length)) % length;
    for (int64_t t = 0; t < kLength; ++t) {
      int64_t id = 0;
      if (t < length) {
        do id = 2 + int64_t(rng.uniform() * double(kVocabulary - 2)) % (kVocabulary - 2);
        while (id == kSignal);
        if (signal && t == at) id = kSignal;
      }
      data.ids[r * kLength + t] = float(id);
    }
    data.y[r] = signal ? 1.0f : 0.0f;
  }
  return data;
}

// ids → Embedding (mask_zero) → `middle` → Dense(2, softmax).
Model text_model(std::unique_ptr<Layer> middle, int64_t width, uint64_t seed) {
  random::set_seed(seed);
  const SymbolicTensor ids = Input({kLength}, {.name = "ids", .dtype = "int32"});
  const SymbolicTensor embedded = Embedding(kVocabulary, width, {.mask_zero = true}).named("embedding")(ids);
  const SymbolicTensor hidden = (*middle)(embedded);
  Model model({ids}, {Dense(2, {.activation = "softmax"}).named("classes")(hidden)}, {.name = "words"});
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = Adam{.learning_rate = 0.05f},
                 .metrics = {"accuracy"}});
  return model;
}

double accuracy_of(Model& model, const Tensor& ids, const Tensor& y) {
  const auto correct = correct_predictions(model, ids, y);
  return double(std::count(correct.begin(), correct.end(), 1)) / double(correct.size());
}

double mean(const Tensor& values) {
  return std::accumulate(values.data(), values.data() + values.numel(), 0.0) / double(values.numel());
}

// A trained detector of the id 5 (max pooling over the embeddings), shared by the tests.
struct Trained {
  Model model;
  Sequences test;
};
Trained& trained_detector() {
  static Trained trained = [] {
    Model model = text_model(std::make_unique<GlobalMaxPooling1D>(), 8, 3);
    const Sequences train = sequences(300, 1);
    model.fit(train.ids, train.y, {.epochs = 30, .batch_size = 32, .verbose = 0, .seed = 1});
    return Trained{std::move(model), sequences(100, 2)};
  }();
  return trained;
}

}  // namespace

// ∂(mean loss)/∂(embedding output) through a masked LSTM, at embeddings off the table's rows,
// against central differences of the loss with the output replaced.
TEST(EmbeddingAttack, GradientOfTheEmbeddingOutputMatchesFiniteDifferences) {
  Model model = text_model(std::make_unique<LSTM>(3), 4, 7);
  const Sequences data = sequences(3, 11);
  const Tensor clean = model.predict_layer_outputs({data.ids}, {"embedding"}).front();
  Tensor value = clean;
  Rng rng(5);
  for (int64_t i = 0; i < value.numel(); ++i) value[i] += 0.05f * float(rng.normal());
  // Replaced by the clean output itself, the model answers exactly as it does.
  const Tensor plain = model.predict(data.ids);
  const Tensor same = model.predict({data.ids}, LayerOutputReplacement{"embedding", clean}).front();
  for (int64_t i = 0; i < plain.numel(); ++i) EXPECT_EQ(plain[i], same[i]);

  const Tensor gradient = model.layer_output_gradient({data.ids}, {data.y}, {"embedding", value});
  ASSERT_EQ(gradient.shape(), value.shape());
  double difference = 0, numeric_norm = 0, analytic_norm = 0;
  const double step = 5e-3;
  for (int64_t i = 0; i < value.numel(); ++i) {
    Tensor moved = value;
    moved[i] = float(value[i] + step);
    const double up = mean(model.per_example_loss({data.ids}, {data.y}, {"embedding", moved}));
    moved[i] = float(value[i] - step);
    const double down = mean(model.per_example_loss({data.ids}, {data.y}, {"embedding", moved}));
    const double numeric = (up - down) / (2 * step);
    difference += (numeric - gradient[i]) * (numeric - gradient[i]);
    numeric_norm += numeric * numeric;
    analytic_norm += double(gradient[i]) * gradient[i];
  }
  EXPECT_GT(std::sqrt(analytic_norm), 1e-3) << "a gradient of zeros proves nothing";
  // ‖a − b‖ / (‖a‖ + ‖b‖), as tests/support/grad_check does; float32 losses limit it.
  EXPECT_LT(std::sqrt(difference) / (std::sqrt(numeric_norm) + std::sqrt(analytic_norm)), 1e-2)
      << "relative error of the gradient";
  // Padded positions (the mask) take no part in the answer, so their gradient is zero.
  int64_t padded = 0;
  for (int64_t p = 0; p < data.ids.numel(); ++p) {
    if (data.ids[p] != 0) continue;
    ++padded;
    for (int64_t d = 0; d < 4; ++d) EXPECT_EQ(gradient[p * 4 + d], 0.0f) << "padded position " << p;
  }
  EXPECT_GT(padded, 0);

  EXPECT_THROW(model.layer_output_gradient({data.ids}, {data.y}, {"nothing", value}), ValueError);
  EXPECT_THROW(model.layer_output_gradient({data.ids}, {data.y}, {"embedding", value.rows(0, 2)}), ShapeError);
}

TEST(EmbeddingAttack, RobustAccuracyFallsAsEpsilonGrowsAndZeroChangesNothing) {
  Trained& trained = trained_detector();
  const double clean = accuracy_of(trained.model, trained.test.ids, trained.test.y);
  ASSERT_GT(clean, 0.9) << "the detector did not learn";
  for (const std::string norm : {"l2", "linf"}) {
    const EmbeddingAttackOptions options{.attack = {.method = "pgd", .norm = norm, .steps = 10, .seed = 3}, .layer = ""};
    const auto curve =
        embedding_robustness_curve(trained.model, {trained.test.ids}, trained.test.y, options, {0, 0.25, 0.5, 1, 2});
    ASSERT_EQ(curve.size(), 5u);
    EXPECT_EQ(curve[0].accuracy, clean) << norm;
    EXPECT_EQ(curve[0].projected_accuracy, clean) << norm;
    EXPECT_EQ(curve[0].tokens_changed, 0) << norm;
    EXPECT_EQ(curve[0].mean_token_l2, 0.0) << norm;
    for (size_t i = 1; i < curve.size(); ++i)
      EXPECT_LE(curve[i].accuracy, curve[i - 1].accuracy + 0.03) << norm << " epsilon " << curve[i].epsilon;
    EXPECT_LT(curve.back().accuracy, clean - 0.3) << norm;
    EXPECT_GT(curve.back().radius, 0.0);
    EXPECT_NEAR(curve[2].radius * 2, curve[3].radius, 1e-9);  // ε is relative: the radius scales with it
  }
}

// Every non-padding token's vector stays within ε·scale of its clean one; padding never moves.
TEST(EmbeddingAttack, TokensStayInTheirBallsAndPaddingNeverMoves) {
  Trained& trained = trained_detector();
  const Tensor& ids = trained.test.ids;
  const Tensor clean = trained.model.predict_layer_outputs({ids}, {"embedding"}).front();
  for (const std::string norm : {"l2", "linf"}) {
    for (const std::string method : {"fgsm", "pgd"}) {
      const EmbeddingAttackOptions options{.attack = {.method = method, .norm = norm, .epsilon = 0.5f, .seed = 9}, .layer = ""};
      const Tensor moved = embedding_adversarial_examples(trained.model, {ids}, {trained.test.y}, options);
      ASSERT_EQ(moved.shape(), clean.shape());
      const double radius = 0.5 * embedding_scale(trained.model, "embedding", norm);
      int64_t padded = 0, moved_tokens = 0;
      for (int64_t p = 0; p < ids.numel(); ++p) {
        double l2 = 0, linf = 0;
        for (int64_t d = 0; d < 8; ++d) {
          const double delta = moved[p * 8 + d] - clean[p * 8 + d];
          l2 += delta * delta;
          linf = std::max(linf, std::fabs(delta));
        }
        if (ids[p] == 0) {
          ++padded;
          EXPECT_EQ(linf, 0.0) << "padding moved at " << p;
          continue;
        }
        moved_tokens += linf > 0;
        EXPECT_LE(norm == "l2" ? std::sqrt(l2) : linf, radius * (1 + 1e-5)) << norm << " " << method << " at " << p;
      }
      EXPECT_GT(padded, 0);
      EXPECT_GT(moved_tokens, 0) << norm << " " << method;
    }
  }
}

// A 2-D table by hand: row 0 is padding, 1 = (1, 0), 2 = (0, 1), 3 = (−1, 0).
TEST(EmbeddingAttack, NearestTokenProjectionCountsChangedTokens) {
  Tensor table(Shape{4, 2});
  const float rows[] = {0, 0, 1, 0, 0, 1, -1, 0};
  std::copy_n(rows, 8, table.data());
  Tensor ids(Shape{3, 3});
  const float given[] = {1, 2, 0,   // row 0
                         3, 1, 0,   // row 1
                         1, 2, 0};  // row 2
  std::copy_n(given, 9, ids.data());
  Tensor vectors(Shape{3, 3, 2});
  const float moved[] = {0.9f, 0.1f,  0.8f, 0.3f, 5, 5,     // 1 stays; 2 → 1; padding kept whatever its vector
                         -0.2f, 0.9f, 1, 0,       0, 0,     // 3 → 2; 1 stays
                         0, 0,       0.1f, 0.2f, 1, 0};     // a tie of 1, 2, 3 (and not padding) keeps 1; 2 stays
  std::copy_n(moved, 18, vectors.data());
  const TokenProjection projection = nearest_tokens(table, vectors, ids, 0);
  EXPECT_EQ(projection.tokens, 6);
  EXPECT_EQ(projection.tokens_changed, 2);
  EXPECT_EQ(projection.row_changed, (std::vector<uint8_t>{1, 1, 0}));
  const float expected[] = {1, 1, 0, 2, 1, 0, 1, 2, 0};
  for (int64_t i = 0; i < 9; ++i) EXPECT_EQ(projection.ids[i], expected[i]) << "position " << i;
  // Without a padding id every position is a token, and (0, 0) is then row 0's own vector.
  const TokenProjection all = nearest_tokens(table, vectors, ids, -1);
  EXPECT_EQ(all.tokens, 9);
  EXPECT_EQ(all.ids[6], 0.0f);
  EXPECT_THROW(nearest_tokens(table, vectors.view().rows(0, 2), ids, 0), ShapeError);
}

TEST(EmbeddingAttack, AModelWithoutAnEmbeddingIsRefusedByName) {
  random::set_seed(1);
  Sequential model("numbers");
  model.add(Dense(2, {.input_dim = 3, .activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
  try {
    find_embedding(model);
    ADD_FAILURE() << "found an Embedding";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("the model 'numbers' has no Embedding layer"), std::string::npos) << e.what();
  }
  Trained& trained = trained_detector();
  EXPECT_EQ(find_embedding(trained.model).layer, "embedding");
  // An input attack on the ids is refused for what it is, not for the non-ids its random
  // start made of them.
  try {
    adversarial_examples(trained.model, trained.test.ids, trained.test.y, {.method = "pgd", .epsilon = 0.5f});
    ADD_FAILURE() << "ids attacked";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("input 'ids' holds token ids (int32), which have no gradient"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(find_embedding(trained.model, "classes"), ValueError);
}

}  // namespace embedding_attack_test
