// An OpenSSL message-digest context that frees itself, for the digest and signature code.
#pragma once

#include <openssl/evp.h>

#include <memory>

namespace citadel {

struct MdContextFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
using MdContext = std::unique_ptr<EVP_MD_CTX, MdContextFree>;

}  // namespace citadel
