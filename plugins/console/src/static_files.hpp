// The console's files, read into memory once at configure time, so that serving them never blocks
// an event loop: each with its content type and a strong ETag over its bytes.
#pragma once

#include <parley/sdk/http.hpp>

#include <map>
#include <string>

namespace parley::console {

struct StaticFile {
  std::string body;
  std::string content_type;
  std::string etag;  // quoted, e.g. "\"5f0c...\""
};

class StaticFiles {
 public:
  // Reads every regular file under `root`, recursively (hidden files skipped). Throws
  // std::runtime_error naming the path when `root` is not a readable directory.
  static StaticFiles load(const std::string& root);

  // Keys are paths relative to the root, with "/" separators: "js/room.js".
  const std::map<std::string, StaticFile>& files() const { return files_; }
  const StaticFile* find(const std::string& relative) const;

  // 200 with the file, or 304 when the request's If-None-Match names its ETag. Every answer
  // carries the security headers below.
  static sdk::Response serve(const StaticFile& file, const sdk::Request& request);

  static std::string contentTypeOf(const std::string& path);
  static std::string etagOf(const std::string& bytes);
  // RFC 9110 §13.1.2: If-None-Match matches on weak comparison, "*" matches anything.
  static bool noneMatchHits(const std::string& if_none_match, const std::string& etag);

 private:
  std::map<std::string, StaticFile> files_;
};

// Strict: scripts, styles, workers and connections from this origin only; no inline script, no
// plugins, not framed. Websockets to the same host are 'self' (CSP Level 3).
extern const char* const kContentSecurityPolicy;

}  // namespace parley::console
