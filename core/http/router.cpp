#include "core/http/router.hpp"

#include <algorithm>
#include <mutex>

#include "core/http/url.hpp"
#include "core/runtime/names.hpp"
#include "parley/sdk/errors.hpp"

namespace parley::core {

namespace {

std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    parts.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

bool isCapture(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

void appendAllow(std::string& allow, const std::string& method) {
  if (allow.find(method) != std::string::npos) return;
  if (!allow.empty()) allow += ", ";
  allow += method;
}

}  // namespace

std::shared_ptr<sdk::Revoker> Router::add(const std::string& owner, const std::string& method,
                                          const std::string& pattern, sdk::AuthPolicy auth,
                                          sdk::Handler handler, sdk::RunOn where,
                                          const std::string& verifier) {
  static const char* const kMethods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
  const std::string who = "route " + method + " " + pattern + " (from '" + owner + "')";
  if (std::none_of(std::begin(kMethods), std::end(kMethods),
                   [&](const char* m) { return method == m; }))
    throw sdk::RegistrationError(who + ": unsupported method");
  if (pattern.empty() || pattern[0] != '/')
    throw sdk::RegistrationError(who + ": a pattern starts with '/'");
  if (!handler) throw sdk::RegistrationError(who + ": the handler is empty");

  auto route = std::make_shared<Route>();
  route->owner = owner;
  route->method = method;
  route->pattern = pattern;
  route->auth = auth;
  route->handler = std::move(handler);
  route->where = where;
  route->verifier = verifier;
  bool literal = true;
  for (std::string_view seg : splitPath(pattern)) {
    if (isCapture(seg)) {
      if (!isSnakeName(seg.substr(1, seg.size() - 2)))
        throw sdk::RegistrationError(who + ": capture " + std::string(seg) +
                                     " is not a valid name ([a-z][a-z0-9_]*)");
      literal = false;
    } else if (seg.find_first_of("{}") != std::string_view::npos) {
      throw sdk::RegistrationError(who + ": '" + std::string(seg) +
                                   "' is not a whole-segment capture");
    }
    route->segments.emplace_back(seg);
  }

  std::unique_lock lock(mutex_);
  auto clash = [&](const std::shared_ptr<Route>& r) {
    return r->method == method && r->segments.size() == route->segments.size() &&
           std::equal(r->segments.begin(), r->segments.end(), route->segments.begin(),
                      [](const std::string& a, const std::string& b) {
                        return a == b || (isCapture(a) && isCapture(b));
                      });
  };
  auto check = [&](const std::vector<std::shared_ptr<Route>>& list) {
    for (const auto& r : list)
      if (clash(r))
        throw sdk::RegistrationError(who + ": already registered by '" + r->owner + "' as " +
                                     r->pattern);
  };
  check(patterns_);
  for (const auto& [path, list] : literal_) check(list);
  if (literal)
    literal_[pattern].push_back(route);
  else
    patterns_.push_back(route);

  return std::make_shared<sdk::Revoker>([this, raw = route.get()] { remove(raw); });
}

void Router::remove(const Route* route) {
  std::shared_ptr<Route> keep;
  {
    std::unique_lock lock(mutex_);
    auto take = [&](std::vector<std::shared_ptr<Route>>& list) {
      for (auto it = list.begin(); it != list.end(); ++it)
        if (it->get() == route) {
          keep = *it;
          list.erase(it);
          return;
        }
    };
    take(patterns_);
    auto it = literal_.find(route->pattern);
    if (it != literal_.end()) {
      take(it->second);
      if (it->second.empty()) literal_.erase(it);
    }
  }
  if (keep) keep->gate.close();
}

bool Router::matches(const Route& route, const std::vector<std::string>& parts,
                     sdk::Fields* params) {
  if (route.segments.size() != parts.size()) return false;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& seg = route.segments[i];
    if (isCapture(seg)) {
      if (parts[i].empty()) return false;
    } else if (seg != parts[i]) {
      return false;
    }
  }
  if (params)
    for (std::size_t i = 0; i < parts.size(); ++i)
      if (isCapture(route.segments[i]))
        params->emplace_back(route.segments[i].substr(1, route.segments[i].size() - 2), parts[i]);
  return true;
}

Router::Match Router::match(std::string_view method, std::string_view raw_path) const {
  Match m;
  if (raw_path.empty() || raw_path[0] != '/') {
    m.outcome = Outcome::kBadPath;
    return m;
  }
  // Decoded segment by segment; a segment holding a decoded '/' can match no literal route. The
  // common case, nothing encoded, needs no decoding at all.
  std::vector<std::string> parts;
  bool slash_inside = false;
  if (raw_path.find('%') == std::string_view::npos) {
    m.path.assign(raw_path);
  } else {
    for (std::string_view raw : splitPath(raw_path)) {
      std::string part;
      if (!percentDecode(raw, part, false)) {
        m.outcome = Outcome::kBadPath;
        return m;
      }
      slash_inside = slash_inside || part.find('/') != std::string::npos;
      m.path += '/';
      m.path += part;
      parts.push_back(std::move(part));
    }
  }
  std::shared_lock lock(mutex_);
  auto it = slash_inside ? literal_.end() : literal_.find(m.path);
  if (it != literal_.end()) {
    for (const auto& r : it->second) {
      if (r->method == method) {
        m.outcome = Outcome::kFound;
        m.route = r;
        return m;
      }
      appendAllow(m.allow, r->method);
    }
  }
  if (!patterns_.empty() && parts.empty())
    for (std::string_view raw : splitPath(raw_path)) parts.emplace_back(raw);
  for (const auto& r : patterns_) {
    if (!matches(*r, parts, nullptr)) continue;
    if (r->method == method) {
      m.outcome = Outcome::kFound;
      m.route = r;
      matches(*r, parts, &m.params);
      return m;
    }
    appendAllow(m.allow, r->method);
  }
  if (!m.allow.empty()) m.outcome = Outcome::kMethodNotAllowed;
  return m;
}

}  // namespace parley::core
