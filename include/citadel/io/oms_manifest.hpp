// A model directory's files as OpenSSF model signing lists them: every regular file below
// it, by its path relative to the directory, with its SHA-256, in the order the Python
// client writes (by path components), less the paths the signer chose to ignore.
#pragma once

#include <string>
#include <vector>

#include "citadel/io/oms_bundle.hpp"

namespace citadel {

// What `model_signing sign` leaves out of every model by default (git's files at the top).
std::vector<std::string> oms_default_ignore_paths();

// Whether the relative path `name` is `ignored` or inside it (whole components only).
bool oms_path_is_ignored(const std::string& name, const std::vector<std::string>& ignore_paths);

// `file`'s path relative to the directory `root` when `file` lies inside it, else "".
std::string oms_path_inside(const std::string& root, const std::string& file);

// The resources of directory `root`, sorted. Symbolic links and special files (FIFOs,
// sockets, devices) are an IoError naming them: links are never followed, and reading a
// FIFO could block forever. Files are hashed 1 MiB at a time.
std::vector<OmsResource> oms_directory_resources(const std::string& root, const std::vector<std::string>& ignore_paths);

// The client's order: path components compared one by one (so "a/b" sorts before "a-c").
bool oms_name_less(const std::string& a, const std::string& b);

}  // namespace citadel
