#include "Dispatchers.h"

#include "Abi.h"
#include "Error.h"
#include "Guard.h"
#include "KernelLocks.h"
#include "LoadError.h"

#include "dispatcher.skel.h"

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <set>
#include <string>

namespace bulwark::rt {
namespace {

// Dispatcher and pass-through programs come from the embedded runtime object.
struct RuntimeObject {
  bw_dispatcher *skel = nullptr;
  ~RuntimeObject() {
    if (skel)
      bw_dispatcher::destroy(skel);
  }
};

// Opens the runtime object with only the programs named `only` to load.
void openRuntimeObject(RuntimeObject &ro, const PinLayout &pins, const std::set<std::string> &only) {
  std::string shared = pins.shared();
  bpf_object_open_opts opts{};
  opts.sz = sizeof(opts);
  opts.pin_root_path = shared.c_str();
  ro.skel = bw_dispatcher::open(&opts);
  if (!ro.skel)
    throw Error(Exit::Internal, "cannot open the embedded dispatcher object: " + errnoText(errno));
  ro.skel->rodata->bw_rename_lock = kernelLocks().renameLock;
  ro.skel->rodata->bw_mount_lock = kernelLocks().mountLock;
  bpf_program *p;
  bpf_object__for_each_program(p, ro.skel->obj) bpf_program__set_autoload(p, only.count(bpf_program__name(p)) != 0);
  for (const auto &name : only)
    if (!bpf_object__find_program_by_name(ro.skel->obj, name.c_str()))
      throw Error(Exit::Internal, "the embedded dispatcher object has no program " + name);
  checkSharedPins(ro.skel->obj);
}

} // namespace

std::map<uint32_t, Fd> loadPasses(const PinLayout &pins, const std::vector<const Hook *> &hooks, uint32_t slot) {
  std::map<uint32_t, Fd> fds;
  if (hooks.empty())
    return fds;
  std::set<std::string> names;
  std::string list;
  for (const Hook *h : hooks) {
    names.insert(passProgName(*h));
    list += (list.empty() ? "" : ", ") + std::string(h->name);
  }
  RuntimeObject ro;
  openRuntimeObject(ro, pins, names);
  ro.skel->rodata->bw_pass_slot = slot;
  clearLibbpfLog();
  if (bw_dispatcher::load(ro.skel) != 0)
    throw loadError(errno, "cannot load the pass-through programs for " + list);
  for (const Hook *h : hooks) {
    int fd = bpf_program__fd(bpf_object__find_program_by_name(ro.skel->obj, passProgName(*h).c_str()));
    Fd dup(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!dup)
      throw Error(Exit::Internal, "cannot keep the pass-through program for " + std::string(h->name) + ": " +
                                      errnoText(errno));
    fds.emplace(h->index, std::move(dup));
  }
  return fds;
}

// Makes sure the dispatcher of (hook, lane) is attached and pinned. Returns true if it
// attached one now.
bool ensureDispatcher(const PinLayout &pins, const Hook &h, uint32_t lane) {
  std::string path = pins.dispatcher(h, lane);
  if (auto fd = openPin(path)) {
    if (!linkInfo(fd->get()))
      throw Error(Exit::Conflict, "pin path " + path + " is taken by a BPF object that is not a link",
                  "remove it, or use another --pin-root");
    return false;
  }
  mkdirs(pins.dispatchDir());
  RuntimeObject ro;
  openRuntimeObject(ro, pins, {dispatcherProgName(h)});
  ro.skel->rodata->bw_lane = lane;
  FileIdentity self = selfExecutable();  // kernel.bpf decides nothing for it (dispatcher.bpf.c)
  ro.skel->rodata->bw_runtime_exe_dev = self.dev;
  ro.skel->rodata->bw_runtime_exe_ino = self.ino;
  if (!guardDisabledForTest()) {  // the guard's check of unlinks under the pin root
    FileIdentity pinRoot = pinRootIdentity(pins);
    ro.skel->rodata->bw_pin_dev = pinRoot.dev;
    ro.skel->rodata->bw_pin_ino = pinRoot.ino;
  }
  clearLibbpfLog();
  if (bw_dispatcher::load(ro.skel) != 0)
    throw loadError(errno, "cannot load the dispatcher for " + std::string(h.name));
  bpf_program *prog = bpf_object__find_program_by_name(ro.skel->obj, dispatcherProgName(h).c_str());
  bpf_link *link = bpf_program__attach_lsm(prog);
  if (!link)
    throw loadError(errno, "cannot attach the dispatcher for " + std::string(h.name));
  // The pin holds the link; bpf_link__destroy only closes our fd (it would detach the
  // link if the pin had failed). Never bpf_link__disconnect: that leaks the fd, and a
  // long-running process (the daemon) would then keep the link attached after unpinning.
  int err = bpf_link__pin(link, path.c_str());
  bpf_link__destroy(link);
  if (err != 0)
    throw Error(Exit::Failed, "cannot pin dispatcher link " + path + ": " + errnoText(-err));
  return true;
}

// Detaches the dispatcher of (hook, lane) if its lane chain is empty and the guard does not
// keep it (guardKeepsDispatcher).
void dropDispatcherIfIdle(const PinLayout &pins, SharedMaps &shared, const Hook &h, uint32_t lane) {
  std::string path = pins.dispatcher(h, lane);
  if (!exists(path) || !shared.hasHook(h) || guardKeepsDispatcher(pins, h, lane))
    return;
  auto chain = shared.chain(h);
  if (!chainSlots(chain, lane).empty())
    return;
  unpinDispatcher(pins, h, lane);
}

// Detaches the dispatcher of (hook, lane), if attached (its pin holds the only reference).
void unpinDispatcher(const PinLayout &pins, const Hook &h, uint32_t lane) {
  std::string path = pins.dispatcher(h, lane);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    throw Error(Exit::Failed, "cannot unpin dispatcher " + path + ": " + errnoText(errno));
}

// Takes a slot out of every chain and prog array (unload, and a fresh slot that an
// interrupted unload left behind).
void scrubSlot(SharedMaps &shared, uint32_t slot) {
  shared.setSlotMode(slot, BW_SLOT_EMPTY);
  for (const auto &h : hooks()) {
    if (!h.lsm || !shared.hasHook(h))
      continue;
    auto chain = shared.chain(h);
    unlinkSlot(chain, slot);
    clearSlot(chain, slot);
    shared.dropProgram(h, progIndex(slot, 0));
    shared.dropProgram(h, progIndex(slot, 1));
  }
}

} // namespace bulwark::rt
