// Trigger-set watermarks in model files (Adi et al. 2018, "Turning your weakness into a
// strength"): the owner trains the model to answer a secret set of keyed random inputs with
// keyed random labels; a suspect that answers them far above chance (1/C) descends from it.
//
// The set is derived from a watermark key (`citadel watermark keygen`), the model's input
// shape (without the batch), its class count C, the size N and the value range [low, high):
//   seed  = HMAC-SHA-256(key, "citadel-trigger-set-v1" 0x00 || params)
//   bytes = ChaCha20 keystream (libsodium crypto_stream_chacha20, nonce 0) under seed
// where params are u64 little-endian N, C, rank, each dim, then low and high as float32 bits.
// The stream gives, in order, each row's values (a u32 each: low + (high − low)·(u >> 8)·2^-24)
// for all N rows, then each row's label (a u64 each, modulo C; bias below C·2^-64).
// The key-derived id is the first 16 bytes of HMAC-SHA-256(key, "citadel-trigger-set-id-v1"):
// it names the key without revealing it. The commitment is
//   SHA-256("citadel-trigger-set-commitment-v1" 0x00 || id || params || canonical bytes of the
//           values (as the served watermark's rows: float32 LE, -0 as +0) || labels as u64 LE)
// in hex: it binds the key and the exact set, so a set shown later cannot be one chosen after
// seeing a suspect.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "citadel/core/shape.hpp"
#include "citadel/core/tensor.hpp"
#include "citadel/model/model.hpp"

namespace citadel {

class WatermarkKey;

struct TriggerSetOptions {
  int64_t size = 100;  // N rows
  float low = 0.0f, high = 1.0f;  // the inputs' range: the training data's
};

struct TriggerSet {
  Tensor x;                     // (N, input shape...)
  std::vector<int64_t> labels;  // N, each in [0, C)
  int64_t classes = 0;          // C
  TriggerSetOptions options;
  std::string key_id;      // hex of the key-derived id (16 bytes)
  std::string commitment;  // hex SHA-256 (see the top of this file)
};

// ValueError unless size ≥ 1, classes ≥ 2, low < high (both finite) and the shape has ≥ 1 value.
TriggerSet make_trigger_set(const WatermarkKey& key, const Shape& input_shape, int64_t classes,
                            const TriggerSetOptions& options = {});
// The commitment of a set as it stands (recomputed from its values and labels).
std::string trigger_set_commitment(const TriggerSet& set);
// The hex id of a key (never the key).
std::string trigger_set_key_id(const WatermarkKey& key);

// The test of a suspect: its top answer for each trigger row against the keyed label, and the
// p-value of that many matches or more for a model independent of the key (each match with
// probability 1/C: the labels are uniform and secret).
struct TriggerSetVerdict {
  int64_t trials = 0, matches = 0, classes = 0;
  double accuracy = 0, null_probability = 0, p_value = 1, alpha = 1e-3;
  bool claimed = false;  // p_value < alpha
};
// ValueError when the model's one input and output do not fit the set.
TriggerSetVerdict verify_trigger_set(Model& model, const TriggerSet& set, double alpha = 1e-3);

// The FitOptions::gradient_step that trains the set in: each step's gradient is that of the
// batch's B rows and `rows_per_batch` trigger rows (the next in turn, cycling) together,
// weighted as one batch of B + k rows; the loss and the outputs the metrics read are the
// batch's alone, and the validation split never sees a trigger row. For a model of one input
// and one output trained with a sparse (N or N×1 labels) or one-hot (N×C) cross-entropy.
// Models with batch normalization also see the trigger rows in their moving statistics.
GradientStep trigger_set_training(const TriggerSet& set, int64_t rows_per_batch = 16);

}  // namespace citadel
