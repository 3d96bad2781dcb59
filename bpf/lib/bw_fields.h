/* Fields the library extracts for the templates: the process fields every hook shares
 * (bw_fill_common, slots fixed by bw_match.h) and socket addresses (bw_sockaddr). */
#ifndef BULWARK_BW_FIELDS_H
#define BULWARK_BW_FIELDS_H

/* The common fields read through the current task. */
#define BW_NEED_TASK                                                                               \
  (BW_NEED_INT(2) | BW_NEED_INT(5) | BW_NEED_STR(0) | BW_NEED_STR(2) | BW_NEED_STR(3) | BW_NEED_STR(4))

/* Those of `need` into `ev`, from `t`, the current task's BTF pointer: plain loads where a
 * field is a number, a probe read only for each string's bytes. */
static __always_inline void fill_task_fields(struct bw_event *ev, __u64 need, struct task_struct *t) {
  if (need & BW_NEED_INT(2))
    ev->ints[2] = t->real_parent->tgid;
  if (need & BW_NEED_INT(5))
    ev->ints[5] = t->cred->euid.val;
  if (need & BW_NEED_STR(0))
    bw_task_comm(t, &ev->strs[0]);
  if (need & BW_NEED_STR(2))
    task_cgroup(t, &ev->strs[2]);
  if (need & BW_NEED_STR(3))
    bw_task_comm(t->real_parent, &ev->strs[3]);
  if ((need & BW_NEED_STR(4)) && ev->strs[4].len == 0 && !ev->strs[4].object_only)
    bw_task_exe(t->real_parent, &ev->strs[4]); /* object only: as process.exe */
}

BW_API void bw_fill_common(struct bw_event *ev, __u64 need) {
  if (need & (BW_NEED_INT(0) | BW_NEED_INT(1))) {
    __u64 pt = bpf_get_current_pid_tgid();
    ev->ints[0] = (__u32)pt;
    ev->ints[1] = pt >> 32;
  }
  if (need & (BW_NEED_INT(3) | BW_NEED_INT(4))) {
    __u64 ug = bpf_get_current_uid_gid();
    ev->ints[3] = (__u32)ug;
    ev->ints[4] = ug >> 32;
  }
  if ((need & BW_NEED_STR(1)) && ev->strs[1].len == 0 && !ev->strs[1].object_only)
    bw_current_exe(&ev->strs[1], 0); /* object only: when a lookup first reads it (bw_match_object) */
  if (need & BW_NEED_TASK)
    fill_task_fields(ev, need, bpf_get_current_task_btf());
}

/* `sa` is the hook's BTF pointer to the kernel's copy of the address. A sockaddr_in's port
 * and address lie within struct sockaddr's 16 bytes, so plain loads read them (the verifier
 * allows any read inside the sa_data array); a sockaddr_in6's address lies past them and is
 * read with a probe read. */
BW_API void bw_sockaddr(struct sockaddr *sa, struct bw_event *ev, __u32 addr_slot, __u32 port_slot) {
  struct bw_addr *a = &ev->addrs[addr_slot & (BW_ADDR_SLOTS - 1)];
  if (!sa)
    return;
  const __u8 *raw = (const __u8 *)sa; /* plain offsets: no CO-RE relocation on sa_data */
  __u16 family = *(const __u16 *)raw;
  if (family == 2 /* AF_INET */) {
    __u32 addr = *(const __u32 *)(raw + 4); /* sin_addr */
    a->family = 2;
    __builtin_memset(a->bytes, 0, 10);
    a->bytes[10] = 0xff;
    a->bytes[11] = 0xff;
    __builtin_memcpy(&a->bytes[12], &addr, 4);
    *int_of(ev, port_slot) = __builtin_bswap16(*(const __u16 *)(raw + 2)); /* sin_port */
  } else if (family == 10 /* AF_INET6 */) {
    a->family = 10;
    bpf_probe_read_kernel(a->bytes, 16, &((struct sockaddr_in6 *)sa)->sin6_addr);
    *int_of(ev, port_slot) = __builtin_bswap16(*(const __u16 *)(raw + 2)); /* sin6_port */
  }
}

#endif
