#include "tests/support/http_client.hpp"
#include "tests/support/parleyd_process.hpp"

#include <Poco/JSON/Parser.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timestamp.h>

#include <sstream>

namespace parley::test {

std::string HttpResult::header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (Poco::icompare(k, name) == 0) return v;
  return {};
}

Poco::JSON::Object::Ptr HttpResult::json() const {
  Poco::JSON::Parser parser;
  return parser.parse(body).extract<Poco::JSON::Object::Ptr>();
}

HttpResult http(std::uint16_t port, const std::string& method, const std::string& path,
                const std::map<std::string, std::string>& headers, const std::string& body) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == "POST")
    req.setContentLength(static_cast<std::streamsize>(body.size()));
  session.sendRequest(req) << body;
  Poco::Net::HTTPResponse resp;
  std::istream& in = session.receiveResponse(resp);
  HttpResult r;
  r.status = resp.getStatus();
  Poco::StreamCopier::copyToString(in, r.body);
  for (const auto& [k, v] : resp) r.headers[k] = v;
  return r;
}

std::map<std::string, std::string> bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

std::string hs256Jwt(const std::string& secret, const std::string& sub, long exp_offset_sec) {
  return hs256Jwt(secret, sub, Poco::JSON::Object::Ptr(), exp_offset_sec);
}

std::string hs256Jwt(const std::string& secret, const std::string& sub,
                     const Poco::JSON::Object::Ptr& claims, long exp_offset_sec) {
  Poco::JWT::Token token;
  token.setType("JWT");
  token.setSubject(sub);
  if (claims)
    for (const auto& [name, value] : *claims) token.payload().set(name, value);
  Poco::Timestamp exp;
  exp += static_cast<Poco::Timestamp::TimeDiff>(exp_offset_sec) * Poco::Timestamp::resolution();
  token.setExpiration(exp);
  Poco::JWT::Signer signer(secret);
  return signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
}

std::string rawExchange(std::uint16_t port, const std::string& bytes, int timeout_ms) {
  Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", port));
  s.setReceiveTimeout(Poco::Timespan(static_cast<long>(timeout_ms) * 1000));
  std::string out;
  try {
    if (!bytes.empty()) s.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
    char buf[4096];
    int n;
    while ((n = s.receiveBytes(buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  } catch (const Poco::TimeoutException&) {
  } catch (const Poco::Net::NetException&) {
  }
  return out;
}

Poco::JSON::Object::Ptr systemMetrics(std::uint16_t port) {
  return get(port, "/api/system/metrics", bearer(kOperatorToken)).json();
}

}  // namespace parley::test
