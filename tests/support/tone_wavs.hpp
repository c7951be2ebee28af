// Synthetic speech data for the CLI tests: tones of three pitches (one class recorded at
// 8 kHz, the others at 16 kHz) in class folders of 16-bit WAV files.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "wav_writer.hpp"

namespace citadel::testkit {

struct Tone {
  std::string name;
  double hz;
  uint32_t rate;
};
inline const std::vector<Tone> kTones = {{"high", 2500, 8000}, {"low", 300, 16000}, {"mid", 900, 16000}};

// A tone of 0.1 to 0.2 s at a random onset within 0.25 s, its pitch jittered by 5 %, in
// faint noise.
inline std::vector<int16_t> tone(const Tone& t, std::mt19937& random) {
  std::uniform_real_distribution<double> unit(0, 1);
  std::normal_distribution<double> noise(0, 200);
  const int n = int(0.25 * t.rate), onset = int(unit(random) * 0.05 * t.rate);
  const int length = int((0.1 + 0.1 * unit(random)) * t.rate);
  const double hz = t.hz * (0.95 + 0.1 * unit(random)), amplitude = 4000 + 8000 * unit(random);
  std::vector<int16_t> samples(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const bool on = i >= onset && i < onset + length;
    const double value = (on ? amplitude * std::sin(2 * std::numbers::pi * hz * i / t.rate) : 0) + noise(random);
    samples[size_t(i)] = int16_t(std::lround(std::clamp(value, -32767.0, 32767.0)));
  }
  return samples;
}

// ROOT/<class>/<i>.wav, `per_class` files a class.
inline std::filesystem::path tone_folder(const std::filesystem::path& root, int per_class, uint32_t seed) {
  std::mt19937 random(seed);
  for (const Tone& t : kTones)
    for (int i = 0; i < per_class; ++i)
      write_wav(root / t.name / (std::to_string(i) + ".wav"), tone(t, random), t.rate);
  return root;
}

}  // namespace citadel::testkit
