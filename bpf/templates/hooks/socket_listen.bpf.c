/* Template for hook net.listen (LSM socket_listen). */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(NET_LISTEN)

SEC("lsm/socket_listen")
int BPF_PROG(bw_socket_listen, struct socket *sock, int backlog, int ret) {
  return BW_HOOK_BODY(ctx, NET_LISTEN, ret, 1, ({
    BW_INT(ev, NET_LISTEN, net_family) = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
    BW_INT(ev, NET_LISTEN, net_sport) = BPF_CORE_READ(sock, sk, __sk_common.skc_num);
  }));
}
