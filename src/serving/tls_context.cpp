// HTTPS for citadel serve: OpenSSL through Asio, TLS 1.2 and 1.3 only (older versions and
// compression off), the certificate chain and key read once at start.
#include "citadel/core/error.hpp"
#include "server_internals.hpp"

namespace citadel::serving {

std::unique_ptr<net::ssl::context> tls_context(const ServerOptions& options) {
  CITADEL_CHECK(!options.tls_certificate.empty() && !options.tls_private_key.empty(), ValueError,
                "TLS needs both a certificate (--tls-cert) and its private key (--tls-key)");
  auto context = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
  context->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                       net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1 |
                       net::ssl::context::no_compression | net::ssl::context::single_dh_use);
  beast::error_code ec;
  context->use_certificate_chain_file(options.tls_certificate, ec);
  CITADEL_CHECK(!ec, ValueError, options.tls_certificate, ": not a PEM certificate chain (", ec.message(), ")");
  context->use_private_key_file(options.tls_private_key, net::ssl::context::pem, ec);
  CITADEL_CHECK(!ec, ValueError, options.tls_private_key, ": not a PEM private key for ", options.tls_certificate,
                " (", ec.message(), ")");
  return context;
}

}  // namespace citadel::serving
