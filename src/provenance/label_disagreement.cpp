// k nearest neighbours by ‖q‖² + ‖r‖² − 2·q·r, the products through one GEMM per block of
// reference rows, each query keeping its k best in a small sorted list.
#include "citadel/provenance/label_disagreement.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "citadel/core/error.hpp"
#include "citadel/ops/gemm.hpp"

namespace citadel {
namespace {

int64_t width_of(ConstTensorView t) { return t.shape(0) == 0 ? 0 : t.numel() / t.shape(0); }

std::vector<double> squared_norms(ConstTensorView t, int64_t D, const char* what) {
  std::vector<double> norms(size_t(t.shape(0)), 0.0);
  for (int64_t r = 0; r < t.shape(0); ++r)
    for (int64_t c = 0; c < D; ++c) {
      const float v = t.data()[r * D + c];
      CITADEL_CHECK(std::isfinite(v), ValueError, "neighbour_label_disagreement: ", what, " row ", r, " value ", c,
                    " is ", v);
      norms[size_t(r)] += double(v) * double(v);
    }
  return norms;
}

}  // namespace

std::vector<double> neighbour_label_disagreement(ConstTensorView queries, const std::vector<int64_t>& query_labels,
                                                 ConstTensorView references,
                                                 const std::vector<int64_t>& reference_labels, int64_t k) {
  CITADEL_CHECK(queries.rank() >= 1 && references.rank() >= 1, ValueError,
                "neighbour_label_disagreement: queries and references need a row axis");
  const int64_t Q = queries.shape(0), R = references.shape(0), D = width_of(queries);
  CITADEL_CHECK(R == 0 || width_of(references) == D, ValueError, "neighbour_label_disagreement: queries of width ", D,
                ", references of width ", width_of(references));
  CITADEL_CHECK(int64_t(query_labels.size()) == Q && int64_t(reference_labels.size()) == R, ValueError,
                "neighbour_label_disagreement: ", query_labels.size(), " labels for ", Q, " queries, ",
                reference_labels.size(), " for ", R, " references");
  CITADEL_CHECK(k >= 1 && k <= R, ValueError, "neighbour_label_disagreement: k = ", k, " neighbours among ", R,
                " reference rows");
  const std::vector<double> query_norms = squared_norms(queries, D, "query");
  const std::vector<double> reference_norms = squared_norms(references, D, "reference");
  // Per query its k best (distance, reference index), ascending.
  std::vector<std::vector<std::pair<double, int64_t>>> best(static_cast<size_t>(Q));
  constexpr int64_t kBlock = 2048;
  std::vector<float> products(size_t(Q * kBlock));
  for (int64_t start = 0; start < R; start += kBlock) {
    const int64_t n = std::min(kBlock, R - start);
    if (Q > 0)
      ops::gemm(ops::Transpose::kNo, ops::Transpose::kYes, Q, n, D, 1.0f, queries.data(), D,
                references.data() + start * D, D, 0.0f, products.data(), n);
    for (int64_t q = 0; q < Q; ++q) {
      auto& list = best[size_t(q)];
      for (int64_t j = 0; j < n; ++j) {
        const double distance =
            query_norms[size_t(q)] + reference_norms[size_t(start + j)] - 2.0 * double(products[size_t(q * n + j)]);
        const std::pair<double, int64_t> candidate{distance, start + j};
        if (int64_t(list.size()) == k && !(candidate < list.back())) continue;
        list.insert(std::upper_bound(list.begin(), list.end(), candidate), candidate);
        if (int64_t(list.size()) > k) list.pop_back();
      }
    }
  }
  std::vector<double> disagreement(static_cast<size_t>(Q));
  for (int64_t q = 0; q < Q; ++q) {
    int64_t other = 0;
    for (const auto& [distance, index] : best[size_t(q)])
      other += reference_labels[size_t(index)] != query_labels[size_t(q)];
    disagreement[size_t(q)] = double(other) / double(k);
  }
  return disagreement;
}

}  // namespace citadel
