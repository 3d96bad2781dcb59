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

} // namespace

DoctorReport runDoctor(const std::string &pinRoot) {
  DoctorReport r;
  using S = Check::Status;
  auto add = [&](std::string n, S s, std::string d) { r.checks.push_back({std::move(n), s, std::move(d)}); };

  add("kernel", S::Info, kernelRelease());
  bool btf = haveKernelBtf();
  add("btf", btf ? S::Ok : S::Fail,
      btf ? "/sys/kernel/btf/vmlinux present" : "no /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF=y needed)");

  std::string why;
  auto lsms = activeLsms(&why);
  bool lsmActive = false;
  if (lsms) {
    std::string list;
    for (auto &l : *lsms)
      list += (list.empty() ? "" : ",") + l;
    lsmActive = bpfLsmActive(*lsms);
    add("bpf-lsm", lsmActive ? S::Ok : S::Fail,
        lsmActive ? "bpf is an active LSM (" + list + ")"
                  : "bpf is not an active LSM (" + list + "); boot with lsm=" + list + ",bpf");
  } else {
    add("bpf-lsm", S::Warn, why);
  }

  std::string missing;
  bool priv = havePrivilege(&missing);
  add("privilege", priv ? S::Ok : S::Fail, priv ? "sufficient" : "missing " + missing);

  std::string bpffsDir = pinRoot;
  while (!exists(bpffsDir) && bpffsDir.find('/') != std::string::npos && bpffsDir != "/")
    bpffsDir = bpffsDir.substr(0, bpffsDir.rfind('/'));
  bool fsOk = isBpffs(bpffsDir);
  add("bpffs", fsOk ? S::Ok : S::Fail,
      fsOk ? bpffsDir + " is a BPF file system"
           : bpffsDir + " is not a BPF file system (" + bpffsMountHint(pinRoot) + ")");

  // Test-loads.
  auto lsm = tryProgram("bw_probe_lsm", [](bpf_program *p) { return bpf_program__attach_lsm(p); });
  add("load lsm", lsm.attached ? S::Ok : S::Fail, "lsm/file_open probe " + lsm.detail);
  std::string kfn = kallsymsHas("do_sys_openat2") ? "do_sys_openat2" : "do_nanosleep";
  auto kp = tryProgram("bw_probe_kprobe",
                       [&](bpf_program *p) { return bpf_program__attach_kprobe(p, false, kfn.c_str()); });
  add("load kprobe", kp.attached ? S::Ok : S::Warn, "kprobe on " + kfn + ": " + kp.detail);
  auto tp = tryProgram("bw_probe_tp", [](bpf_program *p) {
    return bpf_program__attach_tracepoint(p, "sched", "sched_process_fork");
  });
  add("load tracepoint", tp.attached ? S::Ok : S::Warn, "sched/sched_process_fork: " + tp.detail);
  {
    int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "bw_probe_rb", 0, 0, 4096, nullptr);
    if (fd >= 0) {
      add("ringbuf", S::Ok, "ring buffer map created");
      ::close(fd);
    } else {
      add("ringbuf", S::Fail, "cannot create a ring buffer map: " + errnoText(errno));
    }
  }

  // What is pinned now.
  if (exists(pinRoot))
    add("pins", S::Info, pinRoot + " exists");
  else
    add("pins", S::Info, pinRoot + " does not exist (nothing loaded)");
  if (exists(pinRoot) && priv) {
    // Integrity of what is loaded: the kernel wiring against what was loaded.
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
        add("integrity", S::Fail, p.name + " TAMPERED: " + what + " (load it again to repair)");
      }
      if (!policies.empty() && tampered == 0)
        add("integrity", S::Ok, std::to_string(policies.size()) + " policies wired as loaded");
      auto shared = rt.sharedStatus();
      if (!policies.empty())
        add("self-protection",
            shared.guardTrusts.empty() ? S::Warn : shared.guardMissing.empty() ? S::Ok : S::Fail,
            shared.guardTrusts.empty() ? "not attached: other processes can change Bulwark's kernel state"
            : shared.guardMissing.empty()
                ? "on; trusts the executable on " + shared.guardTrusts
                : "TAMPERED: " + std::to_string(shared.guardMissing.size()) + " guard programs are not attached");
    } catch (const Error &e) {
      add("integrity", S::Warn, std::string("cannot check: ") + e.what());
    }
  }

  std::vector<std::string> reasons;
  if (!btf)
    reasons.push_back("no kernel BTF");
  if (lsms && !lsmActive)
    reasons.push_back("the BPF LSM is not active");
  if (!priv)
    reasons.push_back("missing privilege");
  if (!fsOk)
    reasons.push_back("no bpffs at the pin root");
  if (!lsm.attached)
    reasons.push_back(lsm.loaded ? "LSM programs load but do not attach"
                                 : "the kernel refuses to load LSM programs (" + lsm.detail + ")");
  r.canEnforce = reasons.empty();
  if (r.canEnforce) {
    r.verdict = "OK: this kernel can run Bulwark policies (BPF LSM programs load and attach)";
    if (!lsms)
      r.verdict += "; could not confirm bpf among the active LSMs";
  } else {
    r.verdict = "NOT SUPPORTED: Bulwark cannot enforce here: ";
    for (size_t i = 0; i < reasons.size(); i++)
      r.verdict += (i ? "; " : "") + reasons[i];
  }
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
  std::string o = "{\"checks\":[";
  for (size_t i = 0; i < r.checks.size(); i++) {
    const auto &c = r.checks[i];
    const char *st = c.status == Check::Status::Ok     ? "ok"
                     : c.status == Check::Status::Warn ? "warn"
                     : c.status == Check::Status::Fail ? "fail"
                                                       : "info";
    o += std::string(i ? "," : "") + "{\"name\":\"" + jsonEscape(c.name) + "\",\"status\":\"" + st +
         "\",\"detail\":\"" + jsonEscape(c.detail) + "\"}";
  }
  o += "],\"can_enforce\":" + std::string(r.canEnforce ? "true" : "false") + ",\"verdict\":\"" +
       jsonEscape(r.verdict) + "\"}";
  return o;
}

} // namespace bulwark::rt
