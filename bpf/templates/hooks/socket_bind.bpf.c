/* Template for hook net.bind (LSM socket_bind). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(NET_BIND)

static __always_inline void extract(struct bw_event *ev, __u64 need, struct socket *sock,
                                    struct sockaddr *address) {
  BW_INT(ev, NET_BIND, net_family) = sock->sk->__sk_common.skc_family;
  if (BW_WANT(need, NET_BIND, net_saddr) || BW_WANT(need, NET_BIND, net_sport))
    bw_sockaddr(address, ev, BW_S_NET_BIND_net_saddr, BW_S_NET_BIND_net_sport);
}

SEC("lsm/socket_bind")
int BPF_PROG(bw_socket_bind, struct socket *sock, struct sockaddr *address, int addrlen,
             int ret) {
  int verdict = 0;
  struct bw_event *ev = bw_event_begin(BW_HOOK_NET_BIND);
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(NET_BIND, ev, extract, sock, address);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, NET_BIND, verdict);
}
