// Pin layout under the pin root (default /sys/fs/bpf/bulwark; docs/operations.md):
//
//   shared/bw_state, bw_gen, bw_events      maps shared by all policies (pinned by name)
//   shared/bw_progs_<ID>, bw_next_<ID>      per LSM hook: policy prog array, lane chains
//   dispatch/<attach>-<lane>                dispatcher link of one hook and lane
//   guard/<program>                         self-protection links (Guard.h)
//   guard/trusts-<dev>-<ino>                the executable the guard trusts (a marker directory)
//   instances/seq                           the last policy instance number given (Instances.h)
//   instances/<N>                           instance N: its policy, slot and rule table, kept
//                                           after it is replaced or unloaded until its records are read
//   <policy>/state                          state record (ARRAY map, see State.h)
//   <policy>/gen<G>/prog_<attach>           the policy's program for a hook, generation G
//   <policy>/gen<G>/<map>                   its per-policy maps (match maps, bw_counters)
//   <policy>/gen<G>/bw_rules                rule table (names for events and status)
//   <policy>/gen<G>/bw_scope                the cgroups of a cgroup scope and the ids loaded (State.h)
//   <policy>/gen<G>/bw_counters_base        counts of the versions G replaced, by G's rule
//                                           ids; pinned once they are folded in (Counters.h)
//   <policy>/gen<G>/bw_agg_base             aggregates (bw_agg, bw_agg_lost) of the versions G
//                                           replaced, by G's rule ids (Aggregates.h)
//   <policy>/gen<G>/helper_<name>           link of a helper program (attached directly)
//   <policy>/gen<G>/kprobe_<fn>             link of the kprobe program on kernel function fn
//   <policy>/gen<G>/prog_kprobe_<fn>        that program (for status: insns, run time)
//
// The generation that enforces is bw_gen[slot]; the other gen<G> directory exists only
// while a new version is being loaded. bpffs refuses '.' in names.
#pragma once

#include "Hooks.h"

#include <string>

namespace bulwark::rt {

struct PinLayout {
  std::string root;

  std::string shared() const { return root + "/shared"; }
  std::string sharedMap(const std::string &name) const { return shared() + "/" + name; }
  std::string dispatchDir() const { return root + "/dispatch"; }
  std::string dispatcher(const Hook &h, uint32_t lane) const {
    return dispatchDir() + "/" + std::string(h.attach) + "-" + std::to_string(lane);
  }
  std::string guardDir() const { return root + "/guard"; }
  std::string guardLink(const std::string &program) const { return guardDir() + "/" + program; }
  std::string instancesDir() const { return root + "/instances"; }
  std::string instanceSeq() const { return instancesDir() + "/seq"; }
  std::string instance(uint32_t id) const { return instancesDir() + "/" + std::to_string(id); }
  std::string policyDir(const std::string &policy) const { return root + "/" + policy; }
  std::string stateMap(const std::string &policy) const { return policyDir(policy) + "/state"; }
  std::string genDir(const std::string &policy, uint32_t gen) const {
    return policyDir(policy) + "/gen" + std::to_string(gen & 1);
  }
  std::string prog(const std::string &policy, uint32_t gen, const Hook &h) const {
    return genDir(policy, gen) + "/prog_" + std::string(h.attach);
  }
  std::string map(const std::string &policy, uint32_t gen, const std::string &name) const {
    return genDir(policy, gen) + "/" + name;
  }
  std::string rules(const std::string &policy, uint32_t gen) const { return map(policy, gen, "bw_rules"); }
  std::string counterBase(const std::string &policy, uint32_t gen) const {
    return map(policy, gen, "bw_counters_base");
  }
  std::string aggregateBase(const std::string &policy, uint32_t gen) const {
    return map(policy, gen, "bw_agg_base");
  }
  std::string helper(const std::string &policy, uint32_t gen, const std::string &name) const {
    return genDir(policy, gen) + "/helper_" + name;
  }
  // kprobe programs are attached directly (no dispatcher): their links live in the
  // generation's directory, so removing it detaches them.
  static constexpr const char *kKprobeLinkPrefix = "kprobe_";
  std::string kprobeLink(const std::string &policy, uint32_t gen, const std::string &function) const {
    return genDir(policy, gen) + "/" + kKprobeLinkPrefix + function;
  }
  std::string kprobeProg(const std::string &policy, uint32_t gen, const std::string &function) const {
    return genDir(policy, gen) + "/prog_kprobe_" + function;
  }
};

std::string defaultPinRoot();  // $BULWARK_PIN_ROOT or BW_PIN_ROOT_DEFAULT

} // namespace bulwark::rt
