// A diagnostic for ota_bench: LD_PRELOAD it into a program to set TCP_NODELAY on every TCP socket it
// connects. Paho C (the core's MQTT client) does not set it, and Nagle's algorithm with delayed ACKs then
// holds a chunk on the core's socket for tens of milliseconds (docs/ota.md, Performance).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
int connect(int fd, const struct sockaddr* a, socklen_t l) {
  static int (*real)(int, const struct sockaddr*, socklen_t);
  if (!real) real = dlsym(RTLD_NEXT, "connect");
  if (a->sa_family == AF_INET || a->sa_family == AF_INET6) { int one = 1; setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); }
  return real(fd, a, l);
}
