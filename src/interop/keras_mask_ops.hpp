// Keras 3 records the mask computations of a Functional model as operation nodes in its
// config (Masking's not_equal and any, a merge's logical_or) whenever a layer is called with
// a mask (GlobalAveragePooling1D's `mask` argument). citadel derives masks from the layers'
// own rules (docs/API.md, "Masks"), so these nodes are dropped, with the `mask` arguments
// that read them, before the config is checked.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace citadel::detail {

// In every Functional config of `root` (the model and the models nested in it): removes the
// Keras operation layers (module keras.src.ops.*; in legacy .h5 files, which write no
// module, the operations mask rules use: NotEqual, Any, LogicalOr, ...) whose outputs only ever reach `mask` call
// arguments, directly or through other such operations, and those `mask` arguments. A
// `mask` argument fed by anything else (a layer's output, an operation a layer also reads)
// is left in place, for the config reader to refuse by name. Linear in the config's size.
void drop_mask_computations(nlohmann::json& root);

}  // namespace citadel::detail
