// A query sketch: a wide query (an image, a long row) mapped to a few numbers whose
// distances are close to the query's own, so the extraction monitor's memory per client
// does not grow with the input's width. Signed feature hashing (Weinberger et al., 2009):
// each input number is added, with a hashed sign, into one hashed slot; squared distances
// are kept in expectation, with a relative spread of about sqrt(2 / slots).
#pragma once

#include <cstdint>
#include <span>

namespace citadel::serving {

class QuerySketch {
 public:
  // `slots`: the sketch's width. `seed`: the hash's key; a server draws it at random at
  // start, so a client cannot choose queries whose differences cancel in the sketch.
  QuerySketch(int64_t slots, uint64_t seed);
  int64_t slots() const { return slots_; }
  // Writes the sketch of `query` into `out` (slots() numbers).
  void apply(std::span<const float> query, std::span<float> out) const;

 private:
  int64_t slots_;
  uint64_t seed_;
};

}  // namespace citadel::serving
