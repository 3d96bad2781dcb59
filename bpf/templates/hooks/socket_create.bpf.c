/* Template for hook net.socket (LSM socket_create); kernel-internal sockets are not
 * decided on. */
#include "../bw_lib.h"

BW_SHARED_HOOK_MAPS(NET_SOCKET)

SEC("lsm/socket_create")
int BPF_PROG(bw_socket_create, int family, int type, int protocol, int kern, int ret) {
  return BW_HOOK_BODY(ctx, NET_SOCKET, ret, !kern, ({
    BW_INT(ev, NET_SOCKET, socket_family) = family;
    BW_INT(ev, NET_SOCKET, socket_type) = type & 0xf; /* SOCK_TYPE_MASK */
    BW_INT(ev, NET_SOCKET, socket_protocol) = protocol;
  }));
}
