/* Template for hook net.socket (LSM socket_create); kernel-internal sockets are not
 * decided on. */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(NET_SOCKET)

static __always_inline void extract(struct bw_event *ev, __u64 need, int family, int type,
                                    int protocol) {
  BW_INT(ev, NET_SOCKET, socket_family) = family;
  BW_INT(ev, NET_SOCKET, socket_type) = type & 0xf; /* SOCK_TYPE_MASK */
  BW_INT(ev, NET_SOCKET, socket_protocol) = protocol;
}

SEC("lsm/socket_create")
int BPF_PROG(bw_socket_create, int family, int type, int protocol, int kern, int ret) {
  int verdict = 0;
  struct bw_event *ev = !kern ? bw_event_begin(BW_HOOK_NET_SOCKET) : 0;
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(NET_SOCKET, ev, extract, family, type, protocol);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, NET_SOCKET, verdict);
}
