// `sentryctl dump FILE...`: decodes .log, .index and .timeindex files offline.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace sentry::ctl {

// Prints each file to `out` (problems to `err`); returns the exit code:
// 0 when every file was read and decoded cleanly, 1 otherwise.
int DumpFiles(const std::vector<std::string>& files, bool json, std::FILE* out, std::FILE* err);

}  // namespace sentry::ctl
