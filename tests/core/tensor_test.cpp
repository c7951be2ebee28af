// Shape and Tensor: sizes, deep copies, storage reuse, alignment and row views.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "citadel/core/error.hpp"
#include "citadel/core/tensor.hpp"

namespace tensor_test {

using namespace citadel;

TEST(Shape, CountsElementsAndPrints) {
  const Shape shape{2, 3, 4};
  EXPECT_EQ(shape.rank(), 3);
  EXPECT_EQ(shape.numel(), 24);
  EXPECT_EQ(shape.str(), "(2, 3, 4)");
  EXPECT_EQ(Shape{5}.str(), "(5,)");
  EXPECT_EQ(Shape{10}.batch_str(), "(None, 10)");
  EXPECT_EQ(shape.with_batch(7), (Shape{7, 2, 3, 4}));
  EXPECT_EQ(shape.without_batch(), (Shape{3, 4}));
}

TEST(Shape, RejectsOverflowNegativeAndTooManyAxes) {
  const int64_t big = std::numeric_limits<int64_t>::max() / 2;
  EXPECT_THROW((Shape{big, 3}.numel()), ShapeError);
  EXPECT_THROW((Shape{2, -1}), ShapeError);
  EXPECT_THROW((Shape{1, 1, 1, 1, 1, 1, 1, 1, 1}), ShapeError);
}

TEST(Tensor, CopyIsDeep) {
  Tensor a(Shape{2, 2}, {1, 2, 3, 4});
  Tensor b = a;
  b[0] = 10;
  EXPECT_EQ(a[0], 1);
  EXPECT_EQ(b[0], 10);
  EXPECT_NE(a.data(), b.data());
}

TEST(Tensor, RejectsWrongValueCount) {
  EXPECT_THROW(Tensor(Shape{2, 2}, {1, 2, 3}), ShapeError);
}

TEST(Tensor, StorageIs64ByteAligned) {
  for (int64_t n : {1, 3, 17, 1000}) {
    Tensor t(Shape{n});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u) << n;
  }
}

TEST(Tensor, ResizeReusesStorageWhenItFits) {
  Tensor t(Shape{32, 10});
  const float* before = t.data();
  t.resize(Shape{8, 10});  // a smaller last batch
  EXPECT_EQ(t.data(), before);
  t.resize(Shape{32, 10});
  EXPECT_EQ(t.data(), before);
  t.resize(Shape{64, 10});
  EXPECT_EQ(t.shape(), (Shape{64, 10}));
}

TEST(Tensor, RowsViewSharesData) {
  Tensor t(Shape{3, 2}, {1, 2, 3, 4, 5, 6});
  TensorView middle = t.rows(1, 2);
  EXPECT_EQ(middle.shape(), (Shape{1, 2}));
  middle[1] = 40;
  EXPECT_EQ(t.at(1, 1), 40);
  EXPECT_THROW(t.rows(2, 4), ShapeError);
}

TEST(Tensor, ReshapeKeepsCount) {
  Tensor t(Shape{2, 3});
  t.reshape(Shape{3, 2});
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_THROW(t.reshape(Shape{4, 2}), ShapeError);
}

}  // namespace tensor_test
