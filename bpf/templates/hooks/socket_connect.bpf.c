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
  int verdict = 0;
  int quiet = 1; /* out of the policy's cgroup scope: the quiet key holds the cgroup */
  struct bw_event *ev = bw_event_begin(BW_HOOK_NET_CONNECT);
  if (ev) {
    quiet = 0; /* the executable scope is not in the key */
    if (bw_in_scope(ev)) {
      verdict = BW_DECIDE(NET_CONNECT, ev, extract, sock, address);
      quiet = ev->quiet;
    }
  }
  if (!quiet && bw_chained())
    bw_quiet_clear();
  if (!bw_chained() && ret) /* standalone: an earlier BPF LSM program's denial stands */
    verdict = ret;
  return BW_FINISH_THEN(ctx, NET_CONNECT, verdict, keep_quiet, 0);
}
