/* Template for hook file.mmap_exec (LSM mmap_file): only mappings requesting PROT_EXEC. */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(FILE_MMAP_EXEC)

SEC("lsm/mmap_file")
int BPF_PROG(bw_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
             unsigned long flags, int ret) {
  return BW_HOOK_BODY(ctx, FILE_MMAP_EXEC, ret, (prot & 4 /* PROT_EXEC */), ({
    if (BW_WANT(need, FILE_MMAP_EXEC, file_path) && file)
      bw_file_d_path(file, BW_STR(ev, FILE_MMAP_EXEC, file_path));
    BW_INT(ev, FILE_MMAP_EXEC, mmap_prot) = prot;
  }));
}
