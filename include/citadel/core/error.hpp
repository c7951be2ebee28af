// Typed exceptions thrown at the library boundary, and the check/assert macros that
// build their messages lazily (arguments are evaluated only when the check fails).
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace citadel {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// A tensor or layer shape that does not fit.
class ShapeError : public Error {
 public:
  using Error::Error;
};
// A bad argument or value: unknown name, out-of-range setting, NaN loss.
class ValueError : public Error {
 public:
  using Error::Error;
};
// A file that cannot be read or written, or whose contents are malformed.
class IoError : public Error {
 public:
  using Error::Error;
};
class NotImplementedError : public Error {
 public:
  using Error::Error;
};
// A file that fails an integrity or confidentiality check: a missing or wrong signature,
// a wrong key, a modified ciphertext.
class SecurityError : public Error {
 public:
  using Error::Error;
};
// A broken invariant: a bug in citadel, not in the caller's code.
class InternalError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

}  // namespace citadel

// Caller mistakes: throws citadel::ErrorType with the concatenated message.
#define CITADEL_CHECK(condition, ErrorType, ...)                            \
  do {                                                                      \
    if (!(condition)) [[unlikely]]                                          \
      throw ::citadel::ErrorType(::citadel::detail::concat(__VA_ARGS__));   \
  } while (0)

// Broken invariants (our bugs): throws InternalError naming the source line.
#define CITADEL_ASSERT(condition, ...)                                        \
  do {                                                                        \
    if (!(condition)) [[unlikely]]                                            \
      throw ::citadel::InternalError(::citadel::detail::concat(               \
          __FILE__, ":", __LINE__, ": internal error: ", __VA_ARGS__));       \
  } while (0)

#ifdef NDEBUG
#define CITADEL_DEBUG_ASSERT(condition) ((void)0)
#else
#define CITADEL_DEBUG_ASSERT(condition) CITADEL_ASSERT(condition, #condition)
#endif
