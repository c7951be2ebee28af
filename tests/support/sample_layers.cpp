// Samples of each layer type, covering its options that change the math.
#include "sample_layers.hpp"

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
#include "citadel/layers/regularizers.hpp"
#include "citadel/layers/reshape.hpp"
#include "citadel/layers/spatial_dropout.hpp"
#include "citadel/layers/time_distributed.hpp"

namespace citadel::testkit {

std::map<std::string, std::vector<LayerSample>> sample_layers() {
  std::map<std::string, std::vector<LayerSample>> samples;
  samples["Dense"].push_back({std::make_unique<Dense>(4), Shape{3, 5}});
  samples["Dense"].push_back({std::make_unique<Dense>(3, DenseOptions{.activation = "tanh"}), Shape{2, 4}});
  samples["Dense"].push_back(
      {std::make_unique<Dense>(2, DenseOptions{.activation = "softmax", .use_bias = false}), Shape{4, 3}});
  samples["Dense"].push_back({std::make_unique<Dense>(3, DenseOptions{.kernel_initializer = "he_normal",
                                                                       .bias_initializer = "ones",
                                                                       .kernel_regularizer = L2(0.25f),
                                                                       .bias_regularizer = L1L2(0.5f, 0.125f)}),
                              Shape{2, 4}});
  samples["Activation"].push_back({std::make_unique<Activation>("gelu"), Shape{3, 4}});
  samples["Activation"].push_back({std::make_unique<Activation>("softmax"), Shape{2, 5}});
  samples["Dropout"].push_back({std::make_unique<Dropout>(0.3f), Shape{4, 6}});
  samples["Dropout"].push_back({std::make_unique<Dropout>(0.5f), Shape{2, 3, 4}});
  samples["SpatialDropout1D"].push_back({std::make_unique<SpatialDropout1D>(0.4f), Shape{3, 5, 6}});
  samples["TimeDistributed"].push_back({std::make_unique<TimeDistributed>(Dense(3, {.activation = "tanh"})), Shape{2, 4, 5}});
  samples["TimeDistributed"].push_back(
      {std::make_unique<TimeDistributed>(Conv2D(2, 2, {.kernel_regularizer = L2(0.5f)})), Shape{2, 3, 4, 4, 1}});
  samples["Flatten"].push_back({std::make_unique<Flatten>(), Shape{2, 3, 4, 2}});
  samples["Reshape"].push_back({std::make_unique<Reshape>(std::vector<int64_t>{3, -1}), Shape{2, 12}});
  // Convolutions: strides, "same" padding with odd and even kernels, dilation, fused activation.
  samples["Conv2D"].push_back({std::make_unique<Conv2D>(3, 3), Shape{2, 5, 5, 2}});
  samples["Conv2D"].push_back(
      {std::make_unique<Conv2D>(2, 3, Conv2DOptions{.strides = {2, 2}, .padding = "same", .activation = "tanh"}),
       Shape{2, 6, 5, 3}});
  samples["Conv2D"].push_back(
      {std::make_unique<Conv2D>(2, std::array<int64_t, 2>{2, 4}, Conv2DOptions{.padding = "same", .use_bias = false}),
       Shape{1, 5, 6, 2}});
  samples["Conv2D"].push_back({std::make_unique<Conv2D>(2, 2, Conv2DOptions{.kernel_initializer = "lecun_uniform",
                                                                           .kernel_regularizer = L1(0.5f)}),
                               Shape{1, 4, 4, 1}});
  samples["Conv2D"].push_back(
      {std::make_unique<Conv2D>(3, 2, Conv2DOptions{.padding = "same", .dilation_rate = {2, 3}}), Shape{2, 6, 7, 1}});
  samples["Conv2D"].push_back(
      {std::make_unique<Conv2D>(2, 3, Conv2DOptions{.dilation_rate = {2, 1}, .activation = "sigmoid"}),
       Shape{1, 7, 5, 2}});
  samples["MaxPooling2D"].push_back({std::make_unique<MaxPooling2D>(), Shape{2, 4, 6, 3}, 1e-4});
  samples["MaxPooling2D"].push_back(
      {std::make_unique<MaxPooling2D>(std::array<int64_t, 2>{3, 3},
                                      Pooling2DOptions{.strides = {2, 2}, .padding = "same"}),
       Shape{2, 5, 6, 2}, 1e-4});
  samples["AveragePooling2D"].push_back({std::make_unique<AveragePooling2D>(), Shape{2, 4, 5, 3}});
  samples["AveragePooling2D"].push_back(
      {std::make_unique<AveragePooling2D>(std::array<int64_t, 2>{3, 2},
                                          Pooling2DOptions{.strides = {1, 2}, .padding = "same"}),
       Shape{2, 5, 5, 2}});
  samples["GlobalAveragePooling2D"].push_back({std::make_unique<GlobalAveragePooling2D>(), Shape{2, 3, 4, 3}});
  samples["GlobalMaxPooling2D"].push_back({std::make_unique<GlobalMaxPooling2D>(), Shape{2, 3, 4, 3}, 1e-4});
  // BatchNormalization in training mode (the checks run forward in Mode::kTrain).
  samples["BatchNormalization"].push_back({std::make_unique<BatchNormalization>(), Shape{6, 4}});
  samples["BatchNormalization"].push_back(
      {std::make_unique<BatchNormalization>(BatchNormalizationOptions{.center = false}), Shape{3, 2, 3, 2}});
  samples["BatchNormalization"].push_back(
      {std::make_unique<BatchNormalization>(BatchNormalizationOptions{.momentum = 0.5f,
                                                                      .epsilon = 1e-5f,
                                                                      .scale = false,
                                                                      .beta_initializer = "ones",
                                                                      .moving_variance_initializer = "zeros"}),
       Shape{5, 3}});
  // Merges: two and three inputs; Maximum/Minimum away from ties (random inputs differ).
  samples["Add"].push_back({std::make_unique<Add>(), Shape{3, 4}, 1e-2, {Shape{3, 4}}});
  samples["Add"].push_back({std::make_unique<Add>(), Shape{2, 2, 3}, 1e-2, {Shape{2, 2, 3}, Shape{2, 2, 3}}});
  samples["Subtract"].push_back({std::make_unique<Subtract>(), Shape{3, 5}, 1e-2, {Shape{3, 5}}});
  samples["Multiply"].push_back({std::make_unique<Multiply>(), Shape{3, 4}, 1e-2, {Shape{3, 4}, Shape{3, 4}}});
  samples["Average"].push_back({std::make_unique<Average>(), Shape{2, 6}, 1e-2, {Shape{2, 6}, Shape{2, 6}}});
  samples["Maximum"].push_back({std::make_unique<Maximum>(), Shape{3, 4}, 1e-4, {Shape{3, 4}}});
  samples["Minimum"].push_back({std::make_unique<Minimum>(), Shape{3, 4}, 1e-4, {Shape{3, 4}, Shape{3, 4}}});
  samples["Concatenate"].push_back({std::make_unique<Concatenate>(), Shape{2, 3}, 1e-2, {Shape{2, 5}}});
  samples["Concatenate"].push_back(
      {std::make_unique<Concatenate>(ConcatenateOptions{.axis = 1}), Shape{2, 2, 3}, 1e-2, {Shape{2, 4, 3}, Shape{2, 1, 3}}});
  samples["Concatenate"].push_back(
      {std::make_unique<Concatenate>(ConcatenateOptions{.axis = -1}), Shape{2, 3, 2, 1}, 1e-2, {Shape{2, 3, 2, 4}}});
  samples["Dot"].push_back({std::make_unique<Dot>(DotOptions{.axes = {1, 1}}), Shape{3, 4}, 1e-2, {Shape{3, 4}}});
  samples["Dot"].push_back(
      {std::make_unique<Dot>(DotOptions{.axes = {2, 2}, .normalize = true}), Shape{2, 3, 4}, 1e-2, {Shape{2, 2, 4}}});
  samples["Dot"].push_back({std::make_unique<Dot>(DotOptions{.axes = {1, 2}}), Shape{2, 3, 5}, 1e-2, {Shape{2, 4, 3}}});
  // Sequences (N, T, C). Masking's random inputs keep every step; the masked steps' math
  // has tests of its own (tests/layers/sequence_layers_test.cpp).
  samples["Masking"].push_back({std::make_unique<Masking>(0.5f), Shape{2, 4, 3}});
  samples["Conv1D"].push_back({std::make_unique<Conv1D>(3, 3), Shape{2, 6, 2}});
  samples["Conv1D"].push_back(
      {std::make_unique<Conv1D>(2, 3, Conv1DOptions{.strides = 2, .padding = "same", .activation = "tanh"}),
       Shape{2, 7, 3}});
  samples["Conv1D"].push_back(
      {std::make_unique<Conv1D>(2, 2, Conv1DOptions{.padding = "causal", .dilation_rate = 2, .use_bias = false}),
       Shape{2, 6, 2}});
  samples["Conv1D"].push_back({std::make_unique<Conv1D>(3, 4, Conv1DOptions{.padding = "same", .dilation_rate = 2,
                                                                           .kernel_regularizer = L2(0.5f)}),
                               Shape{1, 7, 2}});
  samples["MaxPooling1D"].push_back({std::make_unique<MaxPooling1D>(), Shape{2, 6, 3}, 1e-4});
  samples["MaxPooling1D"].push_back(
      {std::make_unique<MaxPooling1D>(3, Pooling1DOptions{.strides = 2, .padding = "same"}), Shape{2, 7, 2}, 1e-4});
  samples["AveragePooling1D"].push_back({std::make_unique<AveragePooling1D>(), Shape{2, 5, 3}});
  samples["AveragePooling1D"].push_back(
      {std::make_unique<AveragePooling1D>(3, Pooling1DOptions{.strides = 1, .padding = "same"}), Shape{2, 5, 2}});
  samples["GlobalAveragePooling1D"].push_back({std::make_unique<GlobalAveragePooling1D>(), Shape{2, 5, 3}});
  samples["GlobalMaxPooling1D"].push_back({std::make_unique<GlobalMaxPooling1D>(), Shape{2, 5, 3}, 1e-4});
  samples["LayerNormalization"].push_back({std::make_unique<LayerNormalization>(), Shape{3, 5}});
  samples["LayerNormalization"].push_back(
      {std::make_unique<LayerNormalization>(LayerNormalizationOptions{.epsilon = 1e-5f, .center = false}),
       Shape{2, 3, 4}});
  samples["LayerNormalization"].push_back(
      {std::make_unique<LayerNormalization>(LayerNormalizationOptions{.scale = false,
                                                                      .beta_initializer = "ones",
                                                                      .beta_regularizer = L1(0.25f)}),
       Shape{2, 4, 3}});
  samples["LayerNormalization"].push_back(
      {std::make_unique<LayerNormalization>(LayerNormalizationOptions{.gamma_initializer = "glorot_uniform"}),
       Shape{2, 3, 6}});
  // Token ids (the tests draw them in [0, input_dim), with repeats in an example).
  samples["Embedding"].push_back({std::make_unique<Embedding>(7, 3), Shape{2, 5}});
  samples["Embedding"].push_back({std::make_unique<Embedding>(4, 2, true), Shape{3, 6}});
  samples["Embedding"].push_back(
      {std::make_unique<Embedding>(5, 3, EmbeddingOptions{.embeddings_initializer = "glorot_uniform",
                                                          .embeddings_regularizer = L2(0.5f)}),
       Shape{2, 3, 2}});
  samples["SimpleRNN"].push_back({std::make_unique<SimpleRNN>(3), Shape{2, 4, 3}});
  samples["SimpleRNN"].push_back(
      {std::make_unique<SimpleRNN>(2, SimpleRNNOptions{.activation = "relu", .kernel_initializer = "he_uniform",
                                                       .recurrent_regularizer = L2(0.25f), .return_sequences = true,
                                                       .go_backwards = true}),
       Shape{2, 3, 2}});
  samples["LSTM"].push_back({std::make_unique<LSTM>(3), Shape{2, 4, 2}});
  samples["LSTM"].push_back(
      {std::make_unique<LSTM>(2, LSTMOptions{.recurrent_activation = "tanh", .unit_forget_bias = false,
                                             .kernel_regularizer = L1(0.5f), .return_sequences = true}),
       Shape{3, 3, 2}});
  samples["LSTM"].push_back({std::make_unique<LSTM>(2, LSTMOptions{.use_bias = false, .go_backwards = true}),
                             Shape{2, 3, 3}});
  samples["LSTM"].push_back(
      {std::make_unique<LSTM>(3, LSTMOptions{.dropout = 0.25f, .recurrent_dropout = 0.5f}), Shape{3, 4, 3}});
  samples["GRU"].push_back({std::make_unique<GRU>(3), Shape{2, 4, 2}});
  samples["GRU"].push_back(
      {std::make_unique<GRU>(2, GRUOptions{.bias_initializer = "glorot_uniform", .return_sequences = true,
                                           .reset_after = false}),
       Shape{2, 3, 3}});
  samples["GRU"].push_back(
      {std::make_unique<GRU>(2, GRUOptions{.activation = "relu", .use_bias = false, .go_backwards = true,
                                           .reset_after = false}),
       Shape{2, 3, 2}, 1e-3});  // a smaller step than relu's kink is near
  samples["GRU"].push_back(
      {std::make_unique<GRU>(3, GRUOptions{.dropout = 0.25f, .recurrent_dropout = 0.5f, .return_sequences = true}),
       Shape{3, 4, 2}});
  samples["GRU"].push_back(
      {std::make_unique<GRU>(3, GRUOptions{.recurrent_initializer = "glorot_uniform",
                                           .bias_regularizer = L2(0.5f), .return_sequences = true,
                                           .go_backwards = true}),
       Shape{2, 3, 2}});
  samples["Bidirectional"].push_back({std::make_unique<Bidirectional>(LSTM(2)), Shape{2, 4, 3}});
  samples["Bidirectional"].push_back(
      {std::make_unique<Bidirectional>(GRU(2, {.kernel_regularizer = L2(0.5f), .return_sequences = true}),
                                       BidirectionalOptions{.merge_mode = "mul"}),
       Shape{2, 3, 2}});
  samples["Bidirectional"].push_back(
      {std::make_unique<Bidirectional>(SimpleRNN(3, {.dropout = 0.25f, .return_sequences = true}),
                                       SimpleRNN(3, {.recurrent_dropout = 0.5f, .return_sequences = true,
                                                     .go_backwards = true}).named("back"),
                                       BidirectionalOptions{.merge_mode = "ave"}),
       Shape{3, 4, 2}});
  // Attention: cross attention with a key, self-attention shaped (query and value alike) with
  // a causal mask, other value and output widths, no bias, dropout.
  samples["MultiHeadAttention"].push_back(
      {std::make_unique<MultiHeadAttention>(2, 3), Shape{2, 4, 5}, 1e-2, {Shape{2, 3, 4}, Shape{2, 3, 2}}});
  samples["MultiHeadAttention"].push_back(
      {std::make_unique<MultiHeadAttention>(
           2, 2, MultiHeadAttentionOptions{.value_dim = 3, .output_shape = 4, .use_causal_mask = true}),
       Shape{2, 4, 3}, 1e-2, {Shape{2, 4, 3}}});
  samples["MultiHeadAttention"].push_back(
      {std::make_unique<MultiHeadAttention>(
           1, 4, MultiHeadAttentionOptions{.dropout = 0.25f, .use_bias = false, .kernel_regularizer = L2(0.5f)}),
       Shape{3, 2, 3}, 1e-2, {Shape{3, 5, 2}}});
  return samples;
}

}  // namespace citadel::testkit
