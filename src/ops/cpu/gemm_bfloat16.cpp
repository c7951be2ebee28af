// ops::gemm_bfloat16: matrix products with bf16 inputs through oneDNN's matmul primitive
// (AMX or AVX512-BF16 where present). A and B are rounded into compact per-thread bf16
// buffers in the layout they are stored in; the matmul reads them through strides, so
// transposes cost nothing. Primitives are created once per shape and thread, then reused:
// creating one costs more than a small product.
#include <immintrin.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <cstring>
#include <unordered_map>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/ops/gemm.hpp"
#include "citadel/ops/precision.hpp"
#include "dnnl_engine.hpp"
#include "parallel.hpp"

namespace citadel::ops {
namespace {

struct ProductKey {
  int64_t M, N, K, ldc, threads;
  bool transpose_a, transpose_b;
  float alpha, beta;
  bool operator==(const ProductKey&) const = default;
};

struct ProductKeyHash {
  size_t operator()(const ProductKey& key) const {
    size_t hash = 0;
    for (int64_t part : {key.M, key.N, key.K, key.ldc, key.threads, int64_t(key.transpose_a) * 2 + key.transpose_b})
      hash = hash * 1000003u ^ std::hash<int64_t>()(part);
    return hash ^ std::hash<float>()(key.alpha) * 31 ^ std::hash<float>()(key.beta);
  }
};

// A oneDNN matmul for one key, or none where oneDNN has no bf16 kernel here (AVX2-only
// processors): those products are emulated.
struct Product {
  bool emulated = false;
  dnnl::matmul matmul;
  dnnl::memory a, b, c;
};

// Multiply-adds below which a bf16 product runs on one thread (see gemm_bfloat16).
constexpr int64_t kOneThreadBelow = int64_t(64) << 20;

Product make_product(const ProductKey& key) {
  using dims = dnnl::memory::dims;
  using type = dnnl::memory::data_type;
  // op(A) is (M, K): stored (M, K) with rows of K, or (K, M) with rows of M.
  const dnnl::memory::desc a({key.M, key.K}, type::bf16, key.transpose_a ? dims{1, key.M} : dims{key.K, 1});
  const dnnl::memory::desc b({key.K, key.N}, type::bf16, key.transpose_b ? dims{1, key.K} : dims{key.N, 1});
  const dnnl::memory::desc c({key.M, key.N}, type::f32, dims{key.ldc, 1});
  dnnl::primitive_attr attributes;
  if (key.alpha != 1.0f) attributes.set_output_scales(0, {key.alpha});
  if (key.beta != 0.0f) {
    dnnl::post_ops sum;
    sum.append_sum(key.beta);
    attributes.set_post_ops(sum);
  }
  Product product;
  detail::apply_thread_count(static_cast<int>(key.threads));
  try {
    const dnnl::matmul::primitive_desc description(dnnl::matmul::desc(a, b, c), attributes, cpu_engine());
    product.matmul = dnnl::matmul(description);
  } catch (const dnnl::error&) {
    product.emulated = true;
    return product;
  }
  product.a = dnnl::memory(a, cpu_engine(), DNNL_MEMORY_NONE);
  product.b = dnnl::memory(b, cpu_engine(), DNNL_MEMORY_NONE);
  product.c = dnnl::memory(c, cpu_engine(), DNNL_MEMORY_NONE);
  return product;
}

Product& product_for(const ProductKey& key) {
  thread_local std::unordered_map<ProductKey, Product, ProductKeyHash> products;
  if (products.size() >= 256) products.clear();  // bounded: shapes that vary (the last batch) come and go
  auto found = products.find(key);
  if (found == products.end()) found = products.emplace(key, make_product(key)).first;
  return found->second;
}

// Rounds `rows` rows of `cols` values, `ld` apart, into a compact bf16 matrix.
void round_rows(const float* source, int64_t rows, int64_t cols, int64_t ld, uint16_t* out) {
  if (ld == cols) {  // contiguous: one run, split across threads
    detail::parallel_for(rows * cols, 1 << 16, [&](int64_t begin, int64_t end) {
      to_bfloat16(source + begin, out + begin, end - begin);
    });
    return;
  }
  detail::parallel_for(rows, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(cols, 1)),
                       [&](int64_t begin, int64_t end) {
                         for (int64_t r = begin; r < end; ++r) to_bfloat16(source + r * ld, out + r * cols, cols);
                       });
}

float from_bfloat16(uint16_t bits) {
  const uint32_t widened = uint32_t(bits) << 16;
  float value;
  std::memcpy(&value, &widened, sizeof value);
  return value;
}

// Rounding then sgemm: a bf16 × bf16 product is exact in float32, so only the order of the
// sums differs from a bf16 kernel.
void emulated_product(const ProductKey& key, const uint16_t* a, const uint16_t* b, float* C) {
  thread_local std::vector<float> a_values, b_values;
  const int64_t a_size = key.M * key.K, b_size = key.K * key.N;
  a_values.resize(static_cast<size_t>(a_size));
  b_values.resize(static_cast<size_t>(b_size));
  for (int64_t i = 0; i < a_size; ++i) a_values[i] = from_bfloat16(a[i]);
  for (int64_t i = 0; i < b_size; ++i) b_values[i] = from_bfloat16(b[i]);
  const PrecisionScope float32(Precision::kFloat32);
  gemm(key.transpose_a ? Transpose::kYes : Transpose::kNo, key.transpose_b ? Transpose::kYes : Transpose::kNo, key.M,
       key.N, key.K, key.alpha, a_values.data(), key.transpose_a ? key.M : key.K, b_values.data(),
       key.transpose_b ? key.K : key.N, key.beta, C, key.ldc);
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void portable_to_bfloat16(const float* values, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], sizeof bits);
    const uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);  // ties to even
    const bool nan = (bits & 0x7fffffffu) > 0x7f800000u;
    out[i] = static_cast<uint16_t>(nan ? (bits >> 16) | 0x40u : rounded >> 16);  // a quiet NaN
  }
}

// AVX512-BF16's conversion instruction rounds the same way (to nearest even, NaN kept),
// 32 values at a time: twice the speed of the portable loop on AVX-512.
__attribute__((target("avx512f,avx512bw,avx512bf16")))
void native_to_bfloat16(const float* values, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh both = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(values + i + 16), _mm512_loadu_ps(values + i));
    _mm512_storeu_si512(out + i, reinterpret_cast<__m512i>(both));
  }
  portable_to_bfloat16(values + i, out + i, n - i);
}

}  // namespace

void to_bfloat16(const float* values, uint16_t* out, int64_t n) {
  // As oneDNN sees the processor, so that ONEDNN_MAX_CPU_ISA also selects the portable loop.
  static const bool native = processor_has_bf16() && __builtin_cpu_supports("avx512bf16");
  if (native) return native_to_bfloat16(values, out, n);
  portable_to_bfloat16(values, out, n);
}

void gemm_bfloat16(Transpose transpose_a, Transpose transpose_b, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  const bool ta = transpose_a == Transpose::kYes, tb = transpose_b == Transpose::kYes;
  CITADEL_CHECK(lda >= (ta ? M : K) && ldb >= (tb ? K : N) && ldc >= N, ValueError,
                "gemm_bfloat16: leading dimensions too small (lda=", lda, ", ldb=", ldb, ", ldc=", ldc, ")");
  // oneDNN sizes a matmul's thread team when the primitive is made, and splits the rows of
  // C between threads, each packing all of B: on products as small as W2's that packing
  // costs more than a second thread saves (measured: W2 trains slower on 2 threads than
  // on 1), so they run on one.
  const int threads = M * N * K < kOneThreadBelow ? 1 : detail::team_threads();
  const ProductKey key{M, N, K, ldc, threads, ta, tb, alpha, beta};
  thread_local std::vector<uint16_t> a_bits, b_bits;
  a_bits.resize(static_cast<size_t>(M * K));
  b_bits.resize(static_cast<size_t>(K * N));
  round_rows(A, ta ? K : M, ta ? M : K, lda, a_bits.data());
  round_rows(B, tb ? N : K, tb ? K : N, ldb, b_bits.data());
  if (K == 0) {  // an empty sum: C = beta·C, as sgemm
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  Product& product = product_for(key);
  if (product.emulated) return emulated_product(key, a_bits.data(), b_bits.data(), C);
  detail::apply_thread_count(threads);
  product.a.set_data_handle(a_bits.data());
  product.b.set_data_handle(b_bits.data());
  product.c.set_data_handle(C);
  thread_local dnnl::stream stream(cpu_engine());
  try {
    product.matmul.execute(stream, {{DNNL_ARG_SRC, product.a}, {DNNL_ARG_WEIGHTS, product.b}, {DNNL_ARG_DST, product.c}});
    stream.wait();
  } catch (const dnnl::error& error) {
    throw InternalError(std::string("oneDNN bf16 matmul failed for M=") + std::to_string(M) + " N=" +
                        std::to_string(N) + " K=" + std::to_string(K) + ": " + error.what());
  }
}

}  // namespace citadel::ops
