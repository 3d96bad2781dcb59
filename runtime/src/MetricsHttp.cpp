#include "MetricsHttp.h"

#include "Daemon.h"
#include "Error.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>

namespace bulwark::rt {

Fd listenOn(const std::string &spec) {
  std::string why;
  auto a = parseListenAddress(spec, &why);
  if (!a)
    throw Error(Exit::Usage, "metrics: " + why);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (a->family == AF_INET) {
    auto *sa = reinterpret_cast<sockaddr_in *>(&ss);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(a->port);
    std::memcpy(&sa->sin_addr, a->addr.data(), 4);
    len = sizeof *sa;
  } else {
    auto *sa = reinterpret_cast<sockaddr_in6 *>(&ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(a->port);
    std::memcpy(&sa->sin6_addr, a->addr.data(), 16);
    len = sizeof *sa;
  }
  Fd fd(::socket(a->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&ss), len) != 0 || ::listen(fd.get(), 16) != 0)
    throw Error(Exit::Failed, "metrics: cannot listen on " + spec + ": " + errnoText(errno));
  return fd;
}

// Answers one HTTP request on a connected socket (GET /metrics, else 404).
void serveHttp(int client, const std::function<std::string()> &metrics) {
  timeval tv{1, 0};
  ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string req;
  char buf[2048];
  while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos && req.size() < 8192) {
    ssize_t n = ::recv(client, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    req.append(buf, size_t(n));
  }
  std::string status = "404 Not Found", body = "try /metrics\n", type = "text/plain";
  if (req.rfind("GET /metrics", 0) == 0) {
    status = "200 OK";
    body = metrics();
    type = "text/plain; version=0.0.4";
  }
  std::string resp = "HTTP/1.0 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  size_t off = 0;
  while (off < resp.size()) {
    ssize_t n = ::send(client, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      break;
    off += size_t(n);
  }
}

} // namespace bulwark::rt
