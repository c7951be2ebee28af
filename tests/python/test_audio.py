"""citadel.keras.utils.audio_dataset_from_directory and the speech feature helpers: class
folders of WAV files written here with Python's own wave module (one class at 8 kHz,
resampled to 16 kHz), Keras's label modes and validation subsets, feature shapes from the
framing formula, a tone's energy in the mel band around its frequency, and a broken file
refused by name."""
import math
import wave

import numpy as np
import pytest

from citadel.keras import utils


def write_tone(path, hz, rate, seconds):
    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(rate * seconds)
    samples = (8000 * np.sin(2 * math.pi * hz * np.arange(n) / rate)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())


@pytest.fixture
def folder(tmp_path):
    for i in range(4):
        write_tone(tmp_path / "high" / f"{i}.wav", 3000, 8000, 0.5)
        write_tone(tmp_path / "low" / f"{i}.wav", 300, 16000, 0.25 + 0.05 * i)
    (tmp_path / "low" / "notes.txt").write_text("not audio")
    return tmp_path


def test_class_folders_become_padded_waveforms(folder):
    data = utils.audio_dataset_from_directory(folder, batch_size=3, shuffle=False, verbose=False)
    assert data.class_names == ["high", "low"]
    # 0.5 s at 8 kHz resampled to 16 kHz: 8000 samples, the longest file.
    assert data.x.shape == (8, 8000, 1) and data.x.dtype == np.float32
    assert list(data.y) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert data.file_paths[4].endswith("low/0.wav")
    assert np.all(data.x[4, 4000:, 0] == 0)  # 0.25 s padded with zeros
    assert len(data) == 3 and [len(y) for _, y in data] == [3, 3, 2]
    cut = utils.audio_dataset_from_directory(folder, output_sequence_length=1000, label_mode="categorical",
                                             verbose=False)
    assert cut.x.shape == (8, 1000, 1) and cut.y.shape == (8, 2)


def test_validation_subsets_split_the_shuffled_files(folder):
    training, validation = utils.audio_dataset_from_directory(folder, validation_split=0.25, subset="both", seed=3,
                                                              verbose=False)
    assert len(training.y) == 6 and len(validation.y) == 2
    assert not set(training.file_paths) & set(validation.file_paths)
    with pytest.raises(ValueError, match="validation_split and subset"):
        utils.audio_dataset_from_directory(folder, validation_split=0.25)


def test_features_follow_the_framing(folder):
    samples, rate = utils.load_wav(folder / "low" / "0.wav")
    assert rate == 16000 and samples.shape == (4000,)
    mel = utils.log_mel_spectrogram(samples)
    assert mel.shape == (1 + (4000 - 400) // 160, 40)
    assert utils.mfcc(samples, mfcc_count=13).shape == (mel.shape[0], 13)
    # The band whose centre is nearest 300 Hz on the HTK mel scale holds the most energy.
    to_mel = lambda hz: 2595 * math.log10(1 + hz / 700)
    centres = [to_mel(20) + (to_mel(8000) - to_mel(20)) * (b + 1) / 41 for b in range(40)]
    nearest = int(np.argmin([abs(c - to_mel(300)) for c in centres]))
    assert int(np.argmax(mel[5])) == nearest
    assert utils.resample(samples, 16000, 8000).shape == (2000,)


def test_a_broken_wav_is_refused_by_name(folder):
    (folder / "low" / "broken.wav").write_bytes(b"RIFF and nothing else")
    with pytest.raises(Exception, match="broken.wav"):
        utils.audio_dataset_from_directory(folder, verbose=False)
