// Preprocessor: fitted on training rows, applied to others, and its JSON record restores
// the same transformation; hostile records are refused.
#include "citadel/data/preprocessor.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"

namespace preprocessor_test {

using namespace citadel;

TEST(Preprocessor, DescribeRestoreRoundTripTransformsIdentically) {
  Tensor train(Shape{4, 2});
  const float values[] = {1, 10, 2, NAN, 3, 30, 6, 40};
  for (int i = 0; i < 8; ++i) train[i] = values[i];
  for (const char* scaling : {"standard", "minmax", "none"}) {
    Preprocessor fitted({.impute_missing = true, .scaling = scaling});
    fitted.fit(train);
    Tensor expected = train, restored_rows = train;
    fitted.apply(expected);
    const Preprocessor restored = Preprocessor::restore(fitted.describe(), false);
    restored.apply(restored_rows);
    for (int64_t i = 0; i < expected.numel(); ++i) EXPECT_EQ(expected[i], restored_rows[i]) << scaling;
    EXPECT_FALSE(std::isnan(expected[3])) << "imputed";
    EXPECT_NO_THROW(restored.check_width(2));
    if (std::string(scaling) != "none") {
      EXPECT_THROW(restored.check_width(3), ValueError);
    }
  }
  // Standard scaling by hand: column 0 has mean 3, population std sqrt(3.5).
  Preprocessor standard({.scaling = "standard"});
  Tensor column(Shape{4, 1});
  for (int i = 0; i < 4; ++i) column[i] = values[2 * i];
  standard.fit(column);
  standard.apply(column);
  EXPECT_NEAR(column[0], (1 - 3) / std::sqrt(3.5), 1e-6);
}

TEST(Preprocessor, HostileRecordsAreRefused) {
  for (const char* record : {R"({"scaling":"standard","imputation":"none","mean":[0],"scale":[0]})",
                             R"({"scaling":"standard","imputation":"none","mean":[1e400],"scale":[1]})",
                             R"({"scaling":"minmax","imputation":"none","min":[2],"max":[1]})",
                             R"({"scaling":"magic","imputation":"none"})", R"({"scaling":)",
                             R"([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]])"})
    EXPECT_THROW(Preprocessor::restore(record, false), IoError) << record;
  EXPECT_THROW(Preprocessor({.scaling = "log"}), ValueError);
}

}  // namespace preprocessor_test
