// `citadel keygen`, `sign`, `verify`, `encrypt`, `decrypt`: protecting model files.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "citadel/io/encryption.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/signing.hpp"
#include "commands.hpp"
#include "pipeline.hpp"

namespace citadel::cli {
namespace {

int run_keygen(const Settings& s) {
  if (!s.encryption_key_out.empty()) {
    generate_encryption_key(s.encryption_key_out);
    std::printf("Wrote a 32-byte encryption key to %s (readable by you only)\n", s.encryption_key_out.c_str());
    return 0;
  }
  generate_signing_keys(s.public_out, s.secret_out);
  std::printf("Wrote the public key to %s and the secret key to %s (readable by you only)\n", s.public_out.c_str(),
              s.secret_out.c_str());
  return 0;
}

int run_sign(const Settings& s) {
  sign_file(s.model_file, s.secret_key);
  std::printf("Signed %s: %s\n", s.model_file.c_str(), signature_path_for(s.model_file).c_str());
  return 0;
}

int run_verify(const Settings& s) {
  const std::string signature = signature_path_for(s.model_file);
  const bool valid = signature_is_valid(read_file_bytes(s.model_file), signature, s.public_key);
  std::printf("%s: signature %s\n", s.model_file.c_str(), valid ? "valid" : "INVALID");
  return valid ? 0 : 3;
}

int run_encrypt(const Settings& s) {
  const std::string output = s.crypt_output.empty() ? s.model_file + ".enc" : s.crypt_output;
  encrypt_file(s.model_file, output, encryption_key(s));
  std::printf("Encrypted %s: %s\n", s.model_file.c_str(), output.c_str());
  return 0;
}

int run_decrypt(const Settings& s) {
  decrypt_file(s.model_file, s.crypt_output, encryption_key(s));
  std::printf("Decrypted %s: %s\n", s.model_file.c_str(), s.crypt_output.c_str());
  return 0;
}

}  // namespace

Command add_encrypt_command(CLI::App& app, Settings& s) {
  CLI::App* command = app.add_subcommand(
      "encrypt", "Encrypt a model file (XChaCha20-Poly1305; a key file or an Argon2id passphrase)");
  command->add_option("model", s.model_file, "The model file")->required()->option_text("MODEL");
  command->add_option("--output", s.crypt_output, "Encrypted file (default: MODEL.enc)")->option_text("FILE");
  add_decryption_options(*command, s);
  return {command, run_encrypt};
}

Command add_decrypt_command(CLI::App& app, Settings& s) {
  CLI::App* command = app.add_subcommand(
      "decrypt", "Decrypt a model file (commands that load models decrypt in memory; this writes the plaintext)");
  command->add_option("model", s.model_file, "The encrypted file")->required()->option_text("FILE");
  command->add_option("--output", s.crypt_output, "Plaintext file (mode 0600)")->required()->option_text("FILE");
  add_decryption_options(*command, s);
  return {command, run_decrypt};
}

Command add_keygen_command(CLI::App& app, Settings& s) {
  CLI::App* command = app.add_subcommand("keygen", "Write a new Ed25519 key pair for signing models");
  command->add_option("--public", s.public_out, "Public key file")->capture_default_str();
  command->add_option("--secret", s.secret_out, "Secret key file (created with mode 0600)")->capture_default_str();
  command->add_option("--encryption-key", s.encryption_key_out,
                      "Instead, write a random 32-byte key for encrypt/decrypt (mode 0600)")
      ->option_text("FILE");
  return {command, run_keygen};
}

Command add_sign_command(CLI::App& app, Settings& s) {
  CLI::App* command = app.add_subcommand("sign", "Sign a model file: writes MODEL.sig, a detached Ed25519 signature");
  command->add_option("model", s.model_file, "The model file")->required()->option_text("MODEL");
  command->add_option("--key", s.secret_key, "Secret key (from keygen)")->required()->option_text("SECRET_KEY");
  return {command, run_sign};
}

Command add_verify_command(CLI::App& app, Settings& s) {
  CLI::App* command = app.add_subcommand(
      "verify", "Check MODEL.sig against a public key: exit 0 when valid, 3 when not, 1 when it cannot be read");
  command->add_option("model", s.model_file, "The model file")->required()->option_text("MODEL");
  command->add_option("--pubkey", s.public_key, "Public key (from keygen)")->required()->option_text("PUBLIC_KEY");
  return {command, run_verify};
}

}  // namespace citadel::cli
