// A radix-2 FFT in double precision: the privacy accountants' convolutions and the audio
// features (spectrograms) use it.
#pragma once

#include <complex>
#include <vector>

namespace citadel {

// In place, on a power-of-two length; `inverse` transforms back and divides by the length.
// Twiddle factors are computed for each index, so rounding does not grow with the length,
// and kept per thread for the last length transformed (a spectrogram's frames, an
// accountant's compositions: one length many times).
void fft(std::vector<std::complex<double>>& values, bool inverse);

}  // namespace citadel
