// Walking a model directory for OpenSSF model signing (see oms_manifest.hpp).
#include "citadel/io/oms_manifest.hpp"

#include <algorithm>
#include <filesystem>

#include "citadel/core/error.hpp"
#include "citadel/io/digest.hpp"

namespace citadel {
namespace fs = std::filesystem;

namespace {

std::vector<std::string_view> components(const std::string& name) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= name.size()) {
    const size_t end = std::min(name.find('/', start), name.size());
    parts.emplace_back(name.data() + start, end - start);
    start = end + 1;
  }
  return parts;
}

}  // namespace

std::vector<std::string> oms_default_ignore_paths() { return {".git", ".gitattributes", ".github", ".gitignore"}; }

bool oms_path_is_ignored(const std::string& name, const std::vector<std::string>& ignore_paths) {
  return std::any_of(ignore_paths.begin(), ignore_paths.end(), [&](const std::string& ignored) {
    return name == ignored || (name.size() > ignored.size() && name.compare(0, ignored.size(), ignored) == 0 &&
                               name[ignored.size()] == '/');
  });
}

std::string oms_path_inside(const std::string& root, const std::string& file) {
  std::error_code error;
  const fs::path base = fs::weakly_canonical(root, error);
  if (error) return "";
  const fs::path target = fs::weakly_canonical(file, error);
  if (error) return "";
  const fs::path relative = target.lexically_relative(base);
  if (relative.empty() || *relative.begin() == ".." || relative == ".") return "";
  return relative.generic_string();
}

bool oms_name_less(const std::string& a, const std::string& b) {
  const auto left = components(a), right = components(b);
  return std::lexicographical_compare(left.begin(), left.end(), right.begin(), right.end());
}

std::vector<OmsResource> oms_directory_resources(const std::string& root, const std::vector<std::string>& ignore_paths) {
  std::error_code error;
  CITADEL_CHECK(fs::is_directory(fs::symlink_status(root, error)), IoError, root, ": not a directory");
  std::vector<OmsResource> resources;
  fs::recursive_directory_iterator walk(root, fs::directory_options::none, error);
  CITADEL_CHECK(!error, IoError, root, ": cannot list the directory (", error.message(), ")");
  for (; walk != fs::recursive_directory_iterator(); walk.increment(error)) {
    CITADEL_CHECK(!error, IoError, root, ": cannot list the directory (", error.message(), ")");
    const fs::path& path = walk->path();
    const std::string name = path.lexically_relative(root).generic_string();
    const fs::file_status status = walk->symlink_status(error);
    CITADEL_CHECK(!error, IoError, path.string(), ": cannot read its type (", error.message(), ")");
    if (oms_path_is_ignored(name, ignore_paths)) {
      if (fs::is_directory(status)) walk.disable_recursion_pending();
      continue;
    }
    CITADEL_CHECK(!fs::is_symlink(status), IoError, path.string(),
                  ": a symbolic link; links in a model directory are not followed (copy the file in instead)");
    if (fs::is_directory(status)) continue;
    CITADEL_CHECK(fs::is_regular_file(status), IoError, path.string(),
                  ": not a regular file (a FIFO, socket or device); refused in a model directory");
    resources.push_back({name, sha256_file_hex(path.string())});
  }
  CITADEL_CHECK(!error, IoError, root, ": cannot list the directory (", error.message(), ")");
  std::sort(resources.begin(), resources.end(),
            [](const OmsResource& a, const OmsResource& b) { return oms_name_less(a.name, b.name); });
  return resources;
}

}  // namespace citadel
