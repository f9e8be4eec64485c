#include "core/http/response.hpp"

#include <charconv>
#include <ctime>

namespace parley::core {

namespace {

// The Date header changes once a second; each thread formats it then, not per response.
std::string_view httpDate() {
  thread_local std::time_t cached_second = 0;
  thread_local char text[40];
  thread_local std::size_t size = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    size = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  }
  return {text, size};
}

bool safe(std::string_view s) {
  for (char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

}  // namespace

const char* reasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
  }
}

void appendResponse(std::string& out, const sdk::Response& r, bool head_only,
                    ConnectionHeader connection) {
  const int status = r.status >= 100 && r.status <= 599 ? r.status : 500;
  char number[24];
  out += "HTTP/1.1 ";
  out.append(number, std::to_chars(number, number + sizeof number, status).ptr);
  out += ' ';
  out += reasonPhrase(status);
  out += "\r\nServer: parleyd\r\nDate: ";
  out += httpDate();
  const bool bodyless = status < 200 || status == 204 || status == 304;
  if (!bodyless) {
    if (!r.content_type.empty() && safe(r.content_type)) {
      out += "\r\nContent-Type: ";
      out += r.content_type;
    }
    out += "\r\nContent-Length: ";
    out.append(number, std::to_chars(number, number + sizeof number, r.body.size()).ptr);
  }
  if (connection == ConnectionHeader::kClose) out += "\r\nConnection: close";
  if (connection == ConnectionHeader::kKeepAlive) out += "\r\nConnection: keep-alive";
  for (const auto& [name, value] : r.headers) {
    if (name.empty() || !safe(name) || !safe(value)) continue;
    out += "\r\n";
    out += name;
    out += ": ";
    out += value;
  }
  out += "\r\n\r\n";
  if (!head_only && !bodyless) out += r.body;
}

}  // namespace parley::core
