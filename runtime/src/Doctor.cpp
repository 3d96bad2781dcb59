#include "Doctor.h"

#include "Bpf.h"
#include "Error.h"
#include "Events.h"
#include "Runtime.h"
#include "System.h"

#include "probe.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <fstream>
#include <functional>

namespace bulwark::rt {
namespace {

struct ProbeOutcome {
  bool loaded = false, attached = false;
  std::string detail;
};

// Loads one program of the embedded probe object; attaches it with `attach` if given.
ProbeOutcome tryProgram(const char *progName,
                        const std::function<bpf_link *(bpf_program *)> &attach) {
  ProbeOutcome out;
  bw_probe *skel = bw_probe::open();
  if (!skel) {
    out.detail = "cannot open the embedded probe object: " + errnoText(errno);
    return out;
  }
  bpf_program *p, *target = nullptr;
  bpf_object__for_each_program(p, skel->obj) {
    bool want = std::string(progName) == bpf_program__name(p);
    bpf_program__set_autoload(p, want);
    if (want)
      target = p;
  }
  clearLibbpfLog();
  if (bw_probe::load(skel) != 0) {
    int err = errno;
    out.detail = "refused at load: " + errnoText(err);
    std::string log = libbpfLog();
    if (auto pos = log.find("failed to find kernel BTF type ID"); pos != std::string::npos)
      out.detail += " (" + log.substr(pos, log.find('\n', pos) - pos) + ")";
    bw_probe::destroy(skel);
    return out;
  }
  out.loaded = true;
  if (!attach) {
    out.detail = "loads";
    bw_probe::destroy(skel);
    return out;
  }
  bpf_link *link = attach(target);
  if (!link) {
    out.detail = "loads, but attaching failed: " + errnoText(errno);
  } else {
    out.attached = true;
    out.detail = "loads and attaches";
    bpf_link__destroy(link);  // detached at once
  }
  bw_probe::destroy(skel);
  return out;
}

bool kallsymsHas(const std::string &fn) {
  std::ifstream in("/proc/kallsyms");
  for (std::string line; std::getline(in, line);) {
    auto sp = line.rfind(' ');
    if (sp != std::string::npos && line.compare(sp + 1, std::string::npos, fn) == 0)
      return true;
  }
  return false;
}

using S = Check::Status;

void add(DoctorReport &r, std::string name, S status, std::string detail) {
  r.checks.push_back({std::move(name), status, std::move(detail)});
}

// What the verdict depends on.
struct Findings {
  bool btf = false, lsmsKnown = false, lsmActive = false, priv = false, fsOk = false;
  ProbeOutcome lsm;
};

// systemChecks: kernel release, BTF, the BPF LSM among the active LSMs, privilege, bpffs at
// the pin root.
Findings systemChecks(DoctorReport &r, const std::string &pinRoot) {
  Findings f;
  add(r, "kernel", S::Info, kernelRelease());
  f.btf = haveKernelBtf();
  add(r, "btf", f.btf ? S::Ok : S::Fail,
      f.btf ? "/sys/kernel/btf/vmlinux present" : "no /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF=y needed)");

  std::string why;
  auto lsms = activeLsms(&why);
  f.lsmsKnown = bool(lsms);
  if (lsms) {
    std::string list;
    for (auto &l : *lsms)
      list += (list.empty() ? "" : ",") + l;
    f.lsmActive = bpfLsmActive(*lsms);
    add(r, "bpf-lsm", f.lsmActive ? S::Ok : S::Fail,
        f.lsmActive ? "bpf is an active LSM (" + list + ")"
                    : "bpf is not an active LSM (" + list + "); boot with lsm=" + list + ",bpf");
  } else {
    add(r, "bpf-lsm", S::Warn, why);
  }

  std::string missing;
  f.priv = havePrivilege(&missing);
  add(r, "privilege", f.priv ? S::Ok : S::Fail, f.priv ? "sufficient" : "missing " + missing);

  std::string bpffsDir = pinRoot;
  while (!exists(bpffsDir) && bpffsDir.find('/') != std::string::npos && bpffsDir != "/")
    bpffsDir = bpffsDir.substr(0, bpffsDir.rfind('/'));
  f.fsOk = isBpffs(bpffsDir);
  add(r, "bpffs", f.fsOk ? S::Ok : S::Fail,
      f.fsOk ? bpffsDir + " is a BPF file system"
             : bpffsDir + " is not a BPF file system (" + bpffsMountHint(pinRoot) + ")");
  return f;
}

// testLoads: an LSM, a kprobe and a tracepoint program loaded and attached (then detached at
// once), and a ring buffer created.
void testLoads(DoctorReport &r, Findings &f) {
  f.lsm = tryProgram("bw_probe_lsm", [](bpf_program *p) { return bpf_program__attach_lsm(p); });
  add(r, "load lsm", f.lsm.attached ? S::Ok : S::Fail, "lsm/file_open probe " + f.lsm.detail);
  std::string kfn = kallsymsHas("do_sys_openat2") ? "do_sys_openat2" : "do_nanosleep";
  auto kp = tryProgram("bw_probe_kprobe",
                       [&](bpf_program *p) { return bpf_program__attach_kprobe(p, false, kfn.c_str()); });
  add(r, "load kprobe", kp.attached ? S::Ok : S::Warn, "kprobe on " + kfn + ": " + kp.detail);
  auto tp = tryProgram("bw_probe_tp", [](bpf_program *p) {
    return bpf_program__attach_tracepoint(p, "sched", "sched_process_fork");
  });
  add(r, "load tracepoint", tp.attached ? S::Ok : S::Warn, "sched/sched_process_fork: " + tp.detail);
  int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "bw_probe_rb", 0, 0, 4096, nullptr);
  if (fd >= 0) {
    add(r, "ringbuf", S::Ok, "ring buffer map created");
    ::close(fd);
  } else {
    add(r, "ringbuf", S::Fail, "cannot create a ring buffer map: " + errnoText(errno));
  }
}

// loadedChecks: the kernel wiring of each loaded policy against what was loaded, and
// self-protection.
void loadedChecks(DoctorReport &r, const std::string &pinRoot) {
  try {
    Runtime rt(pinRoot);
    auto policies = rt.list();
    size_t tampered = 0;
    for (const auto &p : policies) {
      if (p.tampering.empty())
        continue;
      tampered++;
      std::string what;
      for (const auto &t : p.tampering)
        what += (what.empty() ? "" : "; ") + t;
      add(r, "integrity", S::Fail, p.name + " TAMPERED: " + what + " (load it again to repair)");
    }
    if (!policies.empty() && tampered == 0)
      add(r, "integrity", S::Ok, std::to_string(policies.size()) + " policies wired as loaded");
    auto shared = rt.sharedStatus();
    if (!policies.empty())
      add(r, "self-protection",
          shared.guardTrusts.empty() ? S::Warn : shared.guardMissing.empty() ? S::Ok : S::Fail,
          shared.guardTrusts.empty() ? "not attached: other processes can change Bulwark's kernel state"
          : shared.guardMissing.empty()
              ? "on; trusts the executable on " + shared.guardTrusts
              : "TAMPERED: " + std::to_string(shared.guardMissing.size()) + " guard programs are not attached");
  } catch (const Error &e) {
    add(r, "integrity", S::Warn, std::string("cannot check: ") + e.what());
  }
}

// setVerdict: whether Bulwark can enforce here, and if not, every reason.
void setVerdict(DoctorReport &r, const Findings &f) {
  std::vector<std::string> reasons;
  if (!f.btf)
    reasons.push_back("no kernel BTF");
  if (f.lsmsKnown && !f.lsmActive)
    reasons.push_back("the BPF LSM is not active");
  if (!f.priv)
    reasons.push_back("missing privilege");
  if (!f.fsOk)
    reasons.push_back("no bpffs at the pin root");
  if (!f.lsm.attached)
    reasons.push_back(f.lsm.loaded ? "LSM programs load but do not attach"
                                   : "the kernel refuses to load LSM programs (" + f.lsm.detail + ")");
  r.canEnforce = reasons.empty();
  if (r.canEnforce) {
    r.verdict = "OK: this kernel can run Bulwark policies (BPF LSM programs load and attach)";
    if (!f.lsmsKnown)
      r.verdict += "; could not confirm bpf among the active LSMs";
  } else {
    r.verdict = "NOT SUPPORTED: Bulwark cannot enforce here: ";
    for (size_t i = 0; i < reasons.size(); i++)
      r.verdict += (i ? "; " : "") + reasons[i];
  }
}

} // namespace

DoctorReport runDoctor(const std::string &pinRoot) {
  DoctorReport r;
  Findings f = systemChecks(r, pinRoot);
  testLoads(r, f);
  // What is pinned now.
  if (exists(pinRoot))
    add(r, "pins", S::Info, pinRoot + " exists");
  else
    add(r, "pins", S::Info, pinRoot + " does not exist (nothing loaded)");
  if (exists(pinRoot) && f.priv)
    loadedChecks(r, pinRoot);
  setVerdict(r, f);
  return r;
}

std::string formatDoctor(const DoctorReport &r) {
  std::string o;
  for (const auto &c : r.checks) {
    const char *tag = c.status == Check::Status::Ok     ? "ok  "
                      : c.status == Check::Status::Warn ? "warn"
                      : c.status == Check::Status::Fail ? "FAIL"
                                                        : "info";
    char line[64];
    std::snprintf(line, sizeof line, "[%s] %-16s ", tag, c.name.c_str());
    o += line + c.detail + "\n";
  }
  o += "verdict: " + r.verdict + "\n";
  return o;
}

std::string formatDoctorJson(const DoctorReport &r) {
  JsonWriter w(false);
  w.beginObject().key("checks").beginArray();
  for (const auto &c : r.checks) {
    const char *st = c.status == Check::Status::Ok     ? "ok"
                     : c.status == Check::Status::Warn ? "warn"
                     : c.status == Check::Status::Fail ? "fail"
                                                       : "info";
    w.beginObject().key("name").value(c.name).key("status").value(st).key("detail").value(c.detail).endObject();
  }
  w.endArray().key("can_enforce").value(r.canEnforce).key("verdict").value(r.verdict).endObject();
  return w.str();
}

} // namespace bulwark::rt
