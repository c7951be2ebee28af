// Speech data for Python: citadel.keras.utils.audio_dataset_from_directory and the feature
// helpers read WAV files, class folders and log-mel / MFCC features through the library (its
// parsers, limits and messages), giving numpy arrays.
#include <pybind11/stl.h>

#include <citadel/core/error.hpp>
#include <citadel/data/audio_directory.hpp>
#include <citadel/data/audio_features.hpp>
#include <citadel/data/wav.hpp>

#include "bindings.hpp"

namespace citadel::python {
namespace {

AudioFeatureOptions feature_options(int64_t sample_rate, int64_t frame_length, int64_t frame_step, int64_t fft_length,
                                    int64_t mel_bins, double lower_hz, double upper_hz, int64_t mfcc_count) {
  return {.sample_rate = sample_rate,
          .frame_length = frame_length,
          .frame_step = frame_step,
          .fft_length = fft_length,
          .mel_bins = mel_bins,
          .lower_hz = lower_hz,
          .upper_hz = upper_hz,
          .mfcc_count = mfcc_count};
}

std::span<const float> samples_of(const FloatArray& samples) {
  CITADEL_CHECK(samples.ndim() == 1, ShapeError, "samples: expected a 1-D array of mono samples, got ", samples.ndim(),
                " dimensions");
  return {samples.data(), static_cast<size_t>(samples.shape(0))};
}

}  // namespace

void register_audio(py::module_& module) {
  module.def(
      "load_audio_directory",
      [](const std::string& directory, int64_t sampling_rate, int64_t output_sequence_length, bool follow_links) {
        AudioDirectory set;
        {
          py::gil_scoped_release released;
          set = load_audio_directory(directory, {.sampling_rate = sampling_rate,
                                                 .output_sequence_length = output_sequence_length,
                                                 .follow_links = follow_links});
        }
        py::array_t<int32_t> labels(static_cast<py::ssize_t>(set.y.numel()));
        for (int64_t i = 0; i < set.y.numel(); ++i) labels.mutable_data()[i] = static_cast<int32_t>(set.y[i]);
        return py::make_tuple(to_numpy(std::move(set.x)), labels, set.class_names, set.paths);
      },
      py::arg("directory"), py::arg("sampling_rate"), py::arg("output_sequence_length"), py::arg("follow_links"),
      "(waveforms (files, length, 1), int32 labels, class names, paths) of a folder of class folders");
  module.def(
      "load_wav",
      [](const std::string& path) {
        Audio audio = load_wav(path);
        Tensor samples(Shape{static_cast<int64_t>(audio.samples.size())});
        std::copy(audio.samples.begin(), audio.samples.end(), samples.data());
        return py::make_tuple(to_numpy(std::move(samples)), audio.sample_rate);
      },
      py::arg("path"), "(mono float32 samples, sample rate) of a WAV file");
  module.def(
      "resample",
      [](const FloatArray& samples, int64_t from_rate, int64_t to_rate) {
        const std::vector<float> out = resample(samples_of(samples), from_rate, to_rate);
        Tensor result(Shape{static_cast<int64_t>(out.size())});
        std::copy(out.begin(), out.end(), result.data());
        return to_numpy(std::move(result));
      },
      py::arg("samples"), py::arg("from_rate"), py::arg("to_rate"));
  module.def(
      "log_mel_spectrogram",
      [](const FloatArray& samples, int64_t sample_rate, int64_t frame_length, int64_t frame_step, int64_t fft_length,
         int64_t mel_bins, double lower_hz, double upper_hz) {
        return to_numpy(log_mel_spectrogram(
            samples_of(samples),
            feature_options(sample_rate, frame_length, frame_step, fft_length, mel_bins, lower_hz, upper_hz, 1)));
      },
      py::arg("samples"), py::arg("sample_rate"), py::arg("frame_length"), py::arg("frame_step"), py::arg("fft_length"),
      py::arg("mel_bins"), py::arg("lower_hz"), py::arg("upper_hz"));
  module.def(
      "mfcc",
      [](const FloatArray& samples, int64_t sample_rate, int64_t frame_length, int64_t frame_step, int64_t fft_length,
         int64_t mel_bins, double lower_hz, double upper_hz, int64_t mfcc_count) {
        return to_numpy(mfcc(samples_of(samples), feature_options(sample_rate, frame_length, frame_step, fft_length,
                                                                  mel_bins, lower_hz, upper_hz, mfcc_count)));
      },
      py::arg("samples"), py::arg("sample_rate"), py::arg("frame_length"), py::arg("frame_step"), py::arg("fft_length"),
      py::arg("mel_bins"), py::arg("lower_hz"), py::arg("upper_hz"), py::arg("mfcc_count"));
}

}  // namespace citadel::python
