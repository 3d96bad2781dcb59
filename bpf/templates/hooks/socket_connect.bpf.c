/* Template for hook net.connect (LSM socket_connect). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(NET_CONNECT)

static __always_inline void extract(struct bw_event *ev, __u64 need, struct socket *sock,
                                    struct sockaddr *address) {
  BW_INT(ev, NET_CONNECT, net_family) = sock->sk->__sk_common.skc_family;
  if (BW_WANT(need, NET_CONNECT, net_daddr) || BW_WANT(need, NET_CONNECT, net_dport))
    bw_sockaddr(address, ev, BW_S_NET_CONNECT_net_daddr, BW_S_NET_CONNECT_net_dport);
}

SEC("lsm/socket_connect")
int BPF_PROG(bw_socket_connect, struct socket *sock, struct sockaddr *address, int addrlen,
             int ret) {
  int verdict = 0;
  struct bw_event *ev = bw_event_begin(BW_HOOK_NET_CONNECT);
  if (ev && bw_in_scope(ev))
    verdict = BW_DECIDE(NET_CONNECT, ev, extract, sock, address);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH(ctx, NET_CONNECT, verdict);
}
