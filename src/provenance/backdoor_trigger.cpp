#include "citadel/provenance/backdoor_trigger.hpp"

#include <algorithm>
#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"

namespace citadel {
namespace {

struct ImageGeometry {
  int64_t height, width, channels;
};

ImageGeometry geometry_of(const Shape& shape) {
  if (shape.rank() == 4) return {shape[1], shape[2], shape[3]};
  CITADEL_CHECK(shape.rank() == 2, ValueError, "stamp_trigger: images have shape (N, H, W, C) or (N, H*W), got ",
                shape.str());
  const auto side = static_cast<int64_t>(std::lround(std::sqrt(double(shape[1]))));
  CITADEL_CHECK(side * side == shape[1], ValueError, "stamp_trigger: rows of ", shape[1],
                " values are not square one-channel images; give (N, H, W, C)");
  return {side, side, 1};
}

int64_t label_of(ConstTensorView y, int64_t row) {
  const int64_t columns = y.rank() == 1 ? 1 : y.numel() / std::max<int64_t>(y.shape(0), 1);
  if (columns == 1) return static_cast<int64_t>(std::lround(y[row]));
  const float* one_hot = y.data() + row * columns;
  return std::max_element(one_hot, one_hot + columns) - one_hot;
}

void set_label(TensorView y, int64_t row, int64_t label) {
  const int64_t columns = y.rank() == 1 ? 1 : y.numel() / std::max<int64_t>(y.shape(0), 1);
  if (columns == 1) {
    y[row] = float(label);
    return;
  }
  std::fill(y.data() + row * columns, y.data() + (row + 1) * columns, 0.0f);
  y[row * columns + label] = 1.0f;
}

}  // namespace

void stamp_trigger(TensorView x, const PatchTrigger& trigger) {
  const ImageGeometry g = geometry_of(x.shape());
  CITADEL_CHECK(trigger.size >= 1 && trigger.size <= std::min(g.height, g.width), ValueError,
                "stamp_trigger: a trigger of size ", trigger.size, " does not fit a ", g.height, "x", g.width, " image");
  const int64_t top = trigger.row >= 0 ? trigger.row : g.height - trigger.size - 1;
  const int64_t left = trigger.col >= 0 ? trigger.col : g.width - trigger.size - 1;
  CITADEL_CHECK(top >= 0 && left >= 0 && top + trigger.size <= g.height && left + trigger.size <= g.width, ValueError,
                "stamp_trigger: the trigger at (", top, ", ", left, ") leaves the ", g.height, "x", g.width, " image");
  const int64_t image = g.height * g.width * g.channels;
  for (int64_t n = 0; n < x.shape(0); ++n)
    for (int64_t r = top; r < top + trigger.size; ++r)
      for (int64_t c = left; c < left + trigger.size; ++c)
        for (int64_t ch = 0; ch < g.channels; ++ch) x[n * image + (r * g.width + c) * g.channels + ch] = trigger.value;
}

std::vector<int64_t> poison_with_trigger(TensorView x, TensorView y, const PatchTrigger& trigger, int64_t target_class,
                                         double rate, uint64_t seed) {
  CITADEL_CHECK(rate >= 0 && rate <= 1, ValueError, "poison_with_trigger: rate must lie in [0, 1], got ", rate);
  CITADEL_CHECK(x.shape(0) == y.shape(0), ValueError, "poison_with_trigger: ", x.shape(0), " images and ", y.shape(0),
                " labels");
  std::vector<int64_t> candidates;
  for (int64_t r = 0; r < y.shape(0); ++r)
    if (label_of(y, r) != target_class) candidates.push_back(r);
  const auto wanted = static_cast<int64_t>(std::llround(rate * double(x.shape(0))));
  CITADEL_CHECK(wanted <= int64_t(candidates.size()), ValueError, "poison_with_trigger: ", wanted,
                " rows to poison, but only ", candidates.size(), " are not of the target class");
  Rng rng(seed);
  for (int64_t i = int64_t(candidates.size()) - 1; i > 0; --i)
    std::swap(candidates[size_t(i)], candidates[size_t(rng.below(uint64_t(i + 1)))]);
  candidates.resize(size_t(wanted));
  std::sort(candidates.begin(), candidates.end());
  const int64_t image = x.numel() / std::max<int64_t>(x.shape(0), 1);
  Shape one = x.shape();
  one[0] = 1;
  for (int64_t r : candidates) {
    stamp_trigger(TensorView(x.data() + r * image, one), trigger);
    set_label(y, r, target_class);
  }
  return candidates;
}

}  // namespace citadel
