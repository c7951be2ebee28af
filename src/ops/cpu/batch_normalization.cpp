// Batch normalization kernels (include/citadel/ops/batch_normalization.hpp). The loops
// work through local restrict pointers so that the compiler keeps per-channel values in
// registers and vectorizes along the channels.
#include "citadel/ops/batch_normalization.hpp"

#include <algorithm>

#include "parallel.hpp"

namespace citadel::ops {
namespace {

// Rows per chunk of the reductions, and the most chunks: a chunk's partial sums are C
// doubles each, added up in chunk order afterwards.
constexpr int64_t kValuesPerChunk = 32 * 1024;
constexpr int64_t kMostChunks = 16;

int64_t chunk_count(int64_t rows, int64_t C) {
  return std::max<int64_t>(1, std::min({rows * C / kValuesPerChunk, kMostChunks, rows}));
}

// Element-wise passes run on several threads from this many values per thread.
constexpr int64_t kValuesPerThread = 16 * 1024;

int64_t rows_per_thread(int64_t C) { return std::max<int64_t>(1, kValuesPerThread / std::max<int64_t>(C, 1)); }

// Calls body(first_row, end_row, partial) for each chunk over the threads, and returns the
// chunks' width·C partial sums added up in chunk order. `partials` holds them all, and the
// total after them.
template <class Body>
const double* reduce_by_chunks(int64_t rows, int64_t C, int64_t width, std::vector<double>& partials,
                               const Body& body) {
  const int64_t chunks = chunk_count(rows, C), stride = width * C;
  if (partials.size() < static_cast<size_t>((chunks + 1) * stride))
    partials.resize(static_cast<size_t>((chunks + 1) * stride));
  std::fill(partials.begin(), partials.begin() + chunks * stride, 0.0);
  detail::parallel_for(chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) body(rows * k / chunks, rows * (k + 1) / chunks, partials.data() + k * stride);
  });
  double* total = partials.data() + chunks * stride;
  std::copy(partials.begin(), partials.begin() + stride, total);
  for (int64_t k = 1; k < chunks; ++k)
    for (int64_t i = 0; i < stride; ++i) total[i] += partials[static_cast<size_t>(k * stride + i)];
  return total;
}

}  // namespace

void batch_norm_statistics(const float* x, int64_t rows, int64_t C, double* mean, double* variance,
                           std::vector<double>& partials) {
  const float* __restrict shift = x;  // the first row
  const double* totals = reduce_by_chunks(rows, C, 2, partials, [&](int64_t first, int64_t end, double* partial) {
    double* __restrict sum = partial;
    double* __restrict squares = partial + C;
    for (int64_t m = first; m < end; ++m) {
      const float* __restrict row = x + m * C;
      for (int64_t c = 0; c < C; ++c) {
        const double d = double(row[c]) - double(shift[c]);
        sum[c] += d;
        squares[c] += d * d;
      }
    }
  });
  for (int64_t c = 0; c < C; ++c) {
    const double shifted_mean = totals[c] / static_cast<double>(rows);
    mean[c] = (rows > 0 ? shift[c] : 0.0) + shifted_mean;  // an empty batch: 0/0, NaN as before
    variance[c] = std::max(0.0, totals[C + c] / static_cast<double>(rows) -
                                    shifted_mean * shifted_mean);
  }
}

void batch_norm_apply(const float* x, int64_t rows, int64_t C, const float* mean, const float* inverse_std,
                      const float* gamma, const float* beta, float* normalized, float* y) {
  detail::parallel_for(rows, rows_per_thread(C), [&](int64_t begin, int64_t end) {
    const float* __restrict m_ = mean;
    const float* __restrict s_ = inverse_std;
    const float* __restrict g_ = gamma;
    const float* __restrict b_ = beta;
    for (int64_t m = begin; m < end; ++m) {
      const float* __restrict in = x + m * C;
      float* __restrict hat = normalized + m * C;
      float* __restrict out = y + m * C;
      for (int64_t c = 0; c < C; ++c) {
        const float value = (in[c] - m_[c]) * s_[c];
        hat[c] = value;
        out[c] = value * (g_ ? g_[c] : 1.0f) + (b_ ? b_[c] : 0.0f);
      }
    }
  });
}

void batch_norm_gradient_sums(const float* dy, const float* normalized, int64_t rows, int64_t C, double* sum_dy,
                              double* sum_dy_normalized, std::vector<double>& partials) {
  const double* totals = reduce_by_chunks(rows, C, 2, partials, [&](int64_t first, int64_t end, double* partial) {
    double* __restrict s = partial;
    double* __restrict sn = partial + C;
    for (int64_t m = first; m < end; ++m) {
      const float* __restrict g = dy + m * C;
      const float* __restrict hat = normalized + m * C;
      for (int64_t c = 0; c < C; ++c) {
        s[c] += g[c];
        sn[c] += double(g[c]) * hat[c];
      }
    }
  });
  std::copy(totals, totals + C, sum_dy);
  std::copy(totals + C, totals + 2 * C, sum_dy_normalized);
}

void batch_norm_input_gradient(const float* dy, const float* normalized, int64_t rows, int64_t C,
                               const float* scale, const float* mean_dy, const float* mean_dy_normalized,
                               float* dx) {
  detail::parallel_for(rows, rows_per_thread(C), [&](int64_t begin, int64_t end) {
    const float* __restrict k = scale;
    for (int64_t m = begin; m < end; ++m) {
      const float* __restrict g = dy + m * C;
      float* __restrict out = dx + m * C;
      if (mean_dy == nullptr) {
        for (int64_t c = 0; c < C; ++c) out[c] = k[c] * g[c];
        continue;
      }
      const float* __restrict hat = normalized + m * C;
      const float* __restrict md = mean_dy;
      const float* __restrict mdn = mean_dy_normalized;
      for (int64_t c = 0; c < C; ++c) out[c] = k[c] * (g[c] - md[c] - hat[c] * mdn[c]);
    }
  });
}

}  // namespace citadel::ops
