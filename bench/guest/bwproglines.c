/* bwproglines: the line table of every loaded BPF program named bw_*, for bench/profile
 * --lines. One line per BTF line-info record: the JIT address where the record's code starts,
 * the program's name and id (NAME#ID), then the source file, line and text the compiler
 * recorded for it.
 * bench/profile attributes each sample's address to the record at or before it. bpftool's own
 * `dump jited` needs a disassembler that Debian's bpftool is built without; the line table
 * needs none. `bwproglines --ids` prints only "ID NAME" per program: run after each load, it
 * tells which policy a program id belongs to. Exit status: 0, or 1 when a program's
 * information cannot be read. */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int print_lines(int fd, int ids_only) {
  struct bpf_prog_info info = {0};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len))
    return -errno;
  if (strncmp(info.name, "bw_", 3) != 0)
    return 0;
  if (ids_only) {
    printf("%u %s\n", info.id, info.name);
    return 0;
  }
  if (!info.nr_line_info || !info.nr_jited_line_info)
    return 0;
  __u32 n = info.nr_line_info, nj = info.nr_jited_line_info, rec = info.line_info_rec_size;
  void *lines = calloc(n, rec);
  __u64 *jited = calloc(nj, sizeof(__u64));
  if (!lines || !jited)
    return -ENOMEM;
  struct bpf_prog_info again = {0};
  again.nr_line_info = n;
  again.line_info_rec_size = rec;
  again.line_info = (__u64)(uintptr_t)lines;
  again.nr_jited_line_info = nj;
  again.jited_line_info_rec_size = sizeof(__u64);
  again.jited_line_info = (__u64)(uintptr_t)jited;
  len = sizeof(again);
  int err = bpf_obj_get_info_by_fd(fd, &again, &len) ? -errno : 0;
  struct btf *btf = err ? NULL : btf__load_from_kernel_by_id(info.btf_id);
  if (!err && !btf)
    err = -errno;
  for (__u32 i = 0; !err && i < n && i < nj; i++) {
    const struct bpf_line_info *li = (const void *)((const char *)lines + (size_t)i * rec);
    const char *file = btf__name_by_offset(btf, li->file_name_off);
    const char *text = btf__name_by_offset(btf, li->line_off);
    const char *base = file ? strrchr(file, '/') : NULL;
    printf("%llx %s#%u %s:%u %s\n", (unsigned long long)jited[i], info.name, info.id, base ? base + 1 : (file ? file : "?"),
           li->line_col >> 10, text ? text : "");
  }
  btf__free(btf);
  free(lines);
  free(jited);
  return err;
}

int main(int argc, char **argv) {
  int ids_only = argc > 1 && strcmp(argv[1], "--ids") == 0;
  __u32 id = 0;
  int failed = 0;
  while (!bpf_prog_get_next_id(id, &id)) {
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0)
      continue; /* gone meanwhile */
    int err = print_lines(fd, ids_only);
    if (err) {
      fprintf(stderr, "bwproglines: program %u: %s\n", id, strerror(-err));
      failed = 1;
    }
    close(fd);
  }
  return failed;
}
