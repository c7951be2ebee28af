// A citadel server started inside the test's process on a free loopback port, with a token per
// client name, and a KServe v2 infer request to it: what the serving tests of output policies
// (smoothing, STRIP, watermarks) each start.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "citadel/serving/server.hpp"
#include "citadel/serving/token_store.hpp"
#include "http_client.hpp"

namespace citadel::testkit {

struct RunningServer {
  std::unique_ptr<serving::Server> server;
  uint16_t port = 0;
  std::string token;                          // the first client's
  std::map<std::string, std::string> tokens;  // each client's, by name
};

inline RunningServer start_server(std::vector<serving::ServedModel> models, serving::ServerOptions options = {},
                                  const std::vector<std::string>& clients = {"client"},
                                  const serving::TokenPolicy& policy = {}) {
  RunningServer running;
  serving::TokenStore store;
  for (const std::string& client : clients) running.tokens[client] = store.add(client, policy);
  running.token = running.tokens.at(clients.front());
  options.port = 0;
  options.log_requests = false;
  running.server = std::make_unique<serving::Server>(std::move(models), store, "", options);
  running.port = running.server->start();
  return running;
}

inline HttpAnswer infer_request(const RunningServer& running, const std::string& model, const std::string& body,
                                const std::string& token) {
  return http_exchange(running.port, http_request("POST", "/v2/models/" + model + "/infer", body, token));
}

}  // namespace citadel::testkit
