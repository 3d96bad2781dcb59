/* How a kprobe template program moves its function's register arguments into the event.
 * The back end generates, per kprobe program, `__u32 bw_kprobe_arg_<n>(__u32 i)` returning
 * the descriptor of register argument i (0..BW_KPROBE_ARGS-1); after inlining it is a
 * constant, so the template's code for unused arguments disappears.
 * Shared by BPF C (bpf/templates/hooks/kprobe.bpf.c) and C++ (compiler/backend/Codegen.cpp). */
#ifndef BULWARK_BW_KPROBE_H
#define BULWARK_BW_KPROBE_H

#define BW_KPROBE_ARGS 5 /* register arguments read (sema exposes arg0..arg4) */

/* descriptor: kind << 24 | signed << 16 | size << 8 | slot */
#define BW_KARG_NONE 0u
#define BW_KARG_INT 1u  /* integer of `size` bytes (1, 2, 4, 8) into ints[slot] */
#define BW_KARG_STR 2u  /* char * (kernel or user memory) into strs[slot] */

#define BW_KARG(kind, is_signed, size, slot)                                                       \
  (((kind) << 24) | ((is_signed) ? 1u << 16 : 0u) | (((size) & 0xffu) << 8) | ((slot) & 0xffu))
#define BW_KARG_KIND(d) ((d) >> 24)
#define BW_KARG_SIGNED(d) (((d) >> 16) & 1u)
#define BW_KARG_SIZE(d) (((d) >> 8) & 0xffu)
#define BW_KARG_SLOT(d) ((d) & 0xffu)

#endif
