// `citadel keygen`, `sign`, `verify`, `encrypt`, `decrypt`: protecting model files.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "citadel/core/error.hpp"
#include "citadel/io/ec_keys.hpp"
#include "citadel/io/encryption.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/signing.hpp"
#include "commands.hpp"
#include "pipeline.hpp"

namespace citadel::cli {
namespace {

struct KeygenFlags {
  std::string public_out = "citadel.pub", secret_out = "citadel.key";
  std::string encryption_key_out;  // --encryption-key
  std::string type = "ed25519";    // --type: ed25519 (citadel's format) or an ECDSA curve (OpenSSF)
  bool force = false;              // replace existing key files
};

// sign, verify, encrypt and decrypt: one file and what to do it with.
struct FileFlags {
  std::string model_file;
  std::string purpose;  // sign/verify --purpose
  KeyFlags keys;        // verify --pubkey; encrypt/decrypt --key-file, --passphrase-env
  std::string secret_key;  // sign --key
  std::string format;      // sign --format: citadel or oms (default: the key's)
  std::string signature;   // sign/verify --signature (default: MODEL.sig)
  std::string output;      // encrypt/decrypt --output
};

int run_keygen(const KeygenFlags& s) {
  if (!s.encryption_key_out.empty()) {
    generate_encryption_key(s.encryption_key_out, s.force);
    std::printf("Wrote a 32-byte encryption key to %s (readable by you only)\n", s.encryption_key_out.c_str());
    return 0;
  }
  if (s.type == "ed25519") {
    generate_signing_keys(s.public_out, s.secret_out, s.force);
  } else {
    generate_ec_signing_keys(s.public_out, s.secret_out, ec_curve_named(s.type), s.force);
  }
  std::printf("Wrote the %s public key to %s and the secret key to %s (readable by you only)\n",
              s.type == "ed25519" ? "Ed25519" : ("ECDSA " + ec_curve_name(ec_curve_named(s.type)) + " (PEM)").c_str(),
              s.public_out.c_str(), s.secret_out.c_str());
  return 0;
}

// A plaintext checkpoint says so in its header; anything else is signed as a model.
std::string purpose_of(const FileFlags& s, std::string_view bytes) {
  if (!s.purpose.empty()) return s.purpose;
  if (is_encrypted(bytes)) return kPurposeModel;
  try {
    const auto format = inspect_model_file(bytes, s.model_file).metadata.at("format");
    return format == "citadel-checkpoint" ? kPurposeCheckpoint : kPurposeModel;
  } catch (const std::exception&) {
    return kPurposeModel;
  }
}

int run_sign(const FileFlags& s) {
  const SignatureFormat key_format = signature_format_of_key(s.secret_key);
  const bool oms = key_format == SignatureFormat::kOms;
  CITADEL_CHECK(s.format.empty() || (s.format == "oms") == oms, ValueError, "sign --format ", s.format, ": ",
                s.secret_key, " is ", oms ? "a PEM ECDSA key, which signs in the oms format" : "a citadel Ed25519 key",
                oms ? "" : "; OpenSSF model signing needs an ECDSA key: `citadel keygen --type p256`");
  const std::string signature = s.signature.empty() ? signature_path_for(s.model_file) : s.signature;
  const char* format = oms ? "an OpenSSF model-signing bundle" : "a citadel signature";
  if (std::filesystem::is_directory(s.model_file)) {
    const std::string purpose = s.purpose.empty() ? kPurposeModel : s.purpose;
    sign_directory(s.model_file, s.secret_key, purpose, signature);
    std::printf("Signed the directory %s as a %s: %s (%s)\n", s.model_file.c_str(), purpose.c_str(),
                signature.c_str(), format);
    return 0;
  }
  const std::string bytes = read_file_bytes(s.model_file);
  const std::string purpose = purpose_of(s, bytes);
  sign_bytes(bytes, s.model_file, purpose, s.secret_key, signature);
  std::printf("Signed %s as a %s: %s (%s)\n", s.model_file.c_str(), purpose.c_str(), signature.c_str(), format);
  return 0;
}

int run_verify(const FileFlags& s) {
  try {
    const SignedStatement statement =
        require_valid_signature_of_path(s.model_file, s.keys.public_key, s.purpose, s.signature);
    std::printf("%s: signature valid\nSigned statement: %s\n", s.model_file.c_str(), statement.text().c_str());
    return 0;
  } catch (const SecurityError& e) {
    std::printf("%s: signature INVALID\n", s.model_file.c_str());
    std::fprintf(stderr, "error: %s\n", e.what());
    return 3;
  }
}

int run_encrypt(const FileFlags& s) {
  const std::string output = s.output.empty() ? s.model_file + ".enc" : s.output;
  encrypt_file(s.model_file, output, encryption_key(s.keys));
  std::printf("Encrypted %s: %s\n", s.model_file.c_str(), output.c_str());
  return 0;
}

int run_decrypt(const FileFlags& s) {
  decrypt_file(s.model_file, s.output, encryption_key(s.keys));
  std::printf("Decrypted %s: %s\n", s.model_file.c_str(), s.output.c_str());
  return 0;
}

// A command on one file: `run` with the flags it registered.
Command file_command(CLI::App* command, const std::shared_ptr<FileFlags>& flags, int (*run)(const FileFlags&)) {
  return {command, [flags, run] { return run(*flags); }};
}

}  // namespace

Command add_encrypt_command(CLI::App& app) {
  auto flags = std::make_shared<FileFlags>();
  FileFlags& s = *flags;
  CLI::App* command = app.add_subcommand(
      "encrypt", "Encrypt a model file (XChaCha20-Poly1305; a key file or an Argon2id passphrase)");
  command->add_option("model", s.model_file, "The model file")->required()->option_text("MODEL");
  command->add_option("--output", s.output, "Encrypted file (default: MODEL.enc)")->option_text("FILE");
  add_decryption_flags(*command, s.keys);
  return file_command(command, flags, run_encrypt);
}

Command add_decrypt_command(CLI::App& app) {
  auto flags = std::make_shared<FileFlags>();
  FileFlags& s = *flags;
  CLI::App* command = app.add_subcommand(
      "decrypt", "Decrypt a model file (commands that load models decrypt in memory; this writes the plaintext)");
  command->add_option("model", s.model_file, "The encrypted file")->required()->option_text("FILE");
  command->add_option("--output", s.output, "Plaintext file (mode 0600)")->required()->option_text("FILE");
  add_decryption_flags(*command, s.keys);
  return file_command(command, flags, run_decrypt);
}

Command add_keygen_command(CLI::App& app) {
  auto flags = std::make_shared<KeygenFlags>();
  KeygenFlags& s = *flags;
  CLI::App* command = app.add_subcommand(
      "keygen", "Write a new key pair for signing models (Ed25519 for citadel's format, ECDSA for OpenSSF's)");
  command->add_option("--type", s.type,
                      "ed25519 (citadel's own signatures), or p256, p384, p521: ECDSA PEM keys for OpenSSF model "
                      "signing (`sign --format oms`)")
      ->check(CLI::IsMember({"ed25519", "p256", "p384", "p521"}))
      ->capture_default_str();
  command->add_option("--public", s.public_out, "Public key file")->capture_default_str();
  command->add_option("--secret", s.secret_out, "Secret key file (created with mode 0600)")->capture_default_str();
  command->add_flag("--force", s.force, "Replace existing key files (files signed or encrypted with them are lost)");
  command->add_option("--encryption-key", s.encryption_key_out,
                      "Instead, write a random 32-byte key for encrypt/decrypt (mode 0600)")
      ->option_text("FILE");
  return {command, [flags] { return run_keygen(*flags); }};
}

Command add_sign_command(CLI::App& app) {
  auto flags = std::make_shared<FileFlags>();
  FileFlags& s = *flags;
  CLI::App* command = app.add_subcommand(
      "sign", "Sign a model file or directory: writes MODEL.sig (citadel's Ed25519 format, or an OpenSSF bundle)");
  command->add_option("model", s.model_file, "The model file, or a directory (--format oms)")
      ->required()
      ->option_text("MODEL");
  command->add_option("--key", s.secret_key, "Secret key (from keygen; a PEM ECDSA key signs in the oms format)")
      ->required()
      ->option_text("SECRET_KEY");
  command->add_option("--format", s.format,
                      "citadel (Ed25519 signed statement) or oms (OpenSSF model signing v1.0: a Sigstore bundle "
                      "that `model_signing verify key` accepts); default: the key's")
      ->check(CLI::IsMember({"citadel", "oms"}));
  command->add_option("--signature", s.signature, "Where to write the signature (default: MODEL.sig)")
      ->option_text("FILE");
  command->add_option("--purpose", s.purpose, "What the signature vouches for (default: read from the file)")
      ->check(CLI::IsMember({"model", "checkpoint"}));
  return file_command(command, flags, run_sign);
}

Command add_verify_command(CLI::App& app) {
  auto flags = std::make_shared<FileFlags>();
  FileFlags& s = *flags;
  CLI::App* command = app.add_subcommand(
      "verify",
      "Check MODEL.sig (either format, found by its contents) against a public key: exit 0 when valid, 3 when not, "
      "1 when it cannot be read");
  command->add_option("model", s.model_file, "The model file, or a directory signed with --format oms")
      ->required()
      ->option_text("MODEL");
  command->add_option("--pubkey", s.keys.public_key, "Public key (citadel's from keygen, or a PEM ECDSA key)")
      ->required()
      ->option_text("PUBLIC_KEY");
  command->add_option("--signature", s.signature,
                      "The signature file (default: MODEL.sig; `model_signing sign` writes model.sig)")
      ->option_text("FILE");
  command->add_option("--purpose", s.purpose, "Also require this purpose (default: any, printed)")
      ->check(CLI::IsMember({"model", "checkpoint"}));
  return file_command(command, flags, run_verify);
}

}  // namespace citadel::cli
