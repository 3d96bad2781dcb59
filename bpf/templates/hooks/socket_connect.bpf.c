/* Template for hook net.connect (LSM socket_connect). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(NET_CONNECT)

static __always_inline void extract(struct bw_event *ev, __u64 need, struct socket *sock,
                                    struct sockaddr *address) {
  BW_INT(ev, NET_CONNECT, net_family) = sock->sk->__sk_common.skc_family;
  if (BW_WANT(need, NET_CONNECT, net_daddr) || BW_WANT(need, NET_CONNECT, net_dport))
    bw_sockaddr(address, ev, BW_S_NET_CONNECT_net_daddr, BW_S_NET_CONNECT_net_dport);
}

/* The lane ends here: a quiet connect is kept for the dispatcher (bw_net_quiet.bpf.h). */
static __always_inline void keep_quiet(void *unused, int verdict) {
  bw_net_quiet_keep(bw_lane(), verdict);
}

SEC("lsm/socket_connect")
int BPF_PROG(bw_socket_connect, struct socket *sock, struct sockaddr *address, int addrlen,
             int ret) {
  struct bw_event *ev = bw_event_begin(BW_HOOK_NET_CONNECT);
  int verdict = BW_DECIDE_KEEPING(NET_CONNECT, ev, extract, sock, address);
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH_THEN(ctx, NET_CONNECT, verdict, keep_quiet, 0);
}
