// A template's bitcode without the kernel types its BPF object never defines (build time:
// bulwark-template-trim, compiler/backend/CMakeLists.txt, before bulwarkc embeds the bitcode).
//
// A template includes vmlinux.h, so its debug info holds every struct reachable from the ones
// it touches: a hook template ~1,400, of which its object defines 10-90 in .BTF (LLVM's BTF
// writer only declares a struct reached through a pointer). bulwarkc would read and link all
// of it on every compile. Each struct or union the template's own object does not define loses
// its members; a policy's object, linked from the templates, defines a subset of what its
// templates' objects define, so it needs no other.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::backend {

// The BPF object bulwarkc's code generator makes of `bitcode` alone: the CPU and features of
// its first function, the default optimisation level, BTF only, .BTF canonicalised. Empty with
// *error set when the bitcode cannot be read or built.
std::vector<uint8_t> templateObject(std::string_view bitcode, std::string *error);

// `bitcode` trimmed: built before and after, and refused (empty, *error set) unless both
// objects have the same .BTF and .BTF.ext bytes: the same types, functions, lines and CO-RE
// relocations. Instructions are not compared: LLVM's BPF scheduler may order two independent
// instructions otherwise from one build to the next in a process, trimmed or not.
std::string trimTemplate(std::string_view bitcode, std::string *error);

} // namespace bulwark::backend
