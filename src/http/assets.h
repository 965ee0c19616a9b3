// The dashboard's files, embedded in the binary at build time (embed.cmake):
// the page, its script and style, and Chart.js from Debian's libjs-chart.js.
#pragma once

#include <string_view>
#include <vector>

namespace sentry::http {

struct Asset {
  std::string_view path;          // as served, e.g. "/dashboard.js"
  std::string_view content_type;
  std::string_view data;
};

const std::vector<Asset>& Assets();
// The asset served at `path` ("/" is the page), or null.
const Asset* FindAsset(std::string_view path);

}  // namespace sentry::http
