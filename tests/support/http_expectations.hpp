// What the server tests expect of a refused request: a 400 whose JSON error names the part
// of the request at fault (the input, element or field).
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "http_client.hpp"

namespace citadel::testkit {

inline void expect_400_naming(const HttpAnswer& answer, const std::string& what) {
  EXPECT_EQ(answer.status, 400) << answer.body;
  const nlohmann::json error = nlohmann::json::parse(answer.body, nullptr, false);
  ASSERT_TRUE(error.is_object() && error.contains("error")) << answer.body;
  EXPECT_NE(error["error"].get<std::string>().find(what), std::string::npos) << answer.body;
}

}  // namespace citadel::testkit
