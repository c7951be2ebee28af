// The token file: {"tokens": [{"name", "hash", "rows_budget", "rate", "revoked",
// "created"}]}; tokens themselves are never written.
#include "citadel/serving/token_store.hpp"

#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"
#include "citadel/core/utc_time.hpp"

namespace citadel::serving {
namespace {

using nlohmann::json;

constexpr const char* kPrefix = "ctd_";
constexpr size_t kTokenBytes = 32;

std::string hash_of(std::string_view token) {
  unsigned char digest[crypto_generichash_BYTES];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(token.data()), token.size(),
                     nullptr, 0);
  char hex[crypto_generichash_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

void check_name(const std::string& name) {
  CITADEL_CHECK(!name.empty() && name.size() <= 64 &&
                    std::all_of(name.begin(), name.end(),
                                [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; }),
                ValueError, "token name '", name, "': use 1 to 64 letters, digits, '-', '_' or '.'");
}

}  // namespace

std::string rate_text(double requests_per_second) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, requests_per_second).ptr;
  return std::string(text, end) + "/s";
}

TokenStore TokenStore::load(const std::string& path, bool must_exist) {
  TokenStore store;
  if (!std::filesystem::exists(path)) {
    CITADEL_CHECK(!must_exist, IoError, path, ": no token file (make one with `citadel token add --tokens ", path,
                  " --name NAME`)");
    return store;
  }
  CITADEL_CHECK(std::filesystem::file_size(path) <= (size_t{16} << 20), ValueError, path,
                ": a token file larger than 16 MiB is refused");
  std::ifstream file(path, std::ios::binary);
  CITADEL_CHECK(file.is_open(), IoError, path, ": cannot open the token file");
  std::ostringstream text;
  text << file.rdbuf();
  CITADEL_CHECK(json_nesting_depth(text.str()) <= 8, ValueError, path, ": nested too deeply");
  json root;
  try {
    root = json::parse(text.str());
  } catch (const json::exception& e) {
    throw ValueError(path + ": not valid JSON: " + e.what());
  }
  CITADEL_CHECK(root.is_object() && root.contains("tokens") && root["tokens"].is_array(), ValueError, path,
                ": expected {\"tokens\": [...]}");
  for (size_t i = 0; i < root["tokens"].size(); ++i) {
    const json& t = root["tokens"][i];
    const std::string where = path + ": tokens[" + std::to_string(i) + "]";
    CITADEL_CHECK(t.is_object() && t.contains("name") && t["name"].is_string() && t.contains("hash") &&
                      t["hash"].is_string() && t["hash"].get<std::string>().size() == crypto_generichash_BYTES * 2,
                  ValueError, where, ": needs a name and a 64-digit hex hash");
    TokenRecord record;
    record.name = t["name"].get<std::string>();
    record.hash = t["hash"].get<std::string>();
    if (t.contains("rows_budget") && !t["rows_budget"].is_null()) {
      CITADEL_CHECK(t["rows_budget"].is_number_integer() && t["rows_budget"].get<int64_t>() >= 0, ValueError, where,
                    ": 'rows_budget' must be a whole number >= 0");
      record.policy.rows_budget = t["rows_budget"].get<int64_t>();
    }
    if (t.contains("rate") && !t["rate"].is_null()) {
      CITADEL_CHECK(t["rate"].is_number() && t["rate"].get<double>() > 0, ValueError, where,
                    ": 'rate' must be a number > 0 (requests per second)");
      record.policy.rate = t["rate"].get<double>();
    }
    record.revoked = t.value("revoked", false);
    record.created = t.value("created", "");
    store.records_.push_back(std::move(record));
  }
  return store;
}

std::string TokenStore::add(const std::string& name, const TokenPolicy& policy) {
  check_name(name);
  for (const TokenRecord& r : records_)
    CITADEL_CHECK(r.name != name, ValueError, "a token named '", name, "' exists already (revoke it, or pick a name)");
  CITADEL_CHECK(!policy.rows_budget || *policy.rows_budget >= 0, ValueError, "--rows-budget must be >= 0");
  CITADEL_CHECK(!policy.rate || *policy.rate > 0, ValueError, "--rate must be > 0");
  CITADEL_CHECK(sodium_init() >= 0, SecurityError, "libsodium could not be initialized");
  unsigned char random[kTokenBytes];
  randombytes_buf(random, sizeof random);
  char encoded[sodium_base64_ENCODED_LEN(kTokenBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(encoded, sizeof encoded, random, sizeof random, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(random, sizeof random);
  std::string token = std::string(kPrefix) + encoded;
  sodium_memzero(encoded, sizeof encoded);
  records_.push_back({name, hash_of(token), policy, false, utc_timestamp()});
  return token;
}

void TokenStore::revoke(const std::string& name) {
  for (TokenRecord& r : records_)
    if (r.name == name) {
      r.revoked = true;
      return;
    }
  throw ValueError("no token named '" + name + "'");
}

void TokenStore::save(const std::string& path) const {
  json tokens = json::array();
  for (const TokenRecord& r : records_) {
    json t{{"name", r.name}, {"hash", r.hash}, {"revoked", r.revoked}, {"created", r.created}};
    t["rows_budget"] = r.policy.rows_budget ? json(*r.policy.rows_budget) : json(nullptr);
    t["rate"] = r.policy.rate ? json(*r.policy.rate) : json(nullptr);
    tokens.push_back(t);
  }
  write_file_atomically(path, json{{"tokens", tokens}}.dump(2) + "\n", 0600);
}

const TokenRecord* TokenStore::authenticate(std::string_view token) const {
  if (token.size() > 256) return nullptr;
  const std::string presented = hash_of(token);
  const TokenRecord* found = nullptr;
  for (const TokenRecord& r : records_)  // every record is compared, each in constant time
    if (sodium_memcmp(presented.data(), r.hash.data(), presented.size()) == 0 && !r.revoked) found = &r;
  return found;
}

}  // namespace citadel::serving
