// Bags of tokens for the extraction monitor (citadel/serving/token_bags.hpp).
#include "citadel/serving/token_bags.hpp"

#include "citadel/core/error.hpp"

namespace citadel::serving {

Tensor token_bags(const Tensor& rows, int64_t sequence_length, int64_t vocabulary) {
  CITADEL_CHECK(rows.shape().rank() == 2 && sequence_length > 0 && sequence_length <= rows.shape(1) && vocabulary > 1,
                ValueError, "token_bags: expected (rows, width >= ", sequence_length,
                ") and a vocabulary of 2 or more");
  const int64_t N = rows.shape(0), D = rows.shape(1);
  Tensor bags(Shape{N, vocabulary});
  for (int64_t n = 0; n < N; ++n) {
    const float* ids = rows.data() + n * D + (D - sequence_length);
    float* bag = bags.data() + n * vocabulary;
    for (int64_t t = 0; t < sequence_length; ++t) {
      const float id = ids[t];
      CITADEL_CHECK(id >= 0 && id < float(vocabulary) && id == float(int64_t(id)), ValueError, "token_bags: row ", n,
                    " position ", t, ": id ", id, " is not in [0, ", vocabulary, ")");
      if (id != 0) bag[int64_t(id)] += 1;  // 0 is padding, not a word
    }
  }
  return bags;
}

}  // namespace citadel::serving
