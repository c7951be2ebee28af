// A suspect model's answers to the rows of a watermark log, for `citadel
// watermark verify`: a saved model predicted in process through the server's
// own request path, or a KServe v2 endpoint (such as `citadel serve`'s) over
// HTTP. Either way the recorded rows are sent as the server received them (the
// input named in the record, FP32) and the "label" output is read.
#pragma once

#include <memory>
#include <string>

#include "citadel/provenance/served_watermark.hpp"

namespace citadel::serving {

struct ServedModel;

// A saved classifier's labels, through decode_infer_request and infer (the same
// parsing, the same preprocessing as serving it). ValueError naming the suspect
// when it cannot read the rows.
SuspectAnswers suspect_model_answers(std::shared_ptr<const ServedModel> suspect);

// An endpoint's labels: `url` is http://HOST[:PORT]/v2/models/NAME (or
// .../infer), `token` the bearer token (empty: none). IoError naming the URL
// for a refused or malformed answer; ValueError for a URL that is not plain
// http (HTTPS suspects are not supported yet).
SuspectAnswers suspect_url_answers(const std::string& url, const std::string& token);

}  // namespace citadel::serving
