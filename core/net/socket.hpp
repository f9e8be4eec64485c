// The few socket calls the loops need, on plain file descriptors.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace parley::core::net {

// A non-blocking TCP socket listening on host:port (host numeric, or a name resolved here, at
// start-up). Returns the fd, or -1 with `error` set.
int listenTcp(const std::string& host, int port, int backlog, std::string& error);
std::uint16_t localPort(int fd);
// "127.0.0.1", "::1", ... for an accepted peer.
std::string addressText(const sockaddr_storage& address);
// For sockets that carry small request/response messages: no Nagle delay.
void setNoDelay(int fd);
void closeFd(int fd);

}  // namespace parley::core::net
