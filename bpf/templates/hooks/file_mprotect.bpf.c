/* Template for hook file.mmap_exec, second attach point: LSM file_mprotect, when a file
 * mapping that was not executable is made executable (mmap without PROT_EXEC, then
 * mprotect(PROT_EXEC) is the same as mapping it executable). It decides and records as
 * file.mmap_exec, and chains through its own prog array and lanes. */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(FILE_MMAP_EXEC_MPROTECT)

#define BW_VM_EXEC 0x4

static __always_inline void extract(struct bw_event *ev, __u64 need, struct file *file,
                                    unsigned long prot) {
  if (BW_WANT(need, FILE_MMAP_EXEC, file_path))
    bw_file_walk(file, BW_STR(ev, FILE_MMAP_EXEC, file_path));
  BW_INT(ev, FILE_MMAP_EXEC, mmap_prot) = prot;
}

SEC("lsm/file_mprotect")
int BPF_PROG(bw_file_mprotect, struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot,
             int ret) {
  struct file *file = vma->vm_file;
  int applies = (prot & 4 /* PROT_EXEC */) && file && !(vma->vm_flags & BW_VM_EXEC);
  int verdict = 0;
  struct bw_event *ev = applies ? bw_event_begin(BW_HOOK_FILE_MMAP_EXEC) : 0;
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(FILE_MMAP_EXEC, ev, extract, file, prot);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, FILE_MMAP_EXEC_MPROTECT, verdict);
}
