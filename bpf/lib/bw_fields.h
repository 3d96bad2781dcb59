/* Fields the library extracts for the templates: the process fields every hook shares
 * (bw_fill_common, slots fixed by bw_match.h) and socket addresses (bw_sockaddr). */
#ifndef BULWARK_BW_FIELDS_H
#define BULWARK_BW_FIELDS_H

BW_API void bw_fill_common(struct bw_event *ev, __u64 need) {
  struct task_struct *t = (struct task_struct *)bpf_get_current_task();
  if (need & (BW_NEED_INT(0) | BW_NEED_INT(1))) {
    __u64 pt = bpf_get_current_pid_tgid();
    ev->ints[0] = (__u32)pt;
    ev->ints[1] = pt >> 32;
  }
  if (need & BW_NEED_INT(2))
    ev->ints[2] = BPF_CORE_READ(t, real_parent, tgid);
  if (need & (BW_NEED_INT(3) | BW_NEED_INT(4))) {
    __u64 ug = bpf_get_current_uid_gid();
    ev->ints[3] = (__u32)ug;
    ev->ints[4] = ug >> 32;
  }
  if (need & BW_NEED_INT(5))
    ev->ints[5] = BPF_CORE_READ(t, cred, euid.val);
  if (need & BW_NEED_STR(0))
    bw_task_comm(t, &ev->strs[0]);
  if ((need & BW_NEED_STR(1)) && ev->strs[1].len == 0 && !ev->strs[1].object_only)
    bw_current_exe(&ev->strs[1], 0); /* object only: when a lookup first reads it (bw_match_object) */
  if (need & BW_NEED_STR(2))
    task_cgroup(t, &ev->strs[2]);
  if (need & BW_NEED_STR(3))
    bw_task_comm(BPF_CORE_READ(t, real_parent), &ev->strs[3]);
  if ((need & BW_NEED_STR(4)) && ev->strs[4].len == 0 && !ev->strs[4].object_only)
    bw_task_exe(BPF_CORE_READ(t, real_parent), &ev->strs[4]); /* object only: as process.exe */
}

BW_API void bw_sockaddr(struct sockaddr *sa, struct bw_event *ev, __u32 addr_slot, __u32 port_slot) {
  struct bw_addr *a = &ev->addrs[addr_slot & (BW_ADDR_SLOTS - 1)];
  __u16 family = 0;
  if (!sa)
    return;
  bpf_probe_read_kernel(&family, sizeof(family), &sa->sa_family);
  if (family == 2 /* AF_INET */) {
    struct sockaddr_in *in = (struct sockaddr_in *)sa;
    __u16 port = 0;
    a->family = 2;
    __builtin_memset(a->bytes, 0, 10);
    a->bytes[10] = 0xff;
    a->bytes[11] = 0xff;
    bpf_probe_read_kernel(&a->bytes[12], 4, &in->sin_addr);
    bpf_probe_read_kernel(&port, 2, &in->sin_port);
    *int_of(ev, port_slot) = __builtin_bswap16(port);
  } else if (family == 10 /* AF_INET6 */) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
    __u16 port = 0;
    a->family = 10;
    bpf_probe_read_kernel(a->bytes, 16, &in6->sin6_addr);
    bpf_probe_read_kernel(&port, 2, &in6->sin6_port);
    *int_of(ev, port_slot) = __builtin_bswap16(port);
  }
}

#endif
