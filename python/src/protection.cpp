// citadel.protect: signing and encryption keys, signatures and encrypted files, the same
// calls `citadel keygen`, `sign`, `verify`, `encrypt` and `decrypt` make.
#include <pybind11/stl.h>

#include <citadel/io/encryption.hpp>
#include <citadel/io/model_file.hpp>
#include <citadel/io/signing.hpp>

#include "bindings.hpp"

namespace citadel::python {

EncryptionKey encryption_key(const std::string& key_file, const std::string& passphrase) {
  EncryptionKey key;
  key.key_file = key_file;
  key.passphrase = passphrase;
  return key;
}

void register_protection(py::module_& module) {
  module.def(
      "keygen",
      [](const std::string& public_key, const std::string& secret_key, bool overwrite) {
        generate_signing_keys(public_key, secret_key, overwrite);
      },
      py::arg("public_key"), py::arg("secret_key"), py::arg("overwrite") = false);
  module.def(
      "encryption_keygen", [](const std::string& path, bool overwrite) { generate_encryption_key(path, overwrite); },
      py::arg("path"), py::arg("overwrite") = false);
  module.def(
      "sign",
      [](const std::string& path, const std::string& secret_key, const std::string& purpose) {
        py::gil_scoped_release released;
        sign_file(path, secret_key, purpose);
        return signature_path_for(path);
      },
      py::arg("path"), py::arg("secret_key"), py::arg("purpose") = kPurposeModel);
  module.def(
      "verify",
      [](const std::string& path, const std::string& public_key, const std::string& purpose) {
        py::gil_scoped_release released;
        const std::string bytes = read_file_bytes(path);
        return require_valid_signature(bytes, path, public_key, purpose).text();
      },
      py::arg("path"), py::arg("public_key"), py::arg("purpose") = kPurposeModel);
  module.def(
      "encrypt",
      [](const std::string& input, const std::string& output, const std::string& key_file,
         const std::string& passphrase) {
        const EncryptionKey key = encryption_key(key_file, passphrase);
        py::gil_scoped_release released;
        encrypt_file(input, output, key);
      },
      py::arg("input"), py::arg("output"), py::arg("key_file") = "", py::arg("passphrase") = "");
  module.def(
      "decrypt",
      [](const std::string& input, const std::string& output, const std::string& key_file,
         const std::string& passphrase) {
        const EncryptionKey key = encryption_key(key_file, passphrase);
        py::gil_scoped_release released;
        decrypt_file(input, output, key);
      },
      py::arg("input"), py::arg("output"), py::arg("key_file") = "", py::arg("passphrase") = "");
  module.def("is_encrypted", [](const std::string& path) { return is_encrypted_file(path); }, py::arg("path"));
}

}  // namespace citadel::python
