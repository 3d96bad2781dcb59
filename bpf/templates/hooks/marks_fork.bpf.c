/* Helper program (not a policy hook) of a policy that uses marks: a new process starts with
 * its parent's marks (bw_marks.h). Attached directly, never chained; every such policy
 * attaches one, and the copies agree (each copies the same parent). */
#include "../bw_lib.h"

SEC("lsm/task_alloc")
int BPF_PROG(bw_marks_fork, struct task_struct *task, unsigned long clone_flags, int ret) {
  if (ret)
    return ret; /* an earlier program's denial stands */
  return bw_marks_at_fork(task, clone_flags);
}
