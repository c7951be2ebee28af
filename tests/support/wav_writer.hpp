// WAV files written byte by byte in tests, independently of citadel's reader (data/wav).
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

namespace citadel::testkit {

// A 16-bit mono PCM WAV of `samples` at `rate` (the folders above it are made).
inline void write_wav(const std::filesystem::path& path, const std::vector<int16_t>& samples, uint32_t rate) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  auto u32 = [&out](uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&out](uint16_t v) { out.write(reinterpret_cast<const char*>(&v), 2); };
  const auto bytes = uint32_t(samples.size() * 2);
  out.write("RIFF", 4), u32(36 + bytes), out.write("WAVEfmt ", 8), u32(16);
  u16(1), u16(1), u32(rate), u32(rate * 2), u16(2), u16(16);
  out.write("data", 4), u32(bytes);
  out.write(reinterpret_cast<const char*>(samples.data()), std::streamsize(bytes));
}

}  // namespace citadel::testkit
