// A request the server cannot take: a 400 whose message names what was wrong.
#pragma once

#include <string>

#include "citadel/serving/inference_protocol.hpp"

namespace citadel::serving {

[[noreturn]] inline void bad_request(const std::string& message) { throw RequestError(400, message); }

}  // namespace citadel::serving
