// TLS for outbound connections, with OpenSSL: TLS 1.2 or later, the system's CA store plus an
// optional private CA, SNI, and the peer's certificate checked against the name dialled.
#pragma once

#include <memory>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace parley::core::net {

class TlsContext {
 public:
  // `extra_ca_file`: a PEM file of CAs trusted beside the system's (upstream.tls_ca_file); empty
  // for none. Throws std::runtime_error naming the file when it cannot be used.
  explicit TlsContext(const std::string& extra_ca_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A client session for `fd` that will verify `host` (a name, or an IP address).
  SSL* newClient(int fd, const std::string& host) const;

 private:
  SSL_CTX* ctx_;
};

// The OpenSSL error queue (or `fallback`) as one line, emptying the queue.
std::string tlsError(const std::string& fallback);

}  // namespace parley::core::net
