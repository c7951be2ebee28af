// Gaussian noise in parallel chunks: chunk c draws from keystream nonce (first + c), so
// the noise depends on the key alone, not on the thread count. The ziggurat needs one
// 64-bit word per value about 99 % of the time (8 bits pick the layer, 1 the sign, 53 the
// uniform): a tight loop takes those over the buffered words, and the rest go through the
// whole algorithm, which reads the same words in the same order, so the values are those
// of the plain loop.
#include "citadel/ops/noise.hpp"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized inside their own _mm512_undefined
// (GCC bug 105593); the warning is about the header, not this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "parallel.hpp"

namespace citadel::ops {
namespace {

constexpr int64_t kChunk = 16384;  // values per nonce: fixed, so results do not depend on threads
constexpr size_t kWords = 512;     // keystream words fetched at a time (64 ChaCha20 blocks)
constexpr int kLayers = 256;
constexpr double kR = 3.6541528853610088;   // where the tail starts, for 256 layers
constexpr double kArea = 4.92867323399e-3;  // each layer's area (Marsaglia and Tsang 2000)

double density(double x) { return std::exp(-0.5 * x * x); }  // unnormalized: the layers use it alike
double uniform53(uint64_t word) { return static_cast<double>(word >> 11) * 0x1.0p-53; }

// Layer edges x[0] (the base strip's width, tail included) > x[1] = r > ... > x[256] = 0,
// and the density at each.
struct Ziggurat {
  std::array<double, kLayers + 1> x{}, f{};
  Ziggurat() {
    x[0] = kArea / density(kR);
    x[1] = kR;
    for (int i = 1; i < kLayers - 1; ++i) x[i + 1] = std::sqrt(-2.0 * std::log(kArea / x[i] + density(x[i])));
    x[kLayers] = 0.0;
    for (int i = 0; i <= kLayers; ++i) f[i] = density(x[i]);
  }
};

const Ziggurat& ziggurat() {
  static const Ziggurat table;
  return table;
}

class ChunkStream {
 public:
  ChunkStream(const SecureRng& rng, uint64_t nonce) : keystream_(rng.open_keystream(nonce, 0)) {}
  ~ChunkStream() { words_.fill(0); }
  uint64_t next() {
    if (position_ == kWords) refill();
    return words_[position_++];
  }
  // The words not yet taken (refilled when none is left), and taking `count` of them.
  std::span<const uint64_t> buffered() {
    if (position_ == kWords) refill();
    return std::span<const uint64_t>(words_).subspan(position_);
  }
  void take(size_t count) { position_ += count; }

 private:
  void refill() {
    keystream_.read(words_);
    position_ = 0;
  }

  Keystream keystream_;
  std::array<uint64_t, kWords> words_{};
  size_t position_ = kWords;
};

double standard_normal(ChunkStream& stream, const Ziggurat& z) {
  while (true) {
    const uint64_t word = stream.next();
    const int layer = static_cast<int>(word & 0xFF);
    const bool negative = (word >> 8) & 1;
    const double x = uniform53(word) * z.x[layer];
    if (x < z.x[layer + 1]) return negative ? -x : x;  // inside the layer above: under the curve
    if (layer == 0) {                                  // the base strip beyond r: the exact tail
      // The two words in stream order, spelt out: as two arguments of one call their order
      // was the compiler's choice, and another compiler would have drawn other noise.
      double tail = 0;
      while (true) {
        const uint64_t first = stream.next();
        const uint64_t second = stream.next();
        if (gaussian_tail_step(first, second, tail)) break;
      }
      return negative ? -tail : tail;
    }
    // The wedge between the layer's box and the curve.
    const double y = z.f[layer] + uniform53(stream.next()) * (z.f[layer + 1] - z.f[layer]);
    if (y < density(x)) return negative ? -x : x;
  }
}

// The layer's sign bit moved to a double's sign: -x for a set bit, without a branch on a
// coin flip.
double with_sign(double x, uint64_t word) {
  return std::bit_cast<double>(std::bit_cast<uint64_t>(x) ^ ((word >> 8 & 1) << 63));
}

// The fast path over buffered words: turns words into values while each word's point lies
// under the layer above, and returns how many it took (fewer than `count` at the first
// word that needs the whole algorithm).
size_t fast_path_scalar(const uint64_t* words, size_t count, float* values, double stddev, const Ziggurat& z) {
  size_t k = 0;
  for (; k < count; ++k) {
    const uint64_t word = words[k];
    const int layer = static_cast<int>(word & 0xFF);
    const double x = uniform53(word) * z.x[layer];
    if (!(x < z.x[layer + 1])) break;
    values[k] += static_cast<float>(stddev * with_sign(x, word));
  }
  return k;
}

// The same eight words at a time (94 % of groups of eight are all under their layers); the
// same operations in the same precision, so the same values.
__attribute__((target("avx512f,avx512dq,avx512vl"))) size_t fast_path_avx512(const uint64_t* words, size_t count,
                                                                             float* values, double stddev,
                                                                             const Ziggurat& z) {
  const __m512d to_unit = _mm512_set1_pd(0x1.0p-53), scale = _mm512_set1_pd(stddev);
  const __m512i layer_bits = _mm512_set1_epi64(0xFF), sign_bit = _mm512_set1_epi64(0x100);
  size_t k = 0;
  for (; k + 8 <= count; k += 8) {
    const __m512i word = _mm512_loadu_si512(words + k);
    const __m512i layer = _mm512_and_si512(word, layer_bits);
    const __m512d unit = _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64(word, 11)), to_unit);
    const __m512d x = _mm512_mul_pd(unit, _mm512_i64gather_pd(layer, z.x.data(), 8));
    const __mmask8 under = _mm512_cmp_pd_mask(x, _mm512_i64gather_pd(layer, z.x.data() + 1, 8), _CMP_LT_OQ);
    const __m512i sign = _mm512_slli_epi64(_mm512_and_si512(word, sign_bit), 55);
    const __m512d signed_x = _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(x), sign));
    const __m256 noise = _mm512_cvtpd_ps(_mm512_mul_pd(signed_x, scale));
    const unsigned taken = static_cast<unsigned>(__builtin_ctz(~static_cast<unsigned>(under)));  // leading lanes under
    const __mmask8 store = static_cast<__mmask8>((1u << taken) - 1);
    _mm256_mask_storeu_ps(values + k, store, _mm256_add_ps(_mm256_maskz_loadu_ps(store, values + k), noise));
    if (taken < 8) return k + taken;
  }
  return k + fast_path_scalar(words + k, count - k, values + k, stddev, z);
}

using FastPath = size_t (*)(const uint64_t*, size_t, float*, double, const Ziggurat&);

// CITADEL_NOISE_VECTOR=0 takes the scalar path on any processor, so that the tests run
// both paths where AVX-512 is present.
FastPath fast_path() {
  static const FastPath chosen = [] {
    const char* setting = std::getenv("CITADEL_NOISE_VECTOR");
    const bool allowed = !(setting && std::string_view(setting) == "0");
    const bool avx512 =
        __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    return allowed && avx512 ? fast_path_avx512 : fast_path_scalar;
  }();
  return chosen;
}

void fill_chunk(float* values, int64_t count, double stddev, const SecureRng& rng, uint64_t nonce) {
  ChunkStream stream(rng, nonce);
  const Ziggurat& z = ziggurat();
  const FastPath fast = fast_path();
  int64_t i = 0;
  while (i < count) {
    const std::span<const uint64_t> words = stream.buffered();
    const size_t usable = static_cast<size_t>(std::min<int64_t>(count - i, static_cast<int64_t>(words.size())));
    const size_t taken = fast(words.data(), usable, values + i, stddev, z);
    stream.take(taken);
    i += static_cast<int64_t>(taken);
    // The rest (about 1 %): the whole algorithm, starting from the same word.
    if (taken < usable) values[i++] += static_cast<float>(stddev * standard_normal(stream, z));
  }
}

}  // namespace

bool gaussian_tail_step(uint64_t a, uint64_t b, double& z) {
  // u in (0, 1]: -log(u) is finite. The largest accepted z is r + sqrt(2·53·ln 2) ≈ 12.2σ.
  const double u1 = static_cast<double>((a >> 11) + 1) * 0x1.0p-53;
  const double u2 = static_cast<double>((b >> 11) + 1) * 0x1.0p-53;
  const double x = -std::log(u1) / kR, y = -std::log(u2);
  if (2.0 * y < x * x) return false;
  z = kR + x;
  return true;
}

void add_gaussian_noise(std::span<float> values, double stddev, SecureRng& rng) {
  const int64_t count = static_cast<int64_t>(values.size());
  const int64_t chunks = (count + kChunk - 1) / kChunk;
  uint64_t first = 0;
  for (int64_t c = 0; c < chunks; ++c) {
    const uint64_t nonce = rng.reserve_nonce();
    if (c == 0) first = nonce;
  }
  const SecureRng& shared = rng;
  (void)ziggurat();  // built once, before the threads
  detail::parallel_for(chunks, 2, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const int64_t offset = c * kChunk;
      fill_chunk(values.data() + offset, std::min(kChunk, count - offset), stddev, shared,
                 first + static_cast<uint64_t>(c));
    }
  });
}

}  // namespace citadel::ops
