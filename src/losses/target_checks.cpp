// Target validation shared by the losses.
#include "target_checks.hpp"

#include <cmath>
#include <string>

#include "citadel/core/error.hpp"

namespace citadel::loss_checks {

void same_shape(const Loss& loss, const Shape& predictions, const Shape& targets) {
  if (predictions == targets) return;
  const bool column_vs_flat = predictions.rank() == 2 && predictions[1] == 1 &&
                              targets.rank() == 1 && targets[0] == predictions[0];
  CITADEL_CHECK(column_vs_flat, ShapeError, loss.name(), ": targets of shape ", targets,
                " do not fit predictions of shape ", predictions,
                predictions.rank() == 2 && predictions[1] > 1 && targets.rank() <= 2 &&
                        (targets.rank() == 1 || targets[1] == 1)
                    ? "; for integer class labels use sparse_categorical_crossentropy"
                    : "");
}

void finite(const Loss& loss, ConstTensorView targets) {
  for (int64_t i = 0; i < targets.numel(); ++i)
    CITADEL_CHECK(std::isfinite(targets[i]), ValueError, loss.name(), ": target ", i,
                  " is not a finite number (", targets[i], ")");
}

void probabilities(const Loss& loss, ConstTensorView targets) {
  // Named by row (and column, for several outputs), as the user indexes the targets.
  const int64_t columns = targets.shape().rank() == 2 ? targets.shape()[1] : 1;
  for (int64_t i = 0; i < targets.numel(); ++i)
    CITADEL_CHECK(targets[i] >= 0.0f && targets[i] <= 1.0f, ValueError, loss.name(), ": row ", i / columns,
                  columns > 1 ? ", column " + std::to_string(i % columns) : std::string(), " has target ", targets[i],
                  ", which must lie in [0, 1] ",
                  columns > 1 ? "(one-hot rows or class probabilities)" : "(class labels 0 and 1)");
}

}  // namespace citadel::loss_checks
