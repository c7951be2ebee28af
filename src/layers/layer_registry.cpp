// The registry: one line a layer type.
#include "citadel/layers/layer_registry.hpp"

#include "citadel/layers/activation.hpp"
#include "citadel/layers/batch_normalization.hpp"
#include "citadel/layers/bidirectional.hpp"
#include "citadel/layers/conv1d.hpp"
#include "citadel/layers/conv2d.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/dropout.hpp"
#include "citadel/layers/embedding.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/layers/global_pooling1d.hpp"
#include "citadel/layers/global_pooling2d.hpp"
#include "citadel/layers/layer_normalization.hpp"
#include "citadel/layers/masking.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/layers/multi_head_attention.hpp"
#include "citadel/layers/pooling1d.hpp"
#include "citadel/layers/pooling2d.hpp"
#include "citadel/layers/recurrent.hpp"
#include "citadel/layers/reshape.hpp"
#include "citadel/layers/spatial_dropout.hpp"
#include "citadel/layers/time_distributed.hpp"

namespace citadel {

const std::vector<LayerType>& registered_layers() {
  static const std::vector<LayerType> layers{
      {"Dense", &Dense::from_config},
      {"Activation", &Activation::from_config},
      {"Dropout", &Dropout::from_config},
      {"Flatten", &Flatten::from_config},
      {"Reshape", &Reshape::from_config},
      {"Conv2D", &Conv2D::from_config},
      {"MaxPooling2D", &MaxPooling2D::from_config},
      {"AveragePooling2D", &AveragePooling2D::from_config},
      {"GlobalAveragePooling2D", &GlobalAveragePooling2D::from_config},
      {"GlobalMaxPooling2D", &GlobalMaxPooling2D::from_config},
      {"BatchNormalization", &BatchNormalization::from_config},
      {"Add", &Add::from_config},
      {"Subtract", &Subtract::from_config},
      {"Multiply", &Multiply::from_config},
      {"Average", &Average::from_config},
      {"Maximum", &Maximum::from_config},
      {"Minimum", &Minimum::from_config},
      {"Concatenate", &Concatenate::from_config},
      {"Dot", &Dot::from_config},
      {"Masking", &Masking::from_config},
      {"Conv1D", &Conv1D::from_config},
      {"MaxPooling1D", &MaxPooling1D::from_config},
      {"AveragePooling1D", &AveragePooling1D::from_config},
      {"GlobalAveragePooling1D", &GlobalAveragePooling1D::from_config},
      {"GlobalMaxPooling1D", &GlobalMaxPooling1D::from_config},
      {"LayerNormalization", &LayerNormalization::from_config},
      {"Embedding", &Embedding::from_config},
      {"SimpleRNN", &SimpleRNN::from_config},
      {"LSTM", &LSTM::from_config},
      {"GRU", &GRU::from_config},
      {"Bidirectional", &Bidirectional::from_config},
      {"MultiHeadAttention", &MultiHeadAttention::from_config},
      {"SpatialDropout1D", &SpatialDropout1D::from_config},
      {"TimeDistributed", &TimeDistributed::from_config},
  };
  return layers;
}

const LayerType* find_layer_type(std::string_view class_name) {
  for (const LayerType& type : registered_layers())
    if (type.class_name == class_name) return &type;
  return nullptr;
}

const std::vector<std::string>& registered_layer_types() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> result;
    for (const LayerType& type : registered_layers()) result.push_back(type.class_name);
    return result;
  }();
  return names;
}

}  // namespace citadel
