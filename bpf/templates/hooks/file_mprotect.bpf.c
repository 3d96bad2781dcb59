/* Template for hook file.mmap_exec, second attach point: LSM file_mprotect, when a file
 * mapping that was not executable is made executable (mmap without PROT_EXEC, then
 * mprotect(PROT_EXEC) is the same as mapping it executable). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(FILE_MMAP_EXEC_MPROTECT)

#define BW_VM_EXEC 0x4

SEC("lsm/file_mprotect")
int BPF_PROG(bw_file_mprotect, struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot,
             int ret) {
  struct file *file = vma->vm_file;
  int applies = (prot & 4 /* PROT_EXEC */) && file && !(vma->vm_flags & BW_VM_EXEC);
  return BW_HOOK_BODY_AS(ctx, FILE_MMAP_EXEC, FILE_MMAP_EXEC_MPROTECT, ret, applies, ({
    if (BW_WANT(need, FILE_MMAP_EXEC, file_path))
      bw_file_walk(file, BW_STR(ev, FILE_MMAP_EXEC, file_path));
    BW_INT(ev, FILE_MMAP_EXEC, mmap_prot) = prot;
  }), 0);
}
