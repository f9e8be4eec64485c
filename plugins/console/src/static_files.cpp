#include "static_files.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace parley::console {

const char* const kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

namespace {

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void walk(const std::string& root, const std::string& relative,
          std::map<std::string, StaticFile>& out) {
  const std::string dir = relative.empty() ? root : root + "/" + relative;
  DIR* d = opendir(dir.c_str());
  if (!d) throw std::runtime_error(dir + " is not a readable directory");
  std::map<std::string, bool> entries;  // sorted, so loading is deterministic
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    struct stat st {};
    if (stat((dir + "/" + name).c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) entries[name] = S_ISDIR(st.st_mode);
  }
  closedir(d);
  for (const auto& [name, is_dir] : entries) {
    const std::string path = relative.empty() ? name : relative + "/" + name;
    if (is_dir) {
      walk(root, path, out);
      continue;
    }
    StaticFile f;
    f.body = readAll(root + "/" + path);
    f.content_type = StaticFiles::contentTypeOf(path);
    f.etag = StaticFiles::etagOf(f.body);
    out.emplace(path, std::move(f));
  }
}

bool endsWith(const std::string& s, const char* suffix) {
  const std::string t = suffix;
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

}  // namespace

StaticFiles StaticFiles::load(const std::string& root) {
  StaticFiles files;
  walk(root, "", files.files_);
  return files;
}

const StaticFile* StaticFiles::find(const std::string& relative) const {
  auto it = files_.find(relative);
  return it == files_.end() ? nullptr : &it->second;
}

std::string StaticFiles::contentTypeOf(const std::string& path) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".webmanifest", "application/manifest+json"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [suffix, type] : kTypes)
    if (endsWith(path, suffix)) return type;
  if (endsWith(path, "LICENSE")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

std::string StaticFiles::etagOf(const std::string& bytes) {
  // FNV-1a, 64 bits, plus the length: the files change only with a deployment, so a collision
  // between two versions of one file is what matters, and that is 2^-64 unlikely.
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  char text[48];
  std::snprintf(text, sizeof text, "\"%016llx-%zx\"", static_cast<unsigned long long>(h),
                bytes.size());
  return text;
}

bool StaticFiles::noneMatchHits(const std::string& if_none_match, const std::string& etag) {
  std::size_t i = 0;
  const std::size_t n = if_none_match.size();
  while (i < n) {
    while (i < n &&
           (if_none_match[i] == ' ' || if_none_match[i] == '\t' || if_none_match[i] == ','))
      ++i;
    if (i >= n) break;
    if (if_none_match[i] == '*') return true;
    if (if_none_match.compare(i, 2, "W/") == 0) i += 2;   // weak comparison ignores the flag
    if (i >= n || if_none_match[i] != '"') return false;  // malformed: never a match
    const std::size_t close = if_none_match.find('"', i + 1);
    if (close == std::string::npos) return false;
    if (if_none_match.compare(i, close - i + 1, etag) == 0) return true;
    i = close + 1;
  }
  return false;
}

sdk::Response StaticFiles::serve(const StaticFile& file, const sdk::Request& request) {
  sdk::Response r;
  r.headers = {
      {"ETag", file.etag},
      // Revalidate every time: a deployment's new files show at once, and a 304 costs a header.
      {"Cache-Control", "no-cache"},
      {"Content-Security-Policy", kContentSecurityPolicy},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"Permissions-Policy", "microphone=(self), camera=(), geolocation=()"},
  };
  if (noneMatchHits(request.header("if-none-match"), file.etag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.content_type = file.content_type;
  r.body = file.body;
  return r;
}

}  // namespace parley::console
