// Kernels of batch normalization over the last axis of a (rows, C) matrix (channels-last
// images are N·H·W rows): batch statistics in one pass, normalization, and the two passes
// of the backward. Each splits the rows into chunks (a count that depends on the size, not
// on the threads, so results are the same at any thread count) spread over the threads.
#pragma once

#include <cstdint>
#include <vector>

namespace citadel::ops {

// mean and biased variance per channel of x (rows, C), in double: one pass over x,
// summing x − x[0] and its square (the shifted-data formula, which keeps its precision
// where the mean is large against the spread). `partials` is scratch, grown once.
void batch_norm_statistics(const float* x, int64_t rows, int64_t C, double* mean, double* variance,
                           std::vector<double>& partials);

// normalized = (x − mean)·inverse_std and y = normalized·gamma + beta per channel (gamma
// and beta may be null: 1 and 0).
void batch_norm_apply(const float* x, int64_t rows, int64_t C, const float* mean, const float* inverse_std,
                      const float* gamma, const float* beta, float* normalized, float* y);

// Σ dy and Σ dy·normalized per channel, in double.
void batch_norm_gradient_sums(const float* dy, const float* normalized, int64_t rows, int64_t C, double* sum_dy,
                              double* sum_dy_normalized, std::vector<double>& partials);

// dx = scale·(dy − mean_dy − normalized·mean_dy_normalized) per channel (training), or
// dx = scale·dy when mean_dy is null (the moving statistics were constants).
void batch_norm_input_gradient(const float* dy, const float* normalized, int64_t rows, int64_t C,
                               const float* scale, const float* mean_dy, const float* mean_dy_normalized,
                               float* dx);

}  // namespace citadel::ops
