#include "core/http/bearer_auth.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

#include "Poco/Base64Encoder.h"
#include "Poco/Crypto/ECKey.h"
#include "Poco/Crypto/RSAKey.h"
#include "Poco/JWT/Signer.h"
#include "Poco/JWT/Token.h"

namespace parley::core {
namespace {

namespace fs = std::filesystem;
using Poco::Crypto::ECKey;
using Poco::Crypto::RSAKey;

const std::string kSecret = "0123456789abcdef0123456789abcdef-hs256";
const std::string kOtherSecret = "fedcba9876543210fedcba9876543210-hs256";
const std::string kOperatorToken = "op-monitoring-7f3a9c1e55d04b2a";

// Failures show up at the calling line, with the offending message, instead of in a helper.
::testing::AssertionResult Refused(const AuthResult& result, const std::string& code,
                                   const std::string& token) {
  if (result.ok) return ::testing::AssertionFailure() << "accepted, subject=" << result.subject;
  if (result.code != code) {
    return ::testing::AssertionFailure()
           << "code " << result.code << " (want " << code << "): " << result.message;
  }
  if (result.message.empty()) return ::testing::AssertionFailure() << "empty message";
  if (!token.empty() && result.message.find(token) != std::string::npos) {
    return ::testing::AssertionFailure() << "message leaks the token: " << result.message;
  }
  if (result.is_operator || !result.subject.empty()) {
    return ::testing::AssertionFailure() << "refusal carries an identity";
  }
  return ::testing::AssertionSuccess();
}

std::string Base64Url(const std::string& data) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
  encoder.rdbuf()->setLineLength(0);
  encoder << data;
  encoder.close();
  return out.str();
}

// Claims relative to now; nullopt leaves the claim out.
Poco::JWT::Token Claims(const std::string& sub, std::optional<long> exp_in = 3600,
                        std::optional<long> nbf_in = std::nullopt) {
  Poco::JWT::Token token;
  if (!sub.empty()) token.setSubject(sub);
  const Poco::Int64 now = std::time(nullptr);
  if (exp_in) token.payload().set("exp", now + *exp_in);
  if (nbf_in) token.payload().set("nbf", now + *nbf_in);
  return token;
}

std::string SignHmac(Poco::JWT::Token token, const std::string& secret,
                     const std::string& alg = "HS256") {
  return Poco::JWT::Signer(secret).sign(token, alg);
}

class BearerAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "bearer_auth_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    rsa_ = std::make_unique<RSAKey>(RSAKey::KL_2048, RSAKey::EXP_LARGE);
    rsa_other_ = std::make_unique<RSAKey>(RSAKey::KL_2048, RSAKey::EXP_LARGE);
    ec_ = std::make_unique<ECKey>("prime256v1");
    ec_other_ = std::make_unique<ECKey>("prime256v1");
    rsa_->save(Path("rsa.pub"), Path("rsa.key"));
    ec_->save(Path("ec.pub"));
    RSAKey(RSAKey::KL_1024, RSAKey::EXP_LARGE).save(Path("rsa1024.pub"));
    ECKey("secp384r1").save(Path("ec384.pub"));
    Write("garbage.pem",
          "-----BEGIN PUBLIC KEY-----\nnot base64 at all!\n-----END PUBLIC KEY-----\n");
    // Public keys are not secrets; Poco cannot generate Ed25519, so a fixed one is used.
    Write("ed25519.pub",
          "-----BEGIN PUBLIC KEY-----\n"
          "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
          "-----END PUBLIC KEY-----\n");
  }

  static void TearDownTestSuite() {
    rsa_.reset();
    rsa_other_.reset();
    ec_.reset();
    ec_other_.reset();
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  static std::string Path(const std::string& name) { return (dir_ / name).string(); }

  static void Write(const std::string& name, const std::string& contents) {
    std::ofstream(Path(name)) << contents;
  }

  static BearerAuth WithSecret() {
    BearerAuthConfig config;
    config.operator_tokens = {kOperatorToken};
    config.hs256_secret = kSecret;
    return BearerAuth(config);
  }

  static BearerAuth WithKey(const std::string& key_file) {
    BearerAuthConfig config;
    config.public_key_file = Path(key_file);
    return BearerAuth(config);
  }

  static std::string SignRsa(Poco::JWT::Token token, const RSAKey& key) {
    return Poco::JWT::Signer(Poco::SharedPtr<RSAKey>(new RSAKey(key))).sign(token, "RS256");
  }

  static std::string SignEc(Poco::JWT::Token token, const ECKey& key) {
    return Poco::JWT::Signer(Poco::SharedPtr<ECKey>(new ECKey(key))).sign(token, "ES256");
  }

  // Generated once: RSA key generation dominates the suite's run time.
  static inline fs::path dir_;
  static inline std::unique_ptr<RSAKey> rsa_;
  static inline std::unique_ptr<RSAKey> rsa_other_;
  static inline std::unique_ptr<ECKey> ec_;
  static inline std::unique_ptr<ECKey> ec_other_;
};

// ---- Authorization header handling ----

TEST_F(BearerAuthTest, MissingHeaderIsMissingToken) {
  const BearerAuth auth = WithSecret();
  EXPECT_TRUE(Refused(auth.authenticateHeader(""), "missing_token", ""));
  EXPECT_TRUE(Refused(auth.authenticateHeader("  \t "), "missing_token", ""));
}

TEST_F(BearerAuthTest, WrongSchemeIsMissingTokenAndNamesBearer) {
  const BearerAuth auth = WithSecret();
  const AuthResult result = auth.authenticateHeader("Basic dXNlcjpwYXNz");
  EXPECT_TRUE(Refused(result, "missing_token", "dXNlcjpwYXNz"));
  EXPECT_NE(result.message.find("Bearer"), std::string::npos) << result.message;
  EXPECT_TRUE(Refused(auth.authenticateHeader("Bearerish " + kOperatorToken), "missing_token",
                      kOperatorToken));
}

TEST_F(BearerAuthTest, BearerWithoutTokenIsMissingToken) {
  const BearerAuth auth = WithSecret();
  EXPECT_TRUE(Refused(auth.authenticateHeader("Bearer"), "missing_token", ""));
  EXPECT_TRUE(Refused(auth.authenticateHeader("Bearer   \t"), "missing_token", ""));
  EXPECT_TRUE(Refused(auth.authenticateToken(""), "missing_token", ""));
}

// ---- Operator tokens ----

TEST_F(BearerAuthTest, OperatorTokenAccepted) {
  const BearerAuth auth = WithSecret();
  for (const std::string& header : {"Bearer " + kOperatorToken, "bearer " + kOperatorToken,
                                    "  BEARER \t " + kOperatorToken + "  "}) {
    const AuthResult result = auth.authenticateHeader(header);
    EXPECT_TRUE(result.ok) << header << ": " << result.message;
    EXPECT_TRUE(result.is_operator);
    EXPECT_EQ(result.subject, "operator");
    EXPECT_TRUE(result.code.empty());
  }
  EXPECT_TRUE(auth.authenticateToken(kOperatorToken).is_operator);
}

TEST_F(BearerAuthTest, EveryConfiguredOperatorTokenIsAccepted) {
  BearerAuthConfig config;
  config.operator_tokens = {"first-token-aaaaaaaa", "", "second-token-bbbbbbbbbbbbbbbbbbbbbb"};
  const BearerAuth auth(config);
  EXPECT_TRUE(auth.authenticateToken("first-token-aaaaaaaa").is_operator);
  EXPECT_TRUE(auth.authenticateToken("second-token-bbbbbbbbbbbbbbbbbbbbbb").is_operator);
  EXPECT_FALSE(auth.jwtEnabled());
}

TEST_F(BearerAuthTest, UnknownOperatorLikeTokenIsUnknownToken) {
  const BearerAuth auth = WithSecret();
  for (const std::string& token :
       {std::string("op-monitoring-wrong"), kOperatorToken + "x", kOperatorToken.substr(1)}) {
    EXPECT_TRUE(Refused(auth.authenticateHeader("Bearer " + token), "unknown_token", token));
  }
}

// ---- JWT: HS256 ----

TEST_F(BearerAuthTest, Hs256ValidTokenAccepted) {
  const BearerAuth auth = WithSecret();
  EXPECT_TRUE(auth.jwtEnabled());
  const AuthResult result = auth.authenticateHeader("Bearer " + SignHmac(Claims("alice"), kSecret));
  EXPECT_TRUE(result.ok) << result.message;
  EXPECT_EQ(result.subject, "alice");
  EXPECT_FALSE(result.is_operator);
  EXPECT_TRUE(result.code.empty());
}

TEST_F(BearerAuthTest, Hs256WrongSecretIsBadSignature) {
  const std::string token = SignHmac(Claims("alice"), kOtherSecret);
  EXPECT_TRUE(Refused(WithSecret().authenticateToken(token), "bad_signature", token));
}

TEST_F(BearerAuthTest, TamperedPayloadIsBadSignature) {
  const std::string original = SignHmac(Claims("alice"), kSecret);
  const std::size_t first = original.find('.');
  const std::size_t second = original.find('.', first + 1);
  const std::string token =
      original.substr(0, first + 1) + Base64Url(R"({"sub":"admin"})") + original.substr(second);
  EXPECT_TRUE(Refused(WithSecret().authenticateToken(token), "bad_signature", token));
}

TEST_F(BearerAuthTest, Hs256SignatureOfWrongLengthIsBadSignature) {
  const std::string valid = SignHmac(Claims("alice"), kSecret);
  const std::string unsigned_part = valid.substr(0, valid.rfind('.') + 1);
  for (const std::string& token : {valid.substr(0, valid.size() - 1), valid + "AAAA", unsigned_part,
                                   unsigned_part + std::string(400, 'A')}) {
    EXPECT_TRUE(Refused(WithSecret().authenticateToken(token), "bad_signature", token));
  }
}

TEST_F(BearerAuthTest, AlgNoneIsUnsupportedAlgorithm) {
  const std::string token =
      Base64Url(R"({"alg":"none","typ":"JWT"})") + "." + Base64Url(R"({"sub":"mallory"})") + ".";
  const AuthResult result = WithSecret().authenticateToken(token);
  EXPECT_TRUE(Refused(result, "unsupported_algorithm", token));
  EXPECT_NE(result.message.find("none"), std::string::npos) << result.message;
}

TEST_F(BearerAuthTest, Hs512IsUnsupportedAlgorithm) {
  const std::string token = SignHmac(Claims("alice"), kSecret, "HS512");
  const AuthResult result = WithSecret().authenticateToken(token);
  EXPECT_TRUE(Refused(result, "unsupported_algorithm", token));
  EXPECT_NE(result.message.find("HS512"), std::string::npos) << result.message;
}

TEST_F(BearerAuthTest, Hs256IsUnsupportedWhenOnlyAPublicKeyIsConfigured) {
  // Guards against alg confusion: an HS256 token must not be checked against the RSA key.
  const std::string token = SignHmac(Claims("alice"), kSecret);
  EXPECT_TRUE(Refused(WithKey("rsa.pub").authenticateToken(token), "unsupported_algorithm", token));
}

TEST_F(BearerAuthTest, JwtWithoutJwtConfiguredIsUnknownToken) {
  BearerAuthConfig config;
  config.operator_tokens = {kOperatorToken};
  const BearerAuth auth(config);
  const std::string token = SignHmac(Claims("alice"), kSecret);
  const AuthResult result = auth.authenticateToken(token);
  EXPECT_TRUE(Refused(result, "unknown_token", token));
  EXPECT_NE(result.message.find("JWT"), std::string::npos) << result.message;
}

// ---- JWT: claims ----

TEST_F(BearerAuthTest, ExpiredTokenIsTokenExpired) {
  const std::string token = SignHmac(Claims("alice", -60), kSecret);
  EXPECT_TRUE(Refused(WithSecret().authenticateToken(token), "token_expired", token));
}

TEST_F(BearerAuthTest, FutureNbfIsTokenNotYetValid) {
  const std::string token = SignHmac(Claims("alice", 3600, 600), kSecret);
  EXPECT_TRUE(Refused(WithSecret().authenticateToken(token), "token_not_yet_valid", token));
}

TEST_F(BearerAuthTest, LeewayAllowsSlightClockSkewOnly) {
  BearerAuthConfig config;
  config.hs256_secret = kSecret;
  config.leeway_sec = 30;
  const BearerAuth auth(config);
  EXPECT_TRUE(auth.authenticateToken(SignHmac(Claims("alice", -10), kSecret)).ok);
  EXPECT_TRUE(auth.authenticateToken(SignHmac(Claims("alice", 3600, 10), kSecret)).ok);
  const std::string expired = SignHmac(Claims("alice", -120), kSecret);
  EXPECT_TRUE(Refused(auth.authenticateToken(expired), "token_expired", expired));
}

TEST_F(BearerAuthTest, TokenWithoutExpIsAccepted) {
  EXPECT_TRUE(WithSecret().authenticateToken(SignHmac(Claims("alice", std::nullopt), kSecret)).ok);
}

TEST_F(BearerAuthTest, MissingSubjectIsMissingSubject) {
  const std::string token = SignHmac(Claims(""), kSecret);
  EXPECT_TRUE(Refused(WithSecret().authenticateToken(token), "missing_subject", token));
  Poco::JWT::Token empty_sub = Claims("");
  empty_sub.payload().set("sub", std::string());
  const std::string empty = SignHmac(empty_sub, kSecret);
  EXPECT_TRUE(Refused(WithSecret().authenticateToken(empty), "missing_subject", empty));
}

TEST_F(BearerAuthTest, NonNumericExpIsMalformedToken) {
  Poco::JWT::Token claims = Claims("alice", std::nullopt);
  claims.payload().set("exp", std::string("tomorrow"));
  const std::string token = SignHmac(claims, kSecret);
  EXPECT_TRUE(Refused(WithSecret().authenticateToken(token), "malformed_token", token));
}

TEST_F(BearerAuthTest, GarbageJwtIsMalformedToken) {
  EXPECT_TRUE(Refused(WithSecret().authenticateHeader("Bearer a.b.c"), "malformed_token", "a.b.c"));
  const std::string not_json = Base64Url("{not json") + "." + Base64Url("{}") + ".sig";
  EXPECT_TRUE(Refused(WithSecret().authenticateToken(not_json), "malformed_token", not_json));
  const std::string no_alg = Base64Url(R"({"typ":"JWT"})") + "." + Base64Url("{}") + ".sig";
  EXPECT_TRUE(Refused(WithSecret().authenticateToken(no_alg), "malformed_token", no_alg));
}

// ---- JWT: RS256 / ES256 ----

TEST_F(BearerAuthTest, Rs256ValidTokenAccepted) {
  const BearerAuth auth = WithKey("rsa.pub");
  EXPECT_TRUE(auth.jwtEnabled());
  const AuthResult result = auth.authenticateToken(SignRsa(Claims("bob"), *rsa_));
  EXPECT_TRUE(result.ok) << result.message;
  EXPECT_EQ(result.subject, "bob");
}

TEST_F(BearerAuthTest, Rs256WrongKeyIsBadSignature) {
  const std::string token = SignRsa(Claims("bob"), *rsa_other_);
  EXPECT_TRUE(Refused(WithKey("rsa.pub").authenticateToken(token), "bad_signature", token));
}

TEST_F(BearerAuthTest, Es256ValidTokenAccepted) {
  const AuthResult result = WithKey("ec.pub").authenticateToken(SignEc(Claims("carol"), *ec_));
  EXPECT_TRUE(result.ok) << result.message;
  EXPECT_EQ(result.subject, "carol");
}

TEST_F(BearerAuthTest, Es256WrongKeyIsBadSignature) {
  const std::string token = SignEc(Claims("carol"), *ec_other_);
  EXPECT_TRUE(Refused(WithKey("ec.pub").authenticateToken(token), "bad_signature", token));
}

TEST_F(BearerAuthTest, Rs256IsUnsupportedWithAnEcKey) {
  const std::string token = SignRsa(Claims("bob"), *rsa_);
  EXPECT_TRUE(Refused(WithKey("ec.pub").authenticateToken(token), "unsupported_algorithm", token));
}

// ---- Construction ----

// Runs the constructor and returns its std::invalid_argument message ("" if it did not throw).
std::string ConstructorError(const BearerAuthConfig& config) {
  try {
    BearerAuth auth(config);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST_F(BearerAuthTest, MissingKeyFileIsRejected) {
  BearerAuthConfig config;
  config.public_key_file = Path("does-not-exist.pem");
  const std::string error = ConstructorError(config);
  EXPECT_NE(error.find(config.public_key_file), std::string::npos) << error;
  EXPECT_NE(error.find("cannot be opened"), std::string::npos) << error;
}

TEST_F(BearerAuthTest, GarbageKeyFileIsRejected) {
  BearerAuthConfig config;
  config.public_key_file = Path("garbage.pem");
  const std::string error = ConstructorError(config);
  EXPECT_NE(error.find(config.public_key_file), std::string::npos) << error;
  EXPECT_NE(error.find("does not contain a PEM public key"), std::string::npos) << error;
}

TEST_F(BearerAuthTest, PrivateKeyFileIsRejected) {
  BearerAuthConfig config;
  config.public_key_file = Path("rsa.key");
  EXPECT_NE(ConstructorError(config).find("private key"), std::string::npos);
}

TEST_F(BearerAuthTest, UnsupportedKeyTypesAreRejected) {
  BearerAuthConfig config;
  config.public_key_file = Path("ed25519.pub");
  EXPECT_NE(ConstructorError(config).find("ED25519"), std::string::npos);
  config.public_key_file = Path("ec384.pub");
  EXPECT_NE(ConstructorError(config).find("P-256"), std::string::npos);
  config.public_key_file = Path("rsa1024.pub");
  EXPECT_NE(ConstructorError(config).find("2048"), std::string::npos);
}

TEST_F(BearerAuthTest, ShortSecretIsRejected) {
  BearerAuthConfig config;
  config.hs256_secret = "too-short";
  const std::string error = ConstructorError(config);
  EXPECT_NE(error.find("hs256_secret"), std::string::npos) << error;
  EXPECT_EQ(error.find("too-short"), std::string::npos) << "error leaks the secret: " << error;
}

}  // namespace
}  // namespace parley::core
