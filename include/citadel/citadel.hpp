// The umbrella header for users of citadel (never included inside the library).
#pragma once

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/core/tensor.hpp"
#include "citadel/core/threads.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/scaler.hpp"
#include "citadel/data/split.hpp"
#include "citadel/layers/activation.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/losses/loss.hpp"
#include "citadel/metrics/metric.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/optim/optimizer.hpp"
