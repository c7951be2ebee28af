// A data-parallel training step: each rank's gradient of the global batch's mean loss over
// the rows it holds, one in-place all-reduce of the flat gradient buffer, then the same
// optimizer step on every rank (Horovod's scheme without its tensor fusion: the buffer is
// already one).
#include <cmath>

#include "model_state.hpp"

namespace citadel {

double Model::State::parallel_step(const Collective& group, int64_t global_batch, const PrivateTraining* privacy,
                                   SecureRng* noise, double expected_batch) {
  const int64_t local = batch_x[0].shape(0);
  // This rank's rows' share of the global mean, times the global batch: the total, then each
  // output's (summed over the group in one all-reduce).
  group_sums.assign(1 + outputs.size(), 0.0);
  if (privacy) {
    if (local > 0) group_sums[0] = private_gradient(batch_x_views, batch_y_views, *privacy) * double(local);
    else params.zero_grad();
  } else {
    params.zero_grad();
    if (local > 0) {
      forward(batch_x_views, Mode::kTrain);
      group_sums[0] = loss_value(batch_y_views, true, &step_losses) * double(local);
      // Its rows hold ∇ℓ_i / local: rescaled to ∇ℓ_i / global_batch, as one process has them.
      const float scale = static_cast<float>(double(local) / double(global_batch));
      for (Tensor& gradient : loss_gradients)
        for (int64_t i = 0; i < gradient.numel(); ++i) gradient[i] *= scale;
      backward(-1, false);  // the weight penalties' gradient is added once, after the sum
    }
  }
  if (local > 0)
    for (size_t k = 0; k < outputs.size() && k < step_losses.size(); ++k) group_sums[1 + k] = step_losses[k] * double(local);
  group.all_reduce_sum(group_sums);
  const double loss = global_batch > 0 ? group_sums[0] / double(global_batch) : 0.0;
  step_losses.resize(outputs.size());
  for (size_t k = 0; k < outputs.size(); ++k)
    step_losses[k] = global_batch > 0 ? group_sums[1 + k] / double(global_batch) : 0.0;
  // Every rank sees the same loss, so none steps; private training steps whatever the loss
  // (each example's share is bounded in private_gradient).
  if (!std::isfinite(loss) && !privacy) return loss;
  if (privacy && noise) add_private_noise(*privacy, *noise);  // once, into the sum
  group.all_reduce_sum(params.trainable_grads());
  if (privacy) {
    if (privacy->observe_noisy_sum && group.is_root()) privacy->observe_noisy_sum(params.trainable_grads());
    private_update(expected_batch);
    return loss;
  }
  if (regularized) params.add_regularization_gradient();
  optimizer->step(params);
  return loss;
}

}  // namespace citadel
