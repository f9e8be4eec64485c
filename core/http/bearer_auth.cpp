#include "core/http/bearer_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include "Poco/Crypto/ECKey.h"
#include "Poco/Crypto/EVPPKey.h"
#include "Poco/Crypto/RSAKey.h"
#include "Poco/JWT/Signer.h"
#include "Poco/JWT/Token.h"

namespace parley::core {
namespace {

using Digest = std::array<unsigned char, 32>;
using MdPtr = std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

constexpr std::size_t kMinHs256SecretBytes = 32;  // RFC 7518 3.2: key >= hash output size
constexpr int kMinRsaBits = 2048;
// Real JWTs are far smaller; the cap bounds the decoding work an anonymous caller can trigger.
constexpr std::size_t kMaxJwtBytes = 8192;
constexpr std::string_view kSpaces = " \t";

std::string_view Trim(std::string_view text) {
  const std::size_t begin = text.find_first_not_of(kSpaces);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(kSpaces) - begin + 1);
}

AuthResult Accept(std::string subject, bool is_operator) {
  return {true, std::move(subject), is_operator, {}, {}, {}};
}

AuthResult Refuse(const char* code, std::string message) {
  return {false, {}, false, code, std::move(message), {}};
}

bool IsAlnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool IsBearerScheme(std::string_view scheme) {
  // ASCII-only folding: std::tolower would make the match depend on the process locale.
  constexpr std::string_view kBearer = "bearer";
  return scheme.size() == kBearer.size() &&
         std::equal(scheme.begin(), scheme.end(), kBearer.begin(), [](char c, char lower) {
           return (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c) == lower;
         });
}

// Header and payload must be non-empty; the signature may be empty so that alg "none" tokens
// reach the algorithm check and get a precise refusal instead of "unknown token".
bool LooksLikeJwt(std::string_view token) {
  if (token.size() > kMaxJwtBytes) return false;
  const std::size_t first = token.find('.');
  const std::size_t second = token.find('.', first + 1);
  if (first == 0 || first == std::string_view::npos || second == std::string_view::npos ||
      second == first + 1 || token.find('.', second + 1) != std::string_view::npos) {
    return false;
  }
  return std::all_of(token.begin(), token.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

[[noreturn]] void ThrowKeyError(const std::string& path, const std::string& problem) {
  throw std::invalid_argument("BearerAuth: public_key_file '" + path + "' " + problem);
}

// Loads the verification key into signer and returns the JWS algorithm it enables.
std::string InstallPublicKey(const std::string& path, Poco::JWT::Signer& signer) {
  std::ifstream in(path, std::ios::binary);
  if (!in) ThrowKeyError(path, std::string("cannot be opened: ") + std::strerror(errno));
  const std::string pem{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (pem.empty() || pem.size() > (1u << 20)) ThrowKeyError(path, "is empty, unreadable or huge");

  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr, &EVP_PKEY_free);
  BIO_free(bio);
  // Leave no parse errors on this thread's OpenSSL queue for unrelated TLS code to trip over.
  ERR_clear_error();
  if (!key) {
    ThrowKeyError(path, pem.find("PRIVATE KEY-----") == std::string::npos
                            ? "does not contain a PEM public key (-----BEGIN PUBLIC KEY-----)"
                            : "holds a private key; use its public half (openssl pkey -pubout)");
  }

  const int type = EVP_PKEY_base_id(key.get());
  if (type == EVP_PKEY_RSA) {
    if (EVP_PKEY_bits(key.get()) < kMinRsaBits) {
      ThrowKeyError(path, "holds a " + std::to_string(EVP_PKEY_bits(key.get())) +
                              "-bit RSA key; RS256 needs at least 2048 bits");
    }
    signer.setRSAKey(Poco::SharedPtr<Poco::Crypto::RSAKey>(
        new Poco::Crypto::RSAKey(Poco::Crypto::EVPPKey(key.get()))));
    return Poco::JWT::Signer::ALGO_RS256;
  }
  if (type == EVP_PKEY_EC) {
    char curve[64] = {};
    if (EVP_PKEY_get_group_name(key.get(), curve, sizeof(curve), nullptr) != 1 ||
        OBJ_txt2nid(curve) != NID_X9_62_prime256v1) {
      ThrowKeyError(path, std::string("holds an EC key on curve '") + curve +
                              "'; ES256 needs P-256 (prime256v1)");
    }
    signer.setECKey(Poco::SharedPtr<Poco::Crypto::ECKey>(
        new Poco::Crypto::ECKey(Poco::Crypto::EVPPKey(key.get()))));
    return Poco::JWT::Signer::ALGO_ES256;
  }
  const char* name = EVP_PKEY_get0_type_name(key.get());
  ThrowKeyError(path, std::string("holds a ") + (name ? name : "unknown") +
                          " key; only RSA (RS256) and EC P-256 (ES256) are supported");
}

}  // namespace

struct BearerAuth::Impl {
  MdPtr sha256{nullptr, &EVP_MD_free};
  std::vector<Digest> operator_digests;
  std::string hs256_secret;
  std::string key_alg;  // "RS256", "ES256" or "" according to public_key_file
  int leeway_sec = 0;
  Poco::JWT::Signer signer;  // key_alg only; HS256 goes through VerifyHs256

  // Every request with a token hashes it. EVP_Digest would make (and free) a digest context and
  // its provider state each time, five allocations; each thread keeps one context instead.
  bool Hash(std::string_view data, Digest& out) const {
    using CtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
    static thread_local CtxPtr ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    return ctx && EVP_DigestInit_ex2(ctx.get(), sha256.get(), nullptr) == 1 &&
           EVP_DigestUpdate(ctx.get(), data.data(), data.size()) == 1 &&
           EVP_DigestFinal_ex(ctx.get(), out.data(), nullptr) == 1;
  }

  bool MatchesOperator(std::string_view token) const {
    Digest presented;
    if (operator_digests.empty() || !Hash(token, presented)) return false;
    // Fixed-size digests, every entry visited, results OR-ed: timing reveals neither the
    // configured lengths nor which entry matched.
    unsigned matched = 0;
    for (const Digest& digest : operator_digests) {
      matched |= static_cast<unsigned>(CRYPTO_memcmp(digest.data(), presented.data(), 32) == 0);
    }
    return matched != 0;
  }

  // Poco's HS256 verifier compares MACs with operator==; RFC 7518 3.2 demands a constant-time
  // comparison, so the MAC is checked here instead.
  bool VerifyHs256(std::string_view jwt) const {
    const std::size_t dot = jwt.rfind('.');
    const std::string_view sig = jwt.substr(dot + 1);
    if (sig.size() != 43) return false;  // unpadded base64url of a 32-byte MAC
    // Decode as standard base64 (the one '=' restored) into stack buffers.
    unsigned char b64[44];
    std::transform(sig.begin(), sig.end(), b64, [](char c) -> unsigned char {
      return c == '-' ? '+' : c == '_' ? '/' : c;
    });
    b64[43] = '=';
    unsigned char presented[33];
    Digest expected;
    return EVP_DecodeBlock(presented, b64, sizeof(b64)) == sizeof(presented) &&
           HMAC(sha256.get(), hs256_secret.data(), static_cast<int>(hs256_secret.size()),
                reinterpret_cast<const unsigned char*>(jwt.data()), dot, expected.data(),
                nullptr) != nullptr &&
           CRYPTO_memcmp(presented, expected.data(), expected.size()) == 0;
  }

  AuthResult CheckClaims(const Poco::JSON::Object& claims) const {
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const Poco::Dynamic::Var exp = claims.get("exp");
    const Poco::Dynamic::Var nbf = claims.get("nbf");
    if ((claims.has("exp") && !exp.isNumeric()) || (claims.has("nbf") && !nbf.isNumeric())) {
      return Refuse("malformed_token", "The token's exp or nbf claim is not a number.");
    }
    if (claims.has("exp") && now > exp.convert<double>() + leeway_sec) {
      return Refuse("token_expired", "The token has expired.");
    }
    if (claims.has("nbf") && now < nbf.convert<double>() - leeway_sec) {
      return Refuse("token_not_yet_valid", "The token is not valid yet (nbf is in the future).");
    }
    const Poco::Dynamic::Var sub = claims.get("sub");
    if (!sub.isString() || sub.extract<std::string>().empty()) {
      return Refuse("missing_subject", "The token has no non-empty sub (subject) claim.");
    }
    AuthResult accepted = Accept(sub.extract<std::string>(), false);
    // Plugins read the claims (a room binding, a role) through the SDK's JSON, not Poco's.
    std::ostringstream text;
    claims.stringify(text);
    sdk::json::parse(text.str(), accepted.claims);
    return accepted;
  }

  AuthResult VerifyJwt(std::string_view token) const {
    const std::string jwt(token);
    Poco::JWT::Token parsed;
    try {
      parsed = Poco::JWT::Token(jwt);  // decodes header and payload; nothing is trusted yet
    } catch (const std::exception&) {
      return Refuse("malformed_token", "The token's header or payload is not base64url JSON.");
    }
    const Poco::Dynamic::Var alg_var = parsed.header().get("alg");
    if (!alg_var.isString()) return Refuse("malformed_token", "The token header has no alg.");
    const std::string alg = alg_var.extract<std::string>();
    const bool accepted =
        (alg == "HS256" && !hs256_secret.empty()) || (!alg.empty() && alg == key_alg);
    if (!accepted) {
      // alg is caller-controlled and messages reach logs, so only plain names are echoed.
      const bool plain = alg.size() <= 16 && std::all_of(alg.begin(), alg.end(), IsAlnum);
      return Refuse("unsupported_algorithm", "The signing algorithm " +
                                                 (plain ? '"' + alg + '"' : "in the token") +
                                                 " is not accepted.");
    }
    try {
      // The signer's own allow-list repeats the alg check, so nothing else can slip through.
      if (alg == "HS256" ? VerifyHs256(token) : signer.tryVerify(jwt, parsed)) {
        return CheckClaims(parsed.payload());
      }
    } catch (const std::exception&) {
      // Poco throws for some impossible signatures (e.g. an odd-length ES256 one); CheckClaims
      // reads only type-checked values, so a throw here means the signature was unusable.
    }
    return Refuse("bad_signature", "The token's signature is not valid.");
  }
};

BearerAuth::BearerAuth(const BearerAuthConfig& config) : impl_(std::make_unique<Impl>()) {
  if (!config.hs256_secret.empty() && config.hs256_secret.size() < kMinHs256SecretBytes) {
    throw std::invalid_argument("BearerAuth: hs256_secret is " +
                                std::to_string(config.hs256_secret.size()) +
                                " bytes; HS256 needs at least 32");
  }
  impl_->leeway_sec = config.leeway_sec;
  impl_->hs256_secret = config.hs256_secret;
  impl_->sha256.reset(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  if (!impl_->sha256) throw std::runtime_error("BearerAuth: OpenSSL provides no SHA-256");
  for (const std::string& token : config.operator_tokens) {
    if (token.empty()) continue;  // an empty presented token is refused before matching anyway
    Digest digest;
    if (!impl_->Hash(token, digest)) throw std::runtime_error("BearerAuth: SHA-256 failed");
    impl_->operator_digests.push_back(digest);
  }
  if (!config.public_key_file.empty()) {
    impl_->key_alg = InstallPublicKey(config.public_key_file, impl_->signer);
    impl_->signer.setAlgorithms({impl_->key_alg});
  }
}

BearerAuth::~BearerAuth() = default;

AuthResult BearerAuth::authenticateHeader(std::string_view header) const {
  header = Trim(header);
  if (header.empty()) return Refuse("missing_token", "The request has no Authorization header.");
  const std::size_t scheme_end = std::min(header.find_first_of(kSpaces), header.size());
  if (!IsBearerScheme(header.substr(0, scheme_end))) {
    return Refuse("missing_token", "The Authorization header must use the Bearer scheme.");
  }
  const std::string_view token = Trim(header.substr(scheme_end));
  if (token.empty()) {
    return Refuse("missing_token", "The Authorization header uses Bearer but carries no token.");
  }
  return authenticateToken(token);
}

AuthResult BearerAuth::authenticateToken(std::string_view token) const {
  if (token.empty()) return Refuse("missing_token", "No bearer token was provided.");
  // Operator tokens first: this is the monitoring hot path and must stay cheap.
  if (impl_->MatchesOperator(token)) return Accept("operator", true);
  if (!LooksLikeJwt(token)) {
    return Refuse("unknown_token", "The token does not match any accepted credential.");
  }
  if (!jwtEnabled()) {
    return Refuse("unknown_token",
                  "The token looks like a JWT, but JWT authentication is not configured.");
  }
  return impl_->VerifyJwt(token);
}

bool BearerAuth::jwtEnabled() const {
  return !impl_->hs256_secret.empty() || !impl_->key_alg.empty();
}

}  // namespace parley::core
