// Keras 3 calls some layers with several positional arguments and tensor or setting keyword
// arguments: MultiHeadAttention as mha(query, value, key=..., use_causal_mask=...). citadel's
// graphs call a layer on one list of tensors and keep such settings with the layer, so these
// calls are rewritten into that form before the config is checked (and written back out in
// Keras's form on export).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace citadel::detail {

// In every Functional config of `root` (the model and the models nested in it), each call of
// a MultiHeadAttention layer {"args": [query, value(, key)], "kwargs": {"key": ...,
// "use_causal_mask": ..., ...}} becomes {"args": [[query, value(, key)]], "kwargs": {...}}
// (training kept) and use_causal_mask goes into the layer's config. NotImplementedError
// naming `source`, the layer and the argument for an explicit attention_mask,
// query_mask/value_mask/key_mask, return_attention_scores=true, or calls of one layer that
// differ in use_causal_mask; IoError for a malformed call. Calls already in citadel's form
// are left as they are.
void read_attention_calls(nlohmann::json& root, const std::string& source);

// A citadel MultiHeadAttention layer entry of a Functional config (citadel's form: one list of
// tensors, use_causal_mask in its config) in Keras 3's form.
void write_attention_calls(nlohmann::json& layer);

}  // namespace citadel::detail
