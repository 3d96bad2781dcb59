/* Template for hook net.listen (LSM socket_listen). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(NET_LISTEN)

static __always_inline void extract(struct bw_event *ev, __u64 need, struct socket *sock) {
  BW_INT(ev, NET_LISTEN, net_family) = sock->sk->__sk_common.skc_family;
  BW_INT(ev, NET_LISTEN, net_sport) = sock->sk->__sk_common.skc_num;
}

SEC("lsm/socket_listen")
int BPF_PROG(bw_socket_listen, struct socket *sock, int backlog, int ret) {
  int verdict = 0;
  struct bw_event *ev = bw_event_begin(BW_HOOK_NET_LISTEN);
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(NET_LISTEN, ev, extract, sock);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, NET_LISTEN, verdict);
}
