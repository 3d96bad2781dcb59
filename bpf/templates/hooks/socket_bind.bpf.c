/* Template for hook net.bind (LSM socket_bind). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(NET_BIND)

SEC("lsm/socket_bind")
int BPF_PROG(bw_socket_bind, struct socket *sock, struct sockaddr *address, int addrlen,
             int ret) {
  return BW_HOOK_BODY(ctx, NET_BIND, ret, 1, ({
    BW_INT(ev, NET_BIND, net_family) = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
    if (BW_WANT(need, NET_BIND, net_saddr) || BW_WANT(need, NET_BIND, net_sport))
      bw_sockaddr(address, ev, BW_S_NET_BIND_net_saddr, BW_S_NET_BIND_net_sport);
  }));
}
