/* Template for hook net.connect (LSM socket_connect). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(NET_CONNECT)

SEC("lsm/socket_connect")
int BPF_PROG(bw_socket_connect, struct socket *sock, struct sockaddr *address, int addrlen,
             int ret) {
  return BW_HOOK_BODY(ctx, NET_CONNECT, ret, 1, ({
    BW_INT(ev, NET_CONNECT, net_family) = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
    if (BW_WANT(need, NET_CONNECT, net_daddr) || BW_WANT(need, NET_CONNECT, net_dport))
      bw_sockaddr(address, ev, BW_S_NET_CONNECT_net_daddr, BW_S_NET_CONNECT_net_dport);
  }));
}
