// Served-answer watermarks (DAWN): the keyed choice against an independent HMAC (OpenSSL's),
// the rate, determinism, the label's spread, the changed distribution, the log (round trip,
// torn and damaged lines, repeats, its bound, a second writer), the key file, the binomial tail
// against a direct sum, and the test itself: a surrogate trained on watermarked answers is
// claimed, independently trained models are not.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/model/sequential.hpp"
#include "citadel/provenance/served_watermark.hpp"
#include "scratch_folder.hpp"

namespace served_watermark_test {

using namespace citadel;
namespace fs = std::filesystem;

namespace {

WatermarkKey test_key(unsigned char seed = 7) {
  std::array<unsigned char, 32> bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(seed * 31 + i * 17);
  return WatermarkKey(bytes);
}

std::vector<float> random_row(Rng& rng, int64_t width) {
  std::vector<float> row(static_cast<size_t>(width));
  for (float& v : row) v = rng.uniform();
  return row;
}

// The tag as OpenSSL computes it from the documented message, bytes laid out by hand.
std::array<unsigned char, 32> openssl_tag(const WatermarkKey& key, const std::string& token,
                                          const std::vector<float>& row) {
  std::string message = "citadel-dawn-v1";
  message += '\0';
  message += token;
  message += '\0';
  for (float v : row) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    if (v == 0.0f) bits = 0;
    for (int b = 0; b < 4; ++b) message += static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  std::array<unsigned char, 32> out{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), 32, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       out.data(), &length);
  EXPECT_EQ(length, 32u);
  return out;
}

fs::path scratch(const std::string& name) { return citadel::testing::scratch_folder() / name; }

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

WatermarkRecord sample_record(int i) {
  WatermarkRecord r;
  r.model = "m", r.token = "alice", r.input = "features", r.shape = {3};
  r.row = {float(i), -0.5f, 1e-3f};
  r.label = 2, r.class_name = "c2", r.classes = 4;
  r.tag = std::string(31, '0') + std::to_string(i % 10);
  r.time = "2026-01-01T00:00:00Z";
  return r;
}

}  // namespace

TEST(ServedWatermark, TagIsHmacSha256OfTheDocumentedMessage) {
  Rng rng(1);
  const WatermarkKey key = test_key();
  for (int trial = 0; trial < 20; ++trial) {
    const std::vector<float> row = random_row(rng, 1 + trial);
    const std::string token = trial % 2 ? "alice" : "-";
    const WatermarkTag tag = served_watermark_tag(key, token, row.data(), int64_t(row.size()));
    const auto expected = openssl_tag(key, token, row);
    ASSERT_EQ(std::memcmp(tag.data(), expected.data(), 32), 0) << "trial " << trial;
    // Selection and label from the bytes, recomputed here.
    uint64_t first = 0, second = 0;
    for (int b = 0; b < 8; ++b) first = first << 8 | expected[b], second = second << 8 | expected[8 + b];
    EXPECT_EQ(watermark_selects(tag, 0.3), double(first) < 0.3 * 18446744073709551616.0);
    const int64_t pick = int64_t(second % 9);
    EXPECT_EQ(watermark_label(tag, 4, 10), pick < 4 ? pick : pick + 1);
  }
}

TEST(ServedWatermark, SameRowSameTagOtherTokenOrKeyOtherTag) {
  const WatermarkKey key = test_key(), other = test_key(8);
  std::vector<float> row = {0.0f, 1.5f, -2.25f};
  std::vector<float> negative_zero = {-0.0f, 1.5f, -2.25f};
  const WatermarkTag a = served_watermark_tag(key, "alice", row.data(), 3);
  EXPECT_EQ(a, served_watermark_tag(key, "alice", row.data(), 3));
  EXPECT_EQ(a, served_watermark_tag(key, "alice", negative_zero.data(), 3));  // -0 is 0
  EXPECT_NE(a, served_watermark_tag(key, "bob", row.data(), 3));
  EXPECT_NE(a, served_watermark_tag(other, "alice", row.data(), 3));
  row[2] = std::nextafter(row[2], 0.0f);  // one ulp
  EXPECT_NE(a, served_watermark_tag(key, "alice", row.data(), 3));
  // A token cannot be shifted into the row: "ab" + row differs from "a" + "b"-prefixed row.
  EXPECT_NE(served_watermark_tag(key, "ab", row.data(), 3), served_watermark_tag(key, "a", row.data(), 3));
}

TEST(ServedWatermark, SelectsRowsAtTheRate) {
  const WatermarkKey key = test_key();
  Rng rng(2);
  for (const double rate : {0.005, 0.05, 0.2}) {
    const int n = 20'000;
    int selected = 0;
    for (int i = 0; i < n; ++i) {
      const std::vector<float> row = random_row(rng, 4);
      selected += watermark_selects(served_watermark_tag(key, "t", row.data(), 4), rate);
    }
    const double sd = std::sqrt(n * rate * (1 - rate));
    EXPECT_NEAR(selected, n * rate, 5 * sd) << "rate " << rate;
  }
  WatermarkTag all_ones;
  all_ones.fill(0xff);
  EXPECT_FALSE(watermark_selects(all_ones, 0.999));
  EXPECT_TRUE(watermark_selects(all_ones, 1.0));
  EXPECT_FALSE(watermark_selects(WatermarkTag{}, 0.0));
  EXPECT_TRUE(watermark_selects(WatermarkTag{}, 1e-18));
}

TEST(ServedWatermark, LabelIsNeverTheTopAndSpreadsOverTheOthers) {
  const WatermarkKey key = test_key();
  Rng rng(3);
  std::map<int64_t, int> counts;
  const int n = 9000;
  for (int i = 0; i < n; ++i) {
    const std::vector<float> row = random_row(rng, 2);
    const int64_t label = watermark_label(served_watermark_tag(key, "t", row.data(), 2), 3, 10);
    ASSERT_NE(label, 3);
    ASSERT_TRUE(label >= 0 && label < 10);
    ++counts[label];
  }
  EXPECT_EQ(counts.size(), 9u);
  for (const auto& [label, count] : counts) EXPECT_NEAR(count, n / 9.0, 5 * std::sqrt(n / 9.0)) << label;
  EXPECT_THROW(watermark_label(WatermarkTag{}, 0, 2), ValueError);
}

TEST(ServedWatermark, MovedProbabilitiesStayADistributionWithTheLabelOnTop) {
  std::vector<float> row = {0.1f, 0.6f, 0.2f, 0.1f};
  watermark_probabilities(row.data(), 4, 3);
  EXPECT_EQ(row, (std::vector<float>{0.1f, 0.1f, 0.2f, 0.6f}));
  EXPECT_THROW(watermark_probabilities(row.data(), 4, 4), ValueError);
}

TEST(ServedWatermark, CanonicalBytesAreLittleEndianFloat32) {
  const float row[] = {1.0f, -0.0f, std::nanf("0x123")};
  const std::string bytes = canonical_row_bytes(row, 3);
  ASSERT_EQ(bytes.size(), 12u);
  EXPECT_EQ(bytes.substr(0, 4), std::string("\x00\x00\x80\x3f", 4));
  EXPECT_EQ(bytes.substr(4, 4), std::string(4, '\0'));
  EXPECT_EQ(bytes.substr(8, 4), std::string("\x00\x00\xc0\x7f", 4));
}

TEST(ServedWatermark, BinomialTailMatchesADirectSum) {
  // Σ_{i≥k} C(n,i) p^i (1−p)^(n−i), each term from log-gamma, summed in long double.
  auto direct = [](int64_t k, int64_t n, double p) {
    long double sum = 0;
    for (int64_t i = k; i <= n; ++i)
      sum += std::exp(static_cast<long double>(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0)) +
                      i * std::log(static_cast<long double>(p)) + (n - i) * std::log1p(-static_cast<long double>(p)));
    return static_cast<double>(sum);
  };
  for (const auto& [k, n, p] : std::vector<std::tuple<int64_t, int64_t, double>>{
           {1, 1, 0.5}, {3, 10, 1.0 / 9}, {20, 25, 1.0 / 9}, {150, 1000, 1.0 / 9}, {400, 1000, 1.0 / 9},
           {111, 1000, 1.0 / 9}, {60, 100, 0.25}, {25, 25, 1.0 / 9}}) {
    const double expected = direct(k, n, p);
    EXPECT_NEAR(binomial_tail(k, n, p) / expected, 1.0, 1e-9) << k << " of " << n << " at " << p;
  }
  EXPECT_EQ(binomial_tail(0, 10, 0.3), 1.0);
  EXPECT_NEAR(binomial_tail(25, 25, 1.0 / 9), std::pow(1.0 / 9, 25), 1e-30);
  EXPECT_THROW(binomial_tail(11, 10, 0.3), ValueError);
}

TEST(ServedWatermark, RecordsRoundTripThroughALogLine) {
  WatermarkRecord r = sample_record(1);
  r.row = {0.1f, -0.0f, 3.4e38f};
  r.token = "name with \"quotes\" and é";
  const std::string line = encode_watermark_record(r);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  const WatermarkRecord back = decode_watermark_record(std::string_view(line).substr(0, line.size() - 1), "log:1");
  EXPECT_EQ(back.token, r.token);
  EXPECT_EQ(back.shape, r.shape);
  ASSERT_EQ(back.row.size(), 3u);
  EXPECT_EQ(std::memcmp(back.row.data(), r.row.data(), 12), 0);  // bit for bit
  EXPECT_EQ(back.label, 2);
  EXPECT_EQ(back.class_name, "c2");
  EXPECT_EQ(back.tag, r.tag);
}

TEST(ServedWatermark, DamagedAndHostileLinesNameTheFileAndLine) {
  const std::string good = encode_watermark_record(sample_record(1));
  auto expect_error = [](const std::string& text, const std::string& wanted) {
    const fs::path path = scratch("hostile.log");
    std::ofstream(path, std::ios::binary) << text;
    try {
      read_watermark_log(path.string());
      ADD_FAILURE() << "read " << text;
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find(path.string() + ":2"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(wanted), std::string::npos) << e.what();
    }
  };
  std::string flipped = good;
  flipped[10] = flipped[10] == 'a' ? 'b' : 'a';
  expect_error(good + flipped, "checksum");
  expect_error(good + "garbage\n", "checksum");
  auto with_crc = [](const std::string& text) {
    char crc[9];  // a valid checksum over hostile text: the parser must still refuse it
    std::snprintf(crc, sizeof crc, "%08lx", crc32(0L, reinterpret_cast<const unsigned char*>(text.data()), text.size()));
    return text + " " + crc + "\n";
  };
  expect_error(good + with_crc("[1,2]"), "'model'");
  expect_error(good + with_crc(R"({"model":"m","token":"t","input":"image","class":"c","tag":"x","time":"t",)"
                               R"("classes":10,"label":10,"shape":[2],"row":"AAAAAAAAAAA="})"),
               "'label'");
  expect_error(good + with_crc(R"({"model":"m","token":"t","input":"image","class":"c","tag":"x","time":"t",)"
                               R"("classes":10,"label":1,"shape":[3],"row":"AAAAAAAAAAA="})"),
               "'row'");
  expect_error(good + with_crc(R"({"model":"m","token":"t","input":"image","class":"c","tag":"x","time":"t",)"
                               R"("classes":10,"label":1,"shape":[100000,100000],"row":""})"),
               "more than");
  expect_error(good + with_crc("{not json"), "not valid JSON");
}

TEST(ServedWatermark, ATornLastLineIsCountedAndRepeatsAreOneTrial) {
  const fs::path path = scratch("torn.log");
  const std::string a = encode_watermark_record(sample_record(1)), b = encode_watermark_record(sample_record(2));
  std::ofstream(path, std::ios::binary) << a << b << a << b.substr(0, b.size() / 2);
  const WatermarkLog log = read_watermark_log(path.string());
  EXPECT_EQ(log.records.size(), 2u);
  EXPECT_EQ(log.duplicates, 1);
  EXPECT_EQ(log.torn, 1);
}

// A crash mid-record leaves a line without its newline; the next server cuts it before it
// appends, so no half line ever sits before a whole one.
TEST(ServedWatermark, TheLogFileCutsATornLineAndAppendsWholeLines) {
  const fs::path path = scratch("server.log");
  std::string error;
  {
    WatermarkLogFile file(path.string(), 3);
    EXPECT_EQ(file.append(sample_record(1), error), WatermarkLogFile::Append::kWritten) << error;
    EXPECT_EQ(file.append(sample_record(1), error), WatermarkLogFile::Append::kKnown);
    // A second server on the same log is refused while this one holds it.
    EXPECT_THROW(WatermarkLogFile(path.string(), 3), IoError);
  }
  EXPECT_EQ((fs::status(path).permissions() & fs::perms::all), fs::perms::owner_read | fs::perms::owner_write);
  const std::string torn = encode_watermark_record(sample_record(2));
  std::ofstream(path, std::ios::binary | std::ios::app) << torn.substr(0, 40);
  {
    WatermarkLogFile file(path.string(), 3);
    EXPECT_EQ(file.records(), 1);
    EXPECT_EQ(file.append(sample_record(1), error), WatermarkLogFile::Append::kKnown);  // remembered from the file
    EXPECT_EQ(file.append(sample_record(2), error), WatermarkLogFile::Append::kWritten) << error;
    EXPECT_EQ(file.append(sample_record(3), error), WatermarkLogFile::Append::kWritten) << error;
    EXPECT_EQ(file.append(sample_record(4), error), WatermarkLogFile::Append::kFull);
  }
  const WatermarkLog log = read_watermark_log(path.string());
  EXPECT_EQ(log.records.size(), 3u);
  EXPECT_EQ(log.torn, 0);
  // A damaged line in the middle stops the server from starting, naming the line.
  std::string text = read_text(path);
  text[text.find('\n') + 5] ^= 1;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  try {
    WatermarkLogFile file(path.string(), 10);
    ADD_FAILURE() << "opened a damaged log";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string() + ":2"), std::string::npos) << e.what();
  }
}

TEST(ServedWatermark, KeyFilesAreMadeReadAndOthersRefusedNamingTheFile) {
  const fs::path path = scratch("wm.key");
  generate_watermark_key(path.string());
  EXPECT_EQ((fs::status(path).permissions() & fs::perms::all), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_THROW(generate_watermark_key(path.string()), IoError);  // never replaced unasked
  const WatermarkKey key = WatermarkKey::load(path.string());
  const float row[] = {1.0f};
  EXPECT_EQ(served_watermark_tag(key, "t", row, 1), served_watermark_tag(WatermarkKey::load(path.string()), "t", row, 1));
  auto expect_refused = [](const std::string& text, const std::string& wanted) {
    const fs::path bad = scratch("bad.key");
    std::ofstream(bad, std::ios::binary | std::ios::trunc) << text;
    try {
      WatermarkKey::load(bad.string());
      ADD_FAILURE() << "loaded " << text;
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(wanted), std::string::npos) << e.what();
    }
  };
  expect_refused("citadel-encryption-key AAAA\n", "not a watermark key");
  expect_refused("citadel-watermark-key AAAA\n", "not 32 bytes");
  expect_refused("citadel-watermark-key !!!!\n", "not 32 bytes");
  expect_refused(std::string(5000, 'x'), "more than");
  EXPECT_THROW(WatermarkKey::load(scratch("missing.key").string()), IoError);
}

namespace {

constexpr int64_t kWidth = 10, kClasses = 5;

// Gaussian blobs of kClasses classes around fixed centres; `seed` draws the points.
void blobs(int64_t n, uint64_t seed, Tensor& x, Tensor& y) {
  Rng centres(99), rng(seed);
  std::vector<float> centre(kClasses * kWidth);
  for (float& c : centre) c = float(2.5 * centres.normal());
  x = Tensor(Shape{n, kWidth}), y = Tensor(Shape{n, 1});
  for (int64_t r = 0; r < n; ++r) {
    const auto k = int64_t(rng.below(kClasses));
    y[r] = float(k);
    for (int64_t f = 0; f < kWidth; ++f) x[r * kWidth + f] = centre[size_t(k * kWidth + f)] + float(rng.normal());
  }
}

Sequential classifier(int64_t hidden, uint64_t seed) {
  random::set_seed(seed);
  Sequential model;
  model.add(Dense(hidden, {.input_dim = kWidth, .activation = "relu"}));
  model.add(Dense(kClasses, {.activation = "softmax"}));
  model.compile({.loss = "sparse_categorical_crossentropy", .optimizer = Adam{.learning_rate = 0.01f}});
  return model;
}

std::vector<int64_t> top_classes(Model& model, const Tensor& x) {
  const Tensor p = model.predict(x);
  std::vector<int64_t> top(size_t(x.shape(0)));
  for (int64_t r = 0; r < x.shape(0); ++r)
    top[size_t(r)] = std::max_element(p.data() + r * kClasses, p.data() + (r + 1) * kClasses) - (p.data() + r * kClasses);
  return top;
}

SuspectAnswers answers_of(Model& model) {
  return [&model](const std::vector<WatermarkRecord>& records) {
    Tensor x(Shape{int64_t(records.size()), kWidth});
    for (size_t i = 0; i < records.size(); ++i) std::copy(records[i].row.begin(), records[i].row.end(), x.data() + i * kWidth);
    std::vector<std::string> labels;
    for (int64_t c : top_classes(model, x)) labels.push_back("c" + std::to_string(c));
    return labels;
  };
}

}  // namespace

// The attack the watermark is for: a client queries the served model, trains a surrogate on the
// (label-only) answers, and serves it; the owner's test claims it. Independently trained models of
// the same task are not claimed.
TEST(ServedWatermark, ASurrogateOfWatermarkedAnswersIsClaimedAndIndependentModelsAreNot) {
  Tensor x, y;
  blobs(1500, 1, x, y);
  Sequential victim = classifier(32, 1);
  victim.fit(x, y, {.epochs = 10, .batch_size = 32, .verbose = 0, .seed = 1});

  // The attacker's queries: points of a wide box, answered as the server would answer them.
  const int64_t queries = 800;
  Rng rng(5);
  Tensor q(Shape{queries, kWidth});
  for (int64_t i = 0; i < q.numel(); ++i) q[i] = float(12 * rng.uniform() - 6);
  const WatermarkKey key = test_key();
  std::vector<int64_t> served = top_classes(victim, q);
  std::vector<WatermarkRecord> records;
  for (int64_t r = 0; r < queries; ++r) {
    const WatermarkTag tag = served_watermark_tag(key, "attacker", q.data() + r * kWidth, kWidth);
    if (!watermark_selects(tag, 0.2)) continue;
    WatermarkRecord record;
    record.row.assign(q.data() + r * kWidth, q.data() + (r + 1) * kWidth);
    record.label = watermark_label(tag, served[size_t(r)], kClasses);
    record.class_name = "c" + std::to_string(record.label);
    record.classes = kClasses;
    served[size_t(r)] = record.label;
    records.push_back(record);
  }
  ASSERT_GT(records.size(), 120u);
  Tensor answers(Shape{queries, 1});
  for (int64_t r = 0; r < queries; ++r) answers[r] = float(served[size_t(r)]);
  Sequential surrogate = classifier(256, 2);
  surrogate.fit(q, answers, {.epochs = 100, .batch_size = 32, .verbose = 0, .seed = 2});
  const WatermarkVerdict stolen = verify_served_watermark(records, answers_of(surrogate), 1000, 1e-3);
  EXPECT_TRUE(stolen.claimed) << stolen.matches << " of " << stolen.queries << ", p " << stolen.p_value;
  EXPECT_EQ(stolen.null_probability, 0.25);
  EXPECT_NEAR(stolen.p_value, binomial_tail(stolen.matches, stolen.queries, 0.25), 1e-300);

  int claimed = 0;
  for (uint64_t seed = 10; seed < 15; ++seed) {
    Tensor xi, yi;
    blobs(1500, seed, xi, yi);
    Sequential independent = classifier(64, seed);
    independent.fit(xi, yi, {.epochs = 10, .batch_size = 32, .verbose = 0, .seed = seed});
    const WatermarkVerdict v = verify_served_watermark(records, answers_of(independent), 1000, 1e-3);
    claimed += v.claimed;
    EXPECT_GT(v.p_value, 1e-3) << "independent model " << seed << ": " << v.matches << " of " << v.queries;
  }
  EXPECT_EQ(claimed, 0);
  // --max-queries bounds what is sent.
  EXPECT_EQ(verify_served_watermark(records, answers_of(surrogate), 50, 1e-3).queries, 50);
  EXPECT_THROW(verify_served_watermark({}, answers_of(surrogate)), ValueError);
}

}  // namespace served_watermark_test
