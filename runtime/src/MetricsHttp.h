// The daemon's metrics endpoint: a listening socket and a minimal HTTP/1.0 server that
// answers GET /metrics (one request per connection).
#pragma once

#include "Bpf.h"

#include <functional>
#include <string>

namespace bulwark::rt {

// A non-blocking socket listening on `spec` (parseListenAddress). Throws Error.
Fd listenOn(const std::string &spec);

// Answers one HTTP request on a connected socket (GET /metrics, else 404).
void serveHttp(int client, const std::function<std::string()> &metrics);

} // namespace bulwark::rt
