// Direct convolution through oneDNN's convolution primitives (forward, backward data,
// backward weights), reading the NHWC images and the Keras (KH, KW, C, F) kernel where
// they lie: no unfolded copy of the input is made or folded back. Primitives, their
// memory objects and scratch buffers are made once per geometry, thread count and thread,
// then reused, so a training step in the steady state allocates nothing.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <array>
#include <string>
#include <unordered_map>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/ops/conv2d.hpp"
#include "dnnl_engine.hpp"
#include "parallel.hpp"

namespace citadel::ops {
namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct ConvolutionKey {
  Conv2DGeometry g;
  int threads;
  bool bias;
  bool operator==(const ConvolutionKey& other) const {
    const auto fields = [](const ConvolutionKey& k) {
      const Conv2DGeometry& g = k.g;
      return std::array<int64_t, 18>{g.batch,      g.in_h,       g.in_w,    g.in_c,     g.kernel_h, g.kernel_w,
                                     g.stride_h,   g.stride_w,   g.dilation_h, g.dilation_w, g.pad_top, g.pad_left,
                                     g.out_h,      g.out_w,      g.filters, k.threads,  k.bias,     0};
    };
    return fields(*this) == fields(other);
  }
};

struct ConvolutionKeyHash {
  size_t operator()(const ConvolutionKey& key) const {
    const Conv2DGeometry& g = key.g;
    size_t hash = 0;
    for (int64_t part : {g.batch, g.in_h, g.in_w, g.in_c, g.kernel_h, g.kernel_w, g.stride_h, g.stride_w,
                         g.dilation_h, g.dilation_w, g.pad_top, g.pad_left, g.filters, int64_t(key.threads),
                         int64_t(key.bias)})
      hash = hash * 1000003u ^ std::hash<int64_t>()(part);
    return hash;
  }
};

dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

// One primitive with the memory objects it reads and writes (their data handles are set
// before each run) and its own scratchpad.
struct Step {
  dnnl::primitive primitive;
  std::vector<char> scratchpad;
  dnnl::memory scratchpad_memory;
};

// The three primitives of one geometry. Backward weights overwrites its outputs, while
// citadel's gradients accumulate: it writes into kernel_gradient / bias_gradient, which are
// then added.
// oneDNN's fast kernels want the weights in a blocked layout of their own: the Keras
// kernel is reordered into it before each forward and backward-data run (a few thousand
// values, against the images' millions), and the weight gradient out of it.
struct WeightsLayout {
  bool reordered = false;          // the primitive's layout differs from Keras's
  dnnl::primitive reorder;         // Keras -> primitive layout (or back, for the gradient)
  dnnl::memory blocked;            // the weights in the primitive's layout
  std::vector<float> storage;
};

struct Convolution {
  Step forward, backward_data, backward_weights;
  WeightsLayout forward_weights, backward_data_weights, weight_gradient;
  dnnl::memory src, weights, bias, dst;
  std::vector<float> kernel_gradient, bias_gradient;
};

Step make_step(const dnnl::primitive& primitive, const dnnl::memory::desc& scratchpad) {
  Step step;
  step.primitive = primitive;
  step.scratchpad.resize(std::max<size_t>(scratchpad.get_size(), 1));
  step.scratchpad_memory = dnnl::memory(scratchpad, cpu_engine(), step.scratchpad.data());
  return step;
}

// `from_keras`: a reorder from the Keras layout into `wanted`; otherwise from `wanted` back.
WeightsLayout make_weights_layout(const dnnl::memory::desc& keras, const dnnl::memory::desc& wanted,
                                  bool from_keras) {
  WeightsLayout layout;
  if (wanted == keras) return layout;
  layout.reordered = true;
  layout.storage.resize(wanted.get_size() / sizeof(float) + 1);
  layout.blocked = dnnl::memory(wanted, cpu_engine(), layout.storage.data());
  const dnnl::memory keras_memory(keras, cpu_engine(), DNNL_MEMORY_NONE);
  layout.reorder = from_keras ? dnnl::reorder(dnnl::reorder::primitive_desc(keras_memory, layout.blocked))
                              : dnnl::reorder(dnnl::reorder::primitive_desc(layout.blocked, keras_memory));
  return layout;
}

Convolution make_convolution(const ConvolutionKey& key) {
  const Conv2DGeometry& g = key.g;
  using dims = dnnl::memory::dims;
  const dnnl::memory::desc src({g.batch, g.in_c, g.in_h, g.in_w}, dt::f32, tag::nhwc);
  const dnnl::memory::desc dst({g.batch, g.filters, g.out_h, g.out_w}, dt::f32, tag::nhwc);
  // Keras's (KH, KW, C, F) is oneDNN's hwio order of the logical (F, C, KH, KW) weights.
  const dnnl::memory::desc keras_weights({g.filters, g.in_c, g.kernel_h, g.kernel_w}, dt::f32, tag::hwio);
  const dnnl::memory::desc weights({g.filters, g.in_c, g.kernel_h, g.kernel_w}, dt::f32, tag::any);
  const dnnl::memory::desc bias = key.bias ? dnnl::memory::desc({g.filters}, dt::f32, tag::x) : dnnl::memory::desc();
  const dims strides{g.stride_h, g.stride_w}, dilation{g.dilation_h - 1, g.dilation_w - 1};
  const dims pad_before{g.pad_top, g.pad_left};
  // What "same" padding adds at the end (none for "valid"): oneDNN wants both sides.
  const dims pad_after{
      std::max<int64_t>(0, (g.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1 - g.in_h - g.pad_top),
      std::max<int64_t>(0, (g.out_w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1 - g.in_w - g.pad_left)};
  dnnl::primitive_attr attributes;
  attributes.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const auto algorithm = dnnl::algorithm::convolution_direct;
  detail::apply_thread_count(key.threads);  // oneDNN may size its work split when a primitive is made
  const dnnl::convolution_forward::primitive_desc forward(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algorithm, src, weights, bias, dst, strides,
                                      dilation, pad_before, pad_after),
      attributes, cpu_engine());
  const dnnl::convolution_backward_data::primitive_desc backward_data(
      dnnl::convolution_backward_data::desc(algorithm, src, weights, dst, strides, dilation, pad_before, pad_after),
      attributes, cpu_engine(), forward);
  const dnnl::convolution_backward_weights::primitive_desc backward_weights(
      dnnl::convolution_backward_weights::desc(algorithm, src, weights, bias, dst, strides, dilation, pad_before,
                                               pad_after),
      attributes, cpu_engine(), forward);
  Convolution convolution;
  convolution.forward = make_step(dnnl::convolution_forward(forward), forward.scratchpad_desc());
  convolution.backward_data =
      make_step(dnnl::convolution_backward_data(backward_data), backward_data.scratchpad_desc());
  convolution.backward_weights =
      make_step(dnnl::convolution_backward_weights(backward_weights), backward_weights.scratchpad_desc());
  convolution.forward_weights = make_weights_layout(keras_weights, forward.weights_desc(), true);
  convolution.backward_data_weights = make_weights_layout(keras_weights, backward_data.weights_desc(), true);
  convolution.weight_gradient = make_weights_layout(keras_weights, backward_weights.diff_weights_desc(), false);
  convolution.src = dnnl::memory(src, cpu_engine(), DNNL_MEMORY_NONE);
  convolution.weights = dnnl::memory(keras_weights, cpu_engine(), DNNL_MEMORY_NONE);
  convolution.dst = dnnl::memory(dst, cpu_engine(), DNNL_MEMORY_NONE);
  if (key.bias) convolution.bias = dnnl::memory(bias, cpu_engine(), DNNL_MEMORY_NONE);
  convolution.kernel_gradient.resize(static_cast<size_t>(g.patch() * g.filters));
  convolution.bias_gradient.resize(static_cast<size_t>(g.filters));
  return convolution;
}

// The primitives for `threads` threads: oneDNN fixes a convolution's work split when the
// primitive is made, so the team it runs on must be the one it was made for.
Convolution& convolution_for(const Conv2DGeometry& g, bool bias, int threads) {
  // Per thread: memory objects carry data handles, so two threads must not share them.
  thread_local std::unordered_map<ConvolutionKey, Convolution, ConvolutionKeyHash> convolutions;
  const ConvolutionKey key{g, threads, bias};
  auto found = convolutions.find(key);
  if (found != convolutions.end()) return found->second;
  if (convolutions.size() >= 64) convolutions.clear();  // bounded: batch sizes that vary come and go
  try {
    return convolutions.emplace(key, make_convolution(key)).first->second;
  } catch (const dnnl::error& error) {
    throw InternalError(std::string("oneDNN could not make a convolution: ") + error.what());
  }
}

void set(const dnnl::memory& memory, const float* data) { memory.set_data_handle(const_cast<float*>(data)); }

// Runs through oneDNN's C interface with the arguments on the stack: the C++ one builds an
// unordered_map per call.
void run(const Step& step, std::initializer_list<dnnl_exec_arg_t> arguments) {
  dnnl_exec_arg_t all[8];
  int count = 0;
  for (const dnnl_exec_arg_t& argument : arguments)
    if (argument.memory != nullptr) all[count++] = argument;
  all[count++] = {DNNL_ARG_SCRATCHPAD, step.scratchpad_memory.get()};
  dnnl_status_t status = dnnl_primitive_execute(step.primitive.get(), cpu_stream().get(), count, all);
  if (status == dnnl_success) status = dnnl_stream_wait(cpu_stream().get());
  CITADEL_CHECK(status == dnnl_success, InternalError, "oneDNN convolution failed (status ", int(status), ")");
}

dnnl_memory_t handle(const dnnl::memory& memory) { return memory ? memory.get() : nullptr; }

void run_reorder(const dnnl::primitive& reorder, const dnnl::memory& from, const dnnl::memory& to) {
  dnnl_exec_arg_t arguments[] = {{DNNL_ARG_FROM, from.get()}, {DNNL_ARG_TO, to.get()}};
  dnnl_status_t status = dnnl_primitive_execute(reorder.get(), cpu_stream().get(), 2, arguments);
  if (status == dnnl_success) status = dnnl_stream_wait(cpu_stream().get());
  CITADEL_CHECK(status == dnnl_success, InternalError, "oneDNN weight reorder failed (status ", int(status), ")");
}

// The Keras kernel in `weights`, as the primitive of `layout` reads it.
dnnl_memory_t weights_for(const WeightsLayout& layout, const dnnl::memory& weights) {
  if (!layout.reordered) return weights.get();
  run_reorder(layout.reorder, weights, layout.blocked);
  return layout.blocked.get();
}

}  // namespace

void conv2d_direct_forward(ConstTensorView x, ConstTensorView kernel, ConstTensorView bias, const Conv2DGeometry& g,
                           TensorView y) {
  if (g.rows() == 0) return;
  const int threads = detail::team_threads();
  detail::apply_thread_count(threads);
  Convolution& c = convolution_for(g, !bias.empty(), threads);
  set(c.src, x.data());
  set(c.weights, kernel.data());
  set(c.dst, y.data());
  if (!bias.empty()) set(c.bias, bias.data());
  run(c.forward, {{DNNL_ARG_SRC, c.src.get()},
                  {DNNL_ARG_WEIGHTS, weights_for(c.forward_weights, c.weights)},
                  {DNNL_ARG_BIAS, bias.empty() ? nullptr : handle(c.bias)},
                  {DNNL_ARG_DST, c.dst.get()}});
}

void conv2d_direct_backward(ConstTensorView x, ConstTensorView kernel, ConstTensorView dy, const Conv2DGeometry& g,
                            TensorView dx, TensorView dkernel, TensorView dbias) {
  if (g.rows() == 0) {
    if (!dx.empty()) std::fill(dx.data(), dx.data() + dx.numel(), 0.0f);
    return;
  }
  const int threads = detail::team_threads();
  detail::apply_thread_count(threads);
  // The primitives are keyed on the bias the forward had; dbias empty means only that
  // its gradient is not wanted now.
  Convolution& c = convolution_for(g, !dbias.empty(), threads);
  set(c.dst, dy.data());
  if (!dkernel.empty() || !dbias.empty()) {
    set(c.src, x.data());
    set(c.weights, c.kernel_gradient.data());
    if (!dbias.empty()) set(c.bias, c.bias_gradient.data());
    const WeightsLayout& gradient = c.weight_gradient;
    run(c.backward_weights, {{DNNL_ARG_SRC, c.src.get()},
                             {DNNL_ARG_DIFF_DST, c.dst.get()},
                             {DNNL_ARG_DIFF_WEIGHTS, gradient.reordered ? gradient.blocked.get() : c.weights.get()},
                             {DNNL_ARG_DIFF_BIAS, dbias.empty() ? nullptr : handle(c.bias)}});
    if (gradient.reordered) run_reorder(gradient.reorder, gradient.blocked, c.weights);
    if (!dkernel.empty()) {
      float* __restrict out = dkernel.data();
      const float* __restrict add = c.kernel_gradient.data();
      for (int64_t i = 0, n = dkernel.numel(); i < n; ++i) out[i] += add[i];
    }
    if (!dbias.empty())
      for (int64_t f = 0; f < g.filters; ++f) dbias[f] += c.bias_gradient[static_cast<size_t>(f)];
  }
  if (dx.empty()) return;
  set(c.src, dx.data());
  set(c.weights, kernel.data());
  run(c.backward_data, {{DNNL_ARG_DIFF_DST, c.dst.get()},
                        {DNNL_ARG_WEIGHTS, weights_for(c.backward_data_weights, c.weights)},
                        {DNNL_ARG_DIFF_SRC, c.src.get()}});
}

}  // namespace citadel::ops
