#include "LiveMarks.h"

#include "Abi.h"
#include "Bpf.h"
#include "Error.h"
#include "Instances.h"
#include "LoadError.h"

#include "live_marks.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

namespace bulwark::rt {
namespace {

struct IterObject {
  bw_live_marks *skel = nullptr;
  bpf_link *link = nullptr;
  ~IterObject() {
    bpf_link__destroy(link);
    if (skel)
      bw_live_marks::destroy(skel);
  }
};

// Runs the iterator over the pinned bw_marks once; its records, as written.
std::vector<bw_live_mark> iterate(int marksFd) {
  IterObject o;
  o.skel = bw_live_marks::open();
  if (!o.skel)
    throw Error(Exit::Internal, "cannot open the embedded live-marks iterator: " + errnoText(errno));
  if (int err = bpf_map__reuse_fd(o.skel->maps.bw_marks, marksFd))
    throw Error(Exit::Failed, "cannot give the live-marks iterator bw_marks: " + errnoText(-err));
  clearLibbpfLog();
  if (bw_live_marks::load(o.skel) != 0)
    throw loadError(errno, "cannot load the live-marks iterator");
  o.link = bpf_program__attach_iter(o.skel->progs.bw_live_marks, nullptr);
  if (!o.link)
    throw loadError(errno, "cannot attach the live-marks iterator");
  Fd it(bpf_iter_create(bpf_link__fd(o.link)));
  if (!it)
    throw Error(Exit::Failed, "cannot run the live-marks iterator: " + errnoText(errno));
  std::vector<char> bytes;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(it.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw Error(Exit::Failed, "cannot read the live-marks iterator: " + errnoText(errno));
    if (n == 0)
      break;
    bytes.insert(bytes.end(), buf, buf + n);
  }
  if (bytes.size() % sizeof(bw_live_mark))
    throw Error(Exit::Internal, "the live-marks iterator wrote " + std::to_string(bytes.size()) +
                                    " bytes, not whole records of " + std::to_string(sizeof(bw_live_mark)));
  std::vector<bw_live_mark> out(bytes.size() / sizeof(bw_live_mark));
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char *>(out.data()));
  return out;
}

} // namespace

std::optional<LiveMarks> liveMarks(const PinLayout &pins) {
  auto marksFd = openMapPin(pins.sharedMap("bw_marks"));
  if (!marksFd)
    return std::nullopt;
  auto records = iterate(marksFd->get());

  // A mark's id hashes its policy and name, so any instance pinned (a retired one too) names
  // it; the loaded instances' marks are listed even when no process holds them.
  std::map<uint64_t, LiveMark> named, byId;
  for (const auto &[n, inst] : readInstances(pins))
    for (const auto &[id, name] : inst.marks) {
      named[id] = LiveMark{id, inst.policy, name, 0};
      if (!inst.retired)
        byId[id] = named[id];
    }

  std::set<std::pair<uint64_t, uint32_t>> seen;  // (mark, process): each counted once
  std::set<uint32_t> holders;
  LiveMarks out;
  for (const auto &r : records) {
    if (!seen.insert({r.id, r.tgid}).second)
      continue;
    holders.insert(r.tgid);
    if (r.id == 0) {
      out.full++;
      continue;
    }
    auto it = byId.find(r.id);
    if (it == byId.end()) {
      auto n = named.find(r.id);
      it = byId.emplace(r.id, n != named.end() ? n->second : LiveMark{r.id, {}, {}, 0}).first;
    }
    it->second.processes++;
  }
  out.processes = holders.size();
  for (auto &[id, m] : byId)
    out.marks.push_back(std::move(m));
  return out;
}

std::optional<LiveMarks> liveMarks(const PinLayout &pins, std::string *error) {
  try {
    return liveMarks(pins);
  } catch (const Error &e) {
    if (error)
      *error = e.what();
    return std::nullopt;
  }
}

std::string liveMarkName(const LiveMark &m) {
  if (!m.mark.empty())
    return m.policy + "/" + m.mark;
  char hex[24];
  std::snprintf(hex, sizeof hex, "0x%016llx", static_cast<unsigned long long>(m.id));
  return hex;
}

namespace {
// The marks of a policy, in the order of LiveMarks::marks (ids no instance names have none).
std::vector<const LiveMark *> policyMarks(const LiveMarks &lm, const std::string &policy) {
  std::vector<const LiveMark *> out;
  for (const auto &m : lm.marks)
    if (!m.mark.empty() && m.policy == policy)
      out.push_back(&m);
  return out;
}
} // namespace

std::string topMarksLine(const LiveMarks &lm, const std::string &policy) {
  std::string line;
  for (const LiveMark *m : policyMarks(lm, policy))
    line += (line.empty() ? policy + ": live processes per mark: " : ", ") + m->mark + " " +
            std::to_string(m->processes);
  return line;
}

void topMarksJson(JsonWriter &w, const LiveMarks &lm, const std::string &policy) {
  auto marks = policyMarks(lm, policy);
  if (marks.empty())
    return;
  w.key("live_marks").beginArray();
  for (const LiveMark *m : marks)
    w.beginObject().key("mark").value(m->mark).key("processes").value(m->processes).endObject();
  w.endArray();
}

} // namespace bulwark::rt
