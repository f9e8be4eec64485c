// Since SDK 1.2. Who may come in, beyond the core's own bearer tokens (operator tokens and JWTs,
// which stay in the core): credential verifiers that plugins add (share tokens), and admission
// checks on websocket upgrades (a JWT bound to its rooms).
#pragma once

#include <functional>
#include <string>

#include "parley/sdk/export.hpp"
#include "parley/sdk/http.hpp"
#include "parley/sdk/json.hpp"
#include "parley/sdk/registration.hpp"

namespace parley::sdk {

// What a verifier or an admission check decided.
struct Grant {
  bool ok = false;
  // When ok:
  std::string subject;      // who this is, for SessionInfo::user and Request::principal
  std::string participant;  // set: the session's participant, whatever the query says
  json::Value claims;       // what else the credential says (Session::claims())
  // When not ok: the answer, {"error":{"code","message"}} with this status.
  int status = 403;
  std::string code = "forbidden";
  std::string message;

  static Grant allow(std::string subject) {
    Grant g;
    g.ok = true;
    g.subject = std::move(subject);
    return g;
  }
  static Grant refuse(int status, std::string code, std::string message) {
    Grant g;
    g.status = status;
    g.code = std::move(code);
    g.message = std::move(message);
    return g;
  }
};

// A request as a verifier or admission check sees it.
struct Credentials {
  std::string path;       // decoded
  const Fields& query;    // decoded, every parameter
  const Fields& headers;  // names lower-cased
};

// A websocket session about to be admitted: who the credentials say it is.
struct Admission {
  const Credentials& request;
  std::string subject;
  bool is_operator = false;
  std::string participant;    // as it will be
  const json::Value& claims;  // the JWT's payload or the verifier's claims; null for operators
};

class PARLEY_SDK_API Access {
 public:
  using Verifier = std::function<Grant(const Credentials& request)>;
  using AdmissionCheck = std::function<Grant(const Admission& admission)>;

  virtual ~Access();
  // A websocket upgrade whose query carries `param` (e.g. "share") is let in by `verify` alone,
  // whether or not it carries a bearer token; so is a request to a route registered with
  // RouteSpec::verifier = `param`. `param` is removed from the query websocket sessions see. One
  // verifier per parameter. Runs on the worker pool, where it may block (read its store): the
  // upgrade or request waits for it without holding an event loop. Then, for an upgrade, the
  // admission checks run there too; a route's handler runs after it on the pool.
  virtual Registration addVerifier(const std::string& param, Verifier verify) = 0;
  // Runs for every websocket upgrade after its credentials were accepted; a refusal (its status
  // and JSON error) is the answer to the upgrade. Runs on an event loop (or on the worker pool,
  // after a verifier): it must not block.
  virtual Registration addAdmissionCheck(AdmissionCheck check) = 0;
};

}  // namespace parley::sdk
