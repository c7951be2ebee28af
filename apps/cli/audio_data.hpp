// Speech data for the commands: --data FOLDER of class folders of WAV files (Keras's
// audio_dataset_from_directory layout) as training rows of MFCC or log-mel features, and the
// folders and files a saved speech model evaluates and predicts on, read through the front
// end it saved.
#pragma once

#include <string>
#include <vector>

#include "citadel/data/audio_preprocessing.hpp"
#include "data_source.hpp"
#include "flags.hpp"

namespace citadel::cli {

// Whether --data names a folder (speech) rather than a CSV file or Fashion-MNIST.
bool is_audio_folder(const std::string& data);

// The folder's files as rows: classes from the sorted folder names (at least two, each with a
// WAV file; IoError naming the folder otherwise), every file resampled to --sample-rate and
// padded or cut to --clip-seconds, a stratified --test-split held out with `hold_out_test`,
// the front end (--audio-features, --mel-bins, --mfcc) standardized with the statistics of
// the rows fit trains on.
PreparedData load_audio_data(const DataFlags& flags, const ModelFlags& model, const TrainingFlags& training,
                             bool hold_out_test);

// The folder's files as clips for cross-validation, each fold adapting its own front end:
// x_train (rows, clip samples, 1) the waveforms at --sample-rate, y_train the class of each,
// `audio` the front end the flags ask for, not adapted; the paths in row order. The same
// checks of flags and folders as load_audio_data.
struct AudioClips {
  PreparedData data;
  std::vector<std::string> paths;
};
AudioClips load_audio_clips(const DataFlags& flags, const ModelFlags& model);

// A labelled folder for a saved speech model: its class folders must be classes the model
// knows (ValueError naming the folder otherwise), each file read as `audio` reads it.
struct AudioRows {
  Tensor x, y;  // (rows, frames, coefficients), (rows)
  std::vector<std::string> paths;
};
AudioRows labelled_audio_rows(const AudioPreprocessing& audio, const std::vector<std::string>& classes,
                              const std::string& folder);
// A WAV file, or every .wav file below a folder (sorted paths), for prediction.
AudioRows unlabelled_audio_rows(const AudioPreprocessing& audio, const std::string& path);

}  // namespace citadel::cli
