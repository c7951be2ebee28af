// Trigger-set watermarks: the keyed set (libsodium's HMAC-SHA-256 and ChaCha20), its
// commitment (SHA-256), the binomial test of a suspect, and the training step that mixes the
// set into each batch.
#include "citadel/core/sodium_init.hpp"
#include "citadel/provenance/trigger_set_watermark.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>

#include "citadel/core/error.hpp"
#include "citadel/core/parameter_store.hpp"
#include "citadel/provenance/served_watermark.hpp"

namespace citadel {
namespace {

constexpr const char* kSetContext = "citadel-trigger-set-v1";
constexpr const char* kIdContext = "citadel-trigger-set-id-v1";
constexpr const char* kCommitmentContext = "citadel-trigger-set-commitment-v1";
constexpr int64_t kMaxRows = 100'000;
constexpr int64_t kMaxValues = int64_t{1} << 26;  // 256 MiB of float32: a file's record cannot ask for more

void put_u64(std::string& out, uint64_t value) {
  for (int b = 0; b < 8; ++b) out += static_cast<char>((value >> (8 * b)) & 0xff);
}

void put_u32(std::string& out, uint32_t value) {
  for (int b = 0; b < 4; ++b) out += static_cast<char>((value >> (8 * b)) & 0xff);
}

uint32_t float_bits(float value) {
  uint32_t bits = 0;
  std::memcpy(&bits, &value, 4);
  return bits;
}

// N, C, rank, dims, low, high: what the set is derived for.
std::string parameter_bytes(const Shape& shape, int64_t classes, const TriggerSetOptions& options) {
  std::string out;
  put_u64(out, uint64_t(options.size));
  put_u64(out, uint64_t(classes));
  put_u64(out, uint64_t(shape.rank()));
  for (int axis = 0; axis < shape.rank(); ++axis) put_u64(out, uint64_t(shape[axis]));
  put_u32(out, float_bits(options.low));
  put_u32(out, float_bits(options.high));
  return out;
}

std::array<unsigned char, 32> hmac(const WatermarkKey& key, const char* context, const std::string& message) {
  ensure_sodium();
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), 32);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(context), std::strlen(context) + 1);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  std::array<unsigned char, 32> out{};
  crypto_auth_hmacsha256_final(&state, out.data());
  sodium_memzero(&state, sizeof state);
  return out;
}

std::string hex_of(const unsigned char* bytes, size_t size) {
  std::string hex(size * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes, size);
  hex.pop_back();
  return hex;
}

int64_t top_class(const float* row, int64_t classes) {
  return static_cast<int64_t>(std::max_element(row, row + classes) - row);
}

}  // namespace

std::string trigger_set_key_id(const WatermarkKey& key) {
  const std::array<unsigned char, 32> id = hmac(key, kIdContext, "");
  return hex_of(id.data(), 16);
}

TriggerSet make_trigger_set(const WatermarkKey& key, const Shape& input_shape, int64_t classes,
                            const TriggerSetOptions& options) {
  CITADEL_CHECK(options.size >= 1 && options.size <= kMaxRows, ValueError, "trigger set: the size must lie in [1, ",
                kMaxRows, "], got ", options.size);
  CITADEL_CHECK(classes >= 2, ValueError, "trigger set: needs a classifier of 2 or more classes (a softmax output), not ",
                classes);
  CITADEL_CHECK(std::isfinite(options.low) && std::isfinite(options.high) && options.low < options.high, ValueError,
                "trigger set: the range [", options.low, ", ", options.high, ") is empty or not finite");
  const int64_t width = input_shape.numel();
  CITADEL_CHECK(input_shape.rank() >= 1 && width >= 1 && width <= kMaxValues / options.size, ValueError,
                "trigger set: cannot make ", options.size, " rows of shape ", input_shape.str());
  TriggerSet set;
  set.classes = classes;
  set.options = options;
  set.key_id = trigger_set_key_id(key);
  set.x = Tensor(input_shape.with_batch(options.size));
  set.labels.resize(static_cast<size_t>(options.size));

  std::array<unsigned char, 32> seed = hmac(key, kSetContext, parameter_bytes(input_shape, classes, options));
  const size_t values = static_cast<size_t>(options.size * width);
  std::vector<unsigned char> stream(values * 4 + set.labels.size() * 8, 0);
  const std::array<unsigned char, crypto_stream_chacha20_NONCEBYTES> nonce{};
  crypto_stream_chacha20(stream.data(), stream.size(), nonce.data(), seed.data());
  sodium_memzero(seed.data(), seed.size());
  const double span = double(options.high) - double(options.low);
  float* x = set.x.data();
  for (size_t i = 0; i < values; ++i) {
    uint32_t u = 0;
    for (int b = 0; b < 4; ++b) u |= uint32_t(stream[i * 4 + size_t(b)]) << (8 * b);
    const double unit = double(u >> 8) * 0x1p-24;  // [0, 1)
    x[i] = std::min(static_cast<float>(double(options.low) + span * unit), std::nextafter(options.high, options.low));
  }
  for (size_t r = 0; r < set.labels.size(); ++r) {
    uint64_t u = 0;
    for (int b = 0; b < 8; ++b) u |= uint64_t(stream[values * 4 + r * 8 + size_t(b)]) << (8 * b);
    set.labels[r] = static_cast<int64_t>(u % uint64_t(classes));
  }
  sodium_memzero(stream.data(), stream.size());
  set.commitment = trigger_set_commitment(set);
  return set;
}

std::string trigger_set_commitment(const TriggerSet& set) {
  ensure_sodium();
  CITADEL_CHECK(set.key_id.size() == 32 && set.x.shape().rank() >= 2 &&
                    set.x.shape(0) == int64_t(set.labels.size()) && set.x.shape(0) == set.options.size,
                ValueError, "trigger_set_commitment: not a trigger set (its rows, labels and size disagree)");
  std::array<unsigned char, 16> id{};
  size_t decoded = 0;
  CITADEL_CHECK(sodium_hex2bin(id.data(), id.size(), set.key_id.data(), set.key_id.size(), nullptr, &decoded,
                               nullptr) == 0 &&
                    decoded == id.size(),
                ValueError, "trigger_set_commitment: the key id is not 16 bytes of hex");
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(kCommitmentContext),
                            std::strlen(kCommitmentContext) + 1);
  crypto_hash_sha256_update(&state, id.data(), id.size());
  const std::string params = parameter_bytes(set.x.shape().without_batch(), set.classes, set.options);
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(params.data()), params.size());
  const std::string values = canonical_row_bytes(set.x.data(), set.x.numel());
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(values.data()), values.size());
  std::string labels;
  for (int64_t label : set.labels) put_u64(labels, uint64_t(label));
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(labels.data()), labels.size());
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256_final(&state, digest.data());
  return hex_of(digest.data(), digest.size());
}

namespace {

void check_fits(const Model& model, const TriggerSet& set, const char* what) {
  CITADEL_CHECK(model.input_count() == 1 && model.output_count() == 1, ValueError, what, ": the model takes ",
                model.input_count(), " inputs and gives ", model.output_count(),
                " outputs; a trigger-set watermark is for a model of one input and one output");
  CITADEL_CHECK(model.input_shape() == set.x.shape().without_batch(), ValueError, what, ": the model's input shape ",
                model.input_shape().str(), " is not the trigger set's ", set.x.shape().without_batch().str());
  const Shape out = model.output_shape();
  CITADEL_CHECK(out.rank() == 1 && out[0] == set.classes, ValueError, what, ": the model's output shape ", out.str(),
                " is not one score per class of the trigger set's ", set.classes);
}

}  // namespace

TriggerSetVerdict verify_trigger_set(Model& model, const TriggerSet& set, double alpha) {
  check_fits(model, set, "trigger-set verify");
  const Tensor scores = model.predict(set.x.view(), {.batch_size = 256});
  TriggerSetVerdict verdict;
  verdict.trials = set.x.shape(0);
  verdict.classes = set.classes;
  verdict.alpha = alpha;
  for (int64_t r = 0; r < verdict.trials; ++r)
    if (top_class(scores.data() + r * set.classes, set.classes) == set.labels[size_t(r)]) ++verdict.matches;
  verdict.accuracy = double(verdict.matches) / double(verdict.trials);
  verdict.null_probability = 1.0 / double(set.classes);
  verdict.p_value = binomial_tail(verdict.matches, verdict.trials, verdict.null_probability);
  verdict.claimed = verdict.p_value < alpha;
  return verdict;
}

GradientStep trigger_set_training(const TriggerSet& set, int64_t rows_per_batch) {
  CITADEL_CHECK(rows_per_batch >= 1, ValueError, "trigger-set training: rows_per_batch must be >= 1, got ",
                rows_per_batch);
  struct State {
    Tensor x;  // the set
    std::vector<int64_t> labels;
    int64_t classes = 0, per_batch = 0, next = 0;
    Tensor batch_x, batch_y;
    std::vector<float> trigger_grads;
    bool checked = false;
  };
  auto state = std::make_shared<State>();
  state->x = set.x;
  state->labels = set.labels;
  state->classes = set.classes;
  state->per_batch = std::min<int64_t>(rows_per_batch, set.x.shape(0));
  const Shape row_shape = set.x.shape().without_batch();
  state->batch_x = Tensor(row_shape.with_batch(state->per_batch));
  TriggerSet shape_only;  // for check_fits
  shape_only.x = Tensor(row_shape.with_batch(1));
  shape_only.classes = set.classes;
  return [state, shape_only](Model& model, std::span<const ConstTensorView> x, std::span<const ConstTensorView> y) {
    CITADEL_CHECK(x.size() == 1 && y.size() == 1, ValueError,
                  "trigger-set training: takes a model of one input and one output");
    State& s = *state;
    if (!s.checked) {
      check_fits(model, shape_only, "trigger-set training");
      const Shape& targets = y[0].shape();
      const bool one_hot = targets.rank() == 2 && targets[1] == s.classes;
      const bool sparse = targets.rank() == 1 || (targets.rank() == 2 && targets[1] == 1);
      CITADEL_CHECK(one_hot || sparse, ValueError, "trigger-set training: targets of shape ", targets.batch_str(),
                    " are neither labels nor one-hot rows of ", s.classes, " classes");
      s.batch_y = one_hot ? Tensor(Shape{s.per_batch, s.classes})
                          : Tensor(targets.rank() == 1 ? Shape{s.per_batch} : Shape{s.per_batch, 1});
      s.checked = true;
    }
    // The next k trigger rows, cycling through the set.
    const int64_t rows = s.x.shape(0), width = s.x.numel() / rows;
    const bool one_hot = s.batch_y.shape().rank() == 2 && s.batch_y.shape(1) == s.classes && s.classes > 1;
    std::fill(s.batch_y.data(), s.batch_y.data() + s.batch_y.numel(), 0.0f);
    for (int64_t i = 0; i < s.per_batch; ++i) {
      const int64_t r = s.next;
      s.next = (s.next + 1) % rows;
      std::copy(s.x.data() + r * width, s.x.data() + (r + 1) * width, s.batch_x.data() + i * width);
      const int64_t label = s.labels[size_t(r)];
      if (one_hot) s.batch_y.data()[i * s.classes + label] = 1.0f;
      else s.batch_y.data()[i] = float(label);
    }
    ParameterStore& params = model.parameters();
    model.compute_gradients(s.batch_x.view(), s.batch_y.view());
    const std::span<float> grads = params.grads();
    s.trigger_grads.assign(grads.begin(), grads.end());
    // The batch last: its outputs are the ones the metrics read.
    const double loss = model.compute_gradients(x[0], y[0]);
    const int64_t batch = x[0].shape(0);
    const float batch_weight = float(double(batch) / double(batch + s.per_batch));
    const float trigger_weight = 1.0f - batch_weight;
    const std::span<float> after = params.grads();
    for (size_t i = 0; i < after.size(); ++i) after[i] = batch_weight * after[i] + trigger_weight * s.trigger_grads[i];
    return loss;
  };
}

}  // namespace citadel
