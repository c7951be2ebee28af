// A labelled speech data set from a folder of class folders, as Keras's
// audio_dataset_from_directory reads one: main/class_a/*.wav, main/class_b/*.wav; classes
// in sorted order of their folder names, labels 0, 1, ...; each file resampled to one rate
// and padded with zeros or cut to one length.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "citadel/core/tensor.hpp"
#include "citadel/data/wav.hpp"

namespace citadel {

struct AudioDirectoryOptions {
  int64_t sampling_rate = 16000;       // every file is resampled to it (Keras needs tensorflow-io for this)
  int64_t output_sequence_length = 0;  // samples a row; 0: the longest file's length
  int64_t max_files = 100'000;
  int64_t max_total_samples = int64_t{1} << 28;  // rows × length: 1 GiB of float samples
  bool follow_links = false;
  WavLimits limits;
};

struct AudioDirectory {
  Tensor x;                              // (files, length, 1): mono waveforms
  Tensor y;                              // (files): the class index of each file
  std::vector<std::string> class_names;  // sorted folder names
  std::vector<std::string> paths;        // each row's file, in row order
};

// Files are every regular file whose name ends in .wav (any case) below a class folder, at
// any depth, in sorted path order within each class. IoError naming the folder or file when
// there are no classes, no files, a file that is not a WAV Keras or citadel reads, or more
// than the limits allow.
AudioDirectory load_audio_directory(const std::string& directory, const AudioDirectoryOptions& options = {});

}  // namespace citadel
