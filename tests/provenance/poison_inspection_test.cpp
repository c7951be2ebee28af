// Poison inspection on synthetic classes whose answer is known by construction: representations
// equal to the inputs, so a planted group is both an outlier of its class and, in input space,
// a group of another class's rows; and natural sub-populations, outlying but label-consistent.
#include "citadel/provenance/poison_inspection.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/provenance/label_disagreement.hpp"

namespace poison_inspection_test {

using namespace citadel;

namespace {

constexpr int64_t kWidth = 8;

struct Rows {
  std::vector<std::vector<float>> x;
  std::vector<int64_t> y;
  void add(int64_t n, const std::vector<float>& centre, int64_t label, Rng& rng, float spread = 1.0f) {
    for (int64_t i = 0; i < n; ++i) {
      std::vector<float> row(centre);
      for (float& v : row) v += spread * float(rng.normal());
      x.push_back(row), y.push_back(label);
    }
  }
  Tensor tensor() const {
    Tensor t(Shape{int64_t(x.size()), kWidth});
    for (size_t r = 0; r < x.size(); ++r) std::copy(x[r].begin(), x[r].end(), t.data() + int64_t(r) * kWidth);
    return t;
  }
};

PoisonInspectionOptions seeded(uint64_t seed, bool whiten = true) {
  PoisonInspectionOptions options;
  options.seed = seed, options.whiten = whiten;
  return options;
}

std::vector<float> centre(float first, float second = 0) {
  std::vector<float> c(kWidth, 0.0f);
  c[0] = first, c[1] = second;
  return c;
}

TEST(PoisonInspection, FindsAPlantedGroupOfAnotherClassesRows) {
  Rng rng(1);
  Rows rows;
  rows.add(1000, centre(0), 0, rng);
  rows.add(1000, centre(30), 1, rng);
  // 30 rows (3 % of class 0) drawn like class 1, carrying a "trigger" in the last input, labelled 0.
  std::vector<float> planted = centre(30);  // as far out as BadNets rows on Fashion-MNIST (44 deviations)
  planted[kWidth - 1] = 3;
  rows.add(30, planted, 0, rng, 0.5f);
  const Tensor x = rows.tensor();
  const PoisonInspection result = inspect_representations(x, x, rows.y, seeded(3));
  ASSERT_EQ(result.classes.size(), 2u);
  EXPECT_TRUE(result.classes[0].flagged) << result.classes[0].verdict;
  EXPECT_FALSE(result.classes[1].flagged) << result.classes[1].verdict;
  EXPECT_EQ(result.flagged_classes(), std::vector<int64_t>{0});
  int64_t found = 0, false_positives = 0;
  for (int64_t r = 0; r < 2030; ++r) (r >= 2000 ? found : false_positives) += result.flagged[size_t(r)];
  EXPECT_GE(found, 27);            // 90 % of the planted rows
  EXPECT_LE(false_positives, 50);  // 5 % of class 0's own rows
  EXPECT_GT(result.classes[0].candidate_disagreement, 0.9);
  EXPECT_LT(result.classes[0].typical_disagreement, 0.1);
  for (int64_t r = 2000; r < 2030; ++r) EXPECT_GT(result.score[size_t(r)], 15.0) << r;
}

TEST(PoisonInspection, LeavesNaturalSubPopulationsAlone) {
  for (const int64_t minor : {300, 500}) {  // 70/30 and 50/50 splits of class 0, far apart
    Rng rng{uint64_t(minor)};
    Rows rows;
    rows.add(1000 - minor, centre(0), 0, rng);
    rows.add(minor, centre(0, 10), 0, rng);
    rows.add(1000, centre(20), 1, rng);
    const Tensor x = rows.tensor();
    const PoisonInspection result = inspect_representations(x, x, rows.y, seeded(5));
    for (const ClassInspection& c : result.classes) EXPECT_FALSE(c.flagged) << minor << ": " << c.verdict;
    EXPECT_TRUE(result.flagged_rows().empty());
  }
}

TEST(PoisonInspection, ActivationClusteringSeesTheSplit) {
  Rng rng(2);
  Rows rows;
  rows.add(700, centre(0), 0, rng);
  rows.add(300, centre(0, 10), 0, rng);
  const Tensor x = rows.tensor();
  const PoisonInspection result = inspect_representations(x, x, rows.y, seeded(1, false));
  EXPECT_NEAR(result.classes[0].cluster_share, 0.3, 0.01);
  EXPECT_GT(result.classes[0].ashman_d, 6.0);  // 10 apart over unit spreads: D ≈ 10
}

TEST(PoisonInspection, ReportsSmallClassesAndRefusesHostileInput) {
  Rng rng(3);
  Rows rows;
  rows.add(100, centre(0), 0, rng);
  rows.add(1, centre(5), 2, rng);  // label 1 absent, label 2 a single row
  const Tensor x = rows.tensor();
  const PoisonInspection result = inspect_representations(x, x, rows.y);
  ASSERT_EQ(result.classes.size(), 2u);
  EXPECT_EQ(result.classes[1].label, 2);
  EXPECT_FALSE(result.classes[1].inspected);
  EXPECT_NE(result.classes[1].verdict.find("not inspected"), std::string::npos);

  EXPECT_THROW(inspect_representations(Tensor(Shape{0, 4}), Tensor(Shape{0, 4}), {}), ValueError);
  EXPECT_THROW(inspect_representations(x, x, std::vector<int64_t>(x.shape(0) - 1, 0)), ValueError);
  Tensor nan = x;
  nan[5 * kWidth + 2] = std::numeric_limits<float>::quiet_NaN();
  try {
    inspect_representations(nan, x, rows.y);
    FAIL() << "NaN representation accepted";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("row 5"), std::string::npos) << e.what();
  }
  PoisonInspectionOptions negative;
  negative.row_threshold = -1;
  EXPECT_THROW(inspect_representations(x, x, rows.y, negative), ValueError);
}

TEST(PoisonInspection, ClassIndicesReadsIndicesAndOneHot) {
  Tensor indices(Shape{3}, {2, 0, 1});
  EXPECT_EQ(class_indices(indices), (std::vector<int64_t>{2, 0, 1}));
  Tensor one_hot(Shape{2, 3}, {0, 0, 1, 1, 0, 0});
  EXPECT_EQ(class_indices(one_hot), (std::vector<int64_t>{2, 0}));
  EXPECT_THROW(class_indices(Tensor(Shape{2}, {0.5f, 1})), ValueError);
  EXPECT_THROW(class_indices(Tensor(Shape{1, 3}, {0.5f, 0.5f, 0})), ValueError);
}

TEST(PoisonInspection, NeighbourDisagreementCountsOtherLabels) {
  // Queries at 0 and 10 on a line; references at 1, 2, 3 (label 0) and 9, 11 (label 1).
  Tensor queries(Shape{2, 1}, {0, 10}), references(Shape{5, 1}, {1, 2, 3, 9, 11});
  const std::vector<double> d = neighbour_label_disagreement(queries, {0, 0}, references, {0, 0, 0, 1, 1}, 3);
  EXPECT_DOUBLE_EQ(d[0], 0.0);        // 1, 2, 3
  EXPECT_DOUBLE_EQ(d[1], 2.0 / 3.0);  // 9, 11, then 3 at distance 7
  EXPECT_THROW(neighbour_label_disagreement(queries, {0, 0}, references, {0, 0, 0, 1, 1}, 6), ValueError);
  EXPECT_THROW(neighbour_label_disagreement(queries, {0}, references, {0, 0, 0, 1, 1}, 1), ValueError);
}

TEST(PoisonInspection, InspectsAModelsPenultimateLayer) {
  Rng rng(4);
  Rows rows;
  rows.add(300, centre(0), 0, rng);
  rows.add(300, centre(6), 1, rng);
  const Tensor x = rows.tensor();
  Tensor y(Shape{600});
  for (int64_t r = 0; r < 600; ++r) y[r] = float(rows.y[size_t(r)]);
  random::set_seed(1);
  Sequential model;
  model.add(Dense(6, {.input_dim = kWidth, .activation = "relu"}));
  model.add(Dense(2, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
  model.fit(x, y, {.epochs = 2, .batch_size = 32, .verbose = 0});
  const PoisonInspection result = inspect_poison(model, x, y);
  EXPECT_EQ(result.layer, model.layer(0).name());
  EXPECT_EQ(result.score.size(), 600u);
  EXPECT_EQ(result.classes.size(), 2u);
  EXPECT_THROW(inspect_poison(model, x, Tensor(Shape{599})), ValueError);

  Sequential shallow;  // the output layer reads the input: nothing learned to inspect
  shallow.add(Dense(2, {.input_dim = kWidth, .activation = "softmax"}));
  shallow.compile({.loss = "sparse_categorical_crossentropy", .optimizer = "adam"});
  EXPECT_THROW(inspect_poison(shallow, x, y), ValueError);
}

}  // namespace

}  // namespace poison_inspection_test
