// Trigger-set watermarks (Adi et al. 2018): the set is a function of the key (same key, same
// set; another key, another), its values lie in the range and its labels are spread; the
// commitment moves with the key and with any byte of the set; a model trained with the set
// answers it and is claimed, a model trained without it is not; the training step refuses
// models it does not fit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/provenance/served_watermark.hpp"
#include "citadel/provenance/trigger_set_watermark.hpp"

namespace trigger_set_watermark_test {

using namespace citadel;

namespace {

constexpr int64_t kWidth = 16, kClasses = 4;

WatermarkKey test_key(unsigned char seed = 7) {
  std::array<unsigned char, 32> bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(seed * 31 + i * 17);
  return WatermarkKey(bytes);
}

// Gaussian blobs of kClasses classes around fixed centres; `seed` draws the points.
void blobs(int64_t n, uint64_t seed, Tensor& x, Tensor& y) {
  Rng centres(99), rng(seed);
  std::vector<float> centre(kClasses * kWidth);
  for (float& c : centre) c = float(2.5 * centres.normal());
  x = Tensor(Shape{n, kWidth}), y = Tensor(Shape{n, 1});
  for (int64_t r = 0; r < n; ++r) {
    const auto k = int64_t(rng.below(kClasses));
    y[r] = float(k);
    for (int64_t f = 0; f < kWidth; ++f) x[r * kWidth + f] = centre[size_t(k * kWidth + f)] + float(rng.normal());
  }
}

Sequential classifier(uint64_t seed) {
  random::set_seed(seed);
  Sequential model;
  model.add(Dense(128, {.input_dim = kWidth, .activation = "relu"}));
  model.add(Dense(kClasses, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = Adam{.learning_rate = 0.005f}});
  return model;
}

TriggerSetOptions data_range(const Tensor& x) {
  const auto [low, high] = std::minmax_element(x.data(), x.data() + x.numel());
  return {.size = 100, .low = *low, .high = *high};
}

}  // namespace

TEST(TriggerSetWatermark, TheSetIsAFunctionOfTheKeyInTheRangeWithSpreadLabels) {
  const TriggerSetOptions options{.size = 200, .low = -2.0f, .high = 3.0f};
  const TriggerSet a = make_trigger_set(test_key(1), Shape{kWidth}, kClasses, options);
  const TriggerSet again = make_trigger_set(test_key(1), Shape{kWidth}, kClasses, options);
  const TriggerSet other = make_trigger_set(test_key(2), Shape{kWidth}, kClasses, options);
  ASSERT_EQ(a.x.shape(), (Shape{200, kWidth}));
  EXPECT_EQ(std::memcmp(a.x.data(), again.x.data(), size_t(a.x.numel()) * 4), 0);
  EXPECT_EQ(a.labels, again.labels);
  EXPECT_EQ(a.commitment, again.commitment);
  int64_t same_values = 0;
  for (int64_t i = 0; i < a.x.numel(); ++i) same_values += a.x.data()[i] == other.x.data()[i];
  EXPECT_LT(same_values, 5);
  EXPECT_NE(a.labels, other.labels);
  std::vector<int64_t> counts(kClasses, 0);
  for (int64_t label : a.labels) {
    ASSERT_GE(label, 0);
    ASSERT_LT(label, kClasses);
    ++counts[size_t(label)];
  }
  for (int64_t c : counts) EXPECT_GT(c, 25);  // 50 expected each
  const auto [low, high] = std::minmax_element(a.x.data(), a.x.data() + a.x.numel());
  EXPECT_GE(*low, -2.0f);
  EXPECT_LT(*high, 3.0f);
  EXPECT_LT(*low, -1.9f);
  EXPECT_GT(*high, 2.9f);
  // Another shape or class count: another set.
  EXPECT_NE(make_trigger_set(test_key(1), Shape{kWidth}, kClasses + 1, options).commitment, a.commitment);
  EXPECT_NE(make_trigger_set(test_key(1), Shape{4, 4}, kClasses, options).commitment, a.commitment);
}

TEST(TriggerSetWatermark, TheCommitmentMovesWithTheKeyAndAnyByteOfTheSet) {
  const TriggerSet set = make_trigger_set(test_key(1), Shape{kWidth}, kClasses);
  EXPECT_EQ(set.commitment.size(), 64u);
  EXPECT_EQ(set.key_id.size(), 32u);
  EXPECT_EQ(set.key_id, trigger_set_key_id(test_key(1)));
  EXPECT_NE(set.key_id, trigger_set_key_id(test_key(2)));
  EXPECT_EQ(trigger_set_commitment(set), set.commitment);
  // The same values under another key's id.
  TriggerSet renamed = set;
  renamed.key_id = trigger_set_key_id(test_key(2));
  EXPECT_NE(trigger_set_commitment(renamed), set.commitment);
  // One bit of one value, anywhere; one label.
  for (int64_t i : {int64_t{0}, set.x.numel() / 2, set.x.numel() - 1}) {
    TriggerSet changed = set;
    uint32_t bits;
    std::memcpy(&bits, changed.x.data() + i, 4);
    bits ^= 1u;
    std::memcpy(changed.x.data() + i, &bits, 4);
    EXPECT_NE(trigger_set_commitment(changed), set.commitment) << "value " << i;
  }
  TriggerSet relabelled = set;
  relabelled.labels[57] = (relabelled.labels[57] + 1) % kClasses;
  EXPECT_NE(trigger_set_commitment(relabelled), set.commitment);
  // The key itself is not in the id or the commitment's inputs we publish.
  const WatermarkKey key = test_key(1);
  char hex[65];
  for (size_t i = 0; i < 32; ++i) std::snprintf(hex + 2 * i, 3, "%02x", key.data()[i]);
  EXPECT_EQ(set.key_id.find(std::string(hex, 16)), std::string::npos);
}

TEST(TriggerSetWatermark, AWatermarkedModelIsClaimedAndAnIndependentOneIsNot) {
  Tensor x, y;
  blobs(1000, 1, x, y);
  const TriggerSet set = make_trigger_set(test_key(3), Shape{kWidth}, kClasses, data_range(x));

  Sequential marked = classifier(1);
  marked.fit(x, y, {.epochs = 30, .batch_size = 32, .validation_split = 0.1, .verbose = 0, .seed = 1,
                    .gradient_step = trigger_set_training(set, 8)});
  const TriggerSetVerdict v = verify_trigger_set(marked, set, 1e-3);
  EXPECT_EQ(v.trials, 100);
  EXPECT_GE(v.accuracy, 0.9);
  EXPECT_LT(v.p_value, 1e-9);
  EXPECT_TRUE(v.claimed);
  EXPECT_DOUBLE_EQ(v.null_probability, 0.25);
  // The task is still learnt: held-out blobs.
  Tensor xt, yt;
  blobs(400, 2, xt, yt);
  const Tensor p = marked.predict(xt);
  int64_t right = 0;
  for (int64_t r = 0; r < 400; ++r)
    right += std::max_element(p.data() + r * kClasses, p.data() + (r + 1) * kClasses) - (p.data() + r * kClasses) ==
             int64_t(yt[r]);
  EXPECT_GT(right, 380);

  for (uint64_t seed : {11u, 12u, 13u}) {
    Tensor xi, yi;
    blobs(1000, seed, xi, yi);
    Sequential independent = classifier(seed);
    independent.fit(xi, yi, {.epochs = 30, .batch_size = 32, .verbose = 0, .seed = seed});
    const TriggerSetVerdict n = verify_trigger_set(independent, set, 1e-3);
    EXPECT_FALSE(n.claimed) << "seed " << seed << ": " << n.matches << " of " << n.trials;
    EXPECT_GT(n.p_value, 1e-3);
  }
  // The watermarked model under another key's set: not claimed.
  const TriggerSet other = make_trigger_set(test_key(4), Shape{kWidth}, kClasses, data_range(x));
  EXPECT_FALSE(verify_trigger_set(marked, other, 1e-3).claimed);
}

TEST(TriggerSetWatermark, OneHotTargetsTrainTheSetToo) {
  Tensor x, y;
  blobs(600, 5, x, y);
  Tensor one_hot(Shape{600, kClasses});
  for (int64_t r = 0; r < 600; ++r) one_hot[r * kClasses + int64_t(y[r])] = 1.0f;
  const TriggerSet set = make_trigger_set(test_key(5), Shape{kWidth}, kClasses, data_range(x));
  random::set_seed(5);
  Sequential model;
  model.add(Dense(128, {.input_dim = kWidth, .activation = "relu"}));
  model.add(Dense(kClasses, {.activation = "softmax"}));
  model.compile({.loss = "categorical_crossentropy", .optimizer = Adam{.learning_rate = 0.005f}});
  model.fit(x, one_hot, {.epochs = 40, .batch_size = 32, .verbose = 0, .seed = 5,
                         .gradient_step = trigger_set_training(set, 8)});
  EXPECT_TRUE(verify_trigger_set(model, set).claimed);
}

TEST(TriggerSetWatermark, RefusesWhatItDoesNotFit) {
  const WatermarkKey key = test_key(1);
  EXPECT_THROW(make_trigger_set(key, Shape{kWidth}, 1), ValueError);
  EXPECT_THROW(make_trigger_set(key, Shape{kWidth}, kClasses, {.size = 0}), ValueError);
  // Bounded, whatever a file's record asks: 100,000 rows, 2^26 values.
  EXPECT_THROW(make_trigger_set(key, Shape{kWidth}, kClasses, {.size = 100'001}), ValueError);
  EXPECT_THROW(make_trigger_set(key, Shape{1000}, kClasses, {.size = 100'000}), ValueError);
  EXPECT_THROW(make_trigger_set(key, Shape{kWidth}, kClasses, {.size = 10, .low = 1, .high = 1}), ValueError);
  const TriggerSet set = make_trigger_set(key, Shape{kWidth + 1}, kClasses);
  Sequential model = classifier(1);
  try {
    verify_trigger_set(model, set);
    FAIL() << "expected a ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("input shape"), std::string::npos) << e.what();
  }
  Tensor x, y;
  blobs(64, 1, x, y);
  EXPECT_THROW(model.fit(x, y, {.epochs = 1, .verbose = 0, .gradient_step = trigger_set_training(set)}), ValueError);
}

}  // namespace trigger_set_watermark_test
