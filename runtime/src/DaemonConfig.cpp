// The daemon's YAML config and its metrics listen address (Daemon.h).
#include "Daemon.h"

#include "Error.h"
#include "EventLog.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <yaml-cpp/yaml.h>

#include <set>

namespace bulwark::rt {
namespace fs = std::filesystem;

DaemonConfig parseDaemonConfig(const std::string &yaml, const fs::path &baseDir) {
  DaemonConfig c;
  c.pinRoot = defaultPinRoot();
  c.eventLog = defaultEventLog();
  auto bad = [](const std::string &w) { throw Error(Exit::Usage, "config: " + w); };
  YAML::Node n;
  try {
    n = YAML::Load(yaml);
  } catch (const YAML::Exception &e) {
    bad(std::string("does not parse: ") + e.what());
  }
  if (!n.IsMap())
    bad("the top level must be a mapping");
  static const std::set<std::string> known = {"bundle_dir",     "pin_root",      "mode",
                                              "metrics",        "events",        "events_format",  "event_log",  "event_log_max_bytes",
                                              "unload_removed", "debounce_seconds", "resync_seconds",
                                              "scope_check_seconds", "switch"};
  for (const auto &kv : n) {
    std::string k = kv.first.as<std::string>();
    if (!known.count(k))
      bad("unknown key '" + k + "'");
  }
  auto path = [&](const std::string &p) { return fs::path(p).is_absolute() ? p : (baseDir / p).string(); };
  try {
    if (!n["bundle_dir"])
      bad("'bundle_dir' is required");
    c.bundleDir = path(n["bundle_dir"].as<std::string>());
    if (n["pin_root"])
      c.pinRoot = n["pin_root"].as<std::string>();
    if (n["mode"]) {
      std::string text = n["mode"].as<std::string>();
      c.mode = bundle::parseWord<bundle::Mode>(text);
      if (!c.mode)
        bad("mode must be " + bundle::expectedWords<bundle::Mode>() + ", not '" + text + "'");
    }
    if (n["metrics"])
      c.metrics = n["metrics"].as<std::string>();
    if (n["events"]) {
      c.events = n["events"].as<std::string>();
      if (c.events != "stdout" && c.events != "none")
        c.events = path(c.events);
    }
    if (n["events_format"]) {
      c.eventsFormat = n["events_format"].as<std::string>();
      if (c.eventsFormat != "json" && c.eventsFormat != "text")
        bad("events_format must be json or text");
    }
    if (n["event_log"]) {
      c.eventLog = n["event_log"].as<std::string>();
      c.eventLog = c.eventLog == "none" ? "" : path(c.eventLog);
    }
    if (n["event_log_max_bytes"])
      c.eventLogMaxBytes = n["event_log_max_bytes"].as<uint64_t>();
    if (n["unload_removed"])
      c.unloadRemoved = n["unload_removed"].as<bool>();
    if (n["debounce_seconds"])
      c.debounceSeconds = n["debounce_seconds"].as<double>();
    if (n["resync_seconds"])
      c.resyncSeconds = n["resync_seconds"].as<double>();
    if (n["scope_check_seconds"])
      c.scopeCheckSeconds = n["scope_check_seconds"].as<double>();
    if (n["switch"]) {
      std::string when = n["switch"].as<std::string>();
      if (when != "immediate" && when != "on_signal")
        bad("switch must be immediate or on_signal, not '" + when + "'");
      c.switchOnSignal = when == "on_signal";
    }
  } catch (const YAML::Exception &e) {
    bad(std::string("bad value: ") + e.what());
  }
  if (c.debounceSeconds < 0 || c.resyncSeconds <= 0 || c.scopeCheckSeconds < 0)
    bad("debounce_seconds and scope_check_seconds must be >= 0 and resync_seconds > 0");
  if (c.eventLogMaxBytes < 4096)
    bad("event_log_max_bytes must be at least 4096");
  std::string why;
  if (!c.metrics.empty() && !parseListenAddress(c.metrics, &why))
    bad("metrics: " + why);
  return c;
}

std::optional<ListenAddress> parseListenAddress(const std::string &spec, std::string *why) {
  auto fail = [&](const std::string &w) -> std::optional<ListenAddress> {
    *why = "'" + spec + "' is not a listen address: " + w + " (host:port, :port or [ipv6]:port)";
    return std::nullopt;
  };
  auto colon = spec.rfind(':');
  if (colon == std::string::npos)
    return fail("no port");
  std::string host = spec.substr(0, colon), port = spec.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) == 0 || std::stoul(port) > 65535)
    return fail("the port must be a number from 1 to 65535");
  ListenAddress a;
  a.port = uint16_t(std::stoul(port));
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed)
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "*")
    host = "0.0.0.0";
  if (host == "localhost")
    host = "127.0.0.1";
  if (!bracketed && inet_pton(AF_INET, host.c_str(), a.addr.data()) == 1)
    a.family = AF_INET;
  else if (bracketed && inet_pton(AF_INET6, host.c_str(), a.addr.data()) == 1)
    a.family = AF_INET6;
  else
    return fail(host.find(':') != std::string::npos && !bracketed ? "write an IPv6 address in brackets"
                                                                   : "'" + host + "' is not an IPv4 or IPv6 address");
  return a;
}

} // namespace bulwark::rt
