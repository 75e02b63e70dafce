/*
 * The machine's limit: the benchmark protocol of raw_protocol.mjs in C, one
 * connection, non-blocking sockets and epoll. Reads go into a 256 KiB buffer
 * that is parsed into many frames; writes send many encoded frames per call.
 * Every received 16-byte tofu header is parsed (opCode validated, thl/bl
 * read) and frames are reassembled across reads, as the other contenders do.
 *
 *   c_epoll <server|client> <tcp|uds> <port|path> <pingpong|stream> <bodyBytes> <count> <warmup>
 *
 * Build: cc -O2 -o c_epoll c_epoll.c   (scripts/bench/main.mjs does it)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HEADER_SIZE 16
#define MAX_FRAME (HEADER_SIZE + 65535 + 65535)
#define IO_BYTES (256 * 1024)
#define OP_REQUEST 0
#define OP_RESPONSE 1

struct options {
  int server, tcp, stream;
  const char *address;
  int port;
  long size, count, warmup;
};

static void die(const char *what) {
  fprintf(stderr, "c_epoll: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void fail(const char *what, long value) {
  fprintf(stderr, "c_epoll: %s (%ld)\n", what, value);
  exit(1);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static size_t encode_frame(uint8_t *b, int op, uint32_t mid, const uint8_t *body, size_t bl) {
  b[0] = 0; b[1] = 1; b[2] = (uint8_t)op; b[3] = 0;
  b[4] = b[5] = b[6] = b[7] = 0;
  b[8] = mid >> 24; b[9] = mid >> 16; b[10] = mid >> 8; b[11] = mid;
  b[12] = b[13] = 0;
  b[14] = bl >> 8; b[15] = bl;
  if (bl > 0) memcpy(b + HEADER_SIZE, body, bl);
  return HEADER_SIZE + bl;
}

/* Size of the frame at b; exits on an invalid opCode. */
static size_t frame_size(const uint8_t *b) {
  int op = b[2] & 0x0f;
  if (op > 9) fail("received a frame with an invalid opCode", op);
  return HEADER_SIZE + ((size_t)b[12] << 8 | b[13]) + ((size_t)b[14] << 8 | b[15]);
}

static uint32_t mid_of(const uint8_t *b) {
  return (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];
}

/* ---- one connection: epoll, a read buffer with a carried partial frame, an output buffer ---- */

struct conn {
  int fd, ep;
  uint8_t *in;   /* carry (at most one partial frame) followed by fresh bytes */
  size_t in_len;
  uint8_t *out;
  size_t out_len, out_cap;
  int want_out;
};

static void set_interest(struct conn *c, int want_out) {
  if (c->want_out == want_out) return;
  struct epoll_event ev = { .events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.fd = c->fd };
  if (epoll_ctl(c->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl");
  c->want_out = want_out;
}

/* Writes what the output buffer holds; returns 1 when it is empty. */
static int flush_out(struct conn *c) {
  size_t off = 0;
  while (off < c->out_len) {
    ssize_t n = send(c->fd, c->out + off, c->out_len - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) break;
      if (errno == EINTR) continue;
      die("send");
    }
    off += (size_t)n;
  }
  memmove(c->out, c->out + off, c->out_len - off);
  c->out_len -= off;
  set_interest(c, c->out_len > 0);
  return c->out_len == 0;
}

static void queue_out(struct conn *c, int op, uint32_t mid, const uint8_t *body, size_t bl) {
  if (c->out_len + HEADER_SIZE + bl > c->out_cap) {
    c->out_cap = 2 * (c->out_len + HEADER_SIZE + bl);
    c->out = realloc(c->out, c->out_cap);
    if (c->out == NULL) die("realloc");
  }
  c->out_len += encode_frame(c->out + c->out_len, op, mid, body, bl);
}

typedef void (*frame_fn)(struct conn *c, const uint8_t *frame, size_t size, void *ctx);

/*
 * Reads until the socket would block, handing every complete frame to fn.
 * Returns 0 when the peer closed the connection, 1 otherwise.
 */
static int read_frames(struct conn *c, frame_fn fn, void *ctx) {
  for (;;) {
    ssize_t n = recv(c->fd, c->in + c->in_len, IO_BYTES, 0);
    if (n < 0) {
      if (errno == EAGAIN) return 1;
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) return 0;
      die("recv");
    }
    if (n == 0) return 0;
    size_t end = c->in_len + (size_t)n, pos = 0;
    while (end - pos >= HEADER_SIZE) {
      size_t size = frame_size(c->in + pos);
      if (end - pos < size) break;
      fn(c, c->in + pos, size, ctx);
      pos += size;
    }
    memmove(c->in, c->in + pos, end - pos);
    c->in_len = end - pos;
    if ((size_t)n < IO_BYTES) return 1;
  }
}

static void conn_init(struct conn *c, int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails harmlessly on UDS */
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) die("fcntl O_NONBLOCK");
  c->fd = fd;
  c->ep = epoll_create1(0);
  if (c->ep < 0) die("epoll_create1");
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
  if (epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  c->in = malloc(MAX_FRAME + IO_BYTES);
  c->in_len = 0;
  c->out_cap = IO_BYTES + MAX_FRAME;
  c->out = malloc(c->out_cap);
  c->out_len = 0;
  c->want_out = 0;
  if (c->in == NULL || c->out == NULL) die("malloc");
}

/* Waits for readiness; returns the epoll event mask. */
static uint32_t wait_ready(struct conn *c) {
  struct epoll_event ev;
  for (;;) {
    int n = epoll_wait(c->ep, &ev, 1, -1);
    if (n == 1) return ev.events;
    if (n < 0 && errno != EINTR) die("epoll_wait");
  }
}

/* ---- server ---- */

struct server_state {
  const struct options *o;
  long seen, expected;
};

static void on_request(struct conn *c, const uint8_t *f, size_t size, void *ctx) {
  struct server_state *s = ctx;
  if ((f[2] & 0x0f) != OP_REQUEST) fail("expected a Request, got opCode", f[2] & 0x0f);
  s->seen++;
  if (!s->o->stream) {
    queue_out(c, OP_RESPONSE, mid_of(f), f + HEADER_SIZE, size - HEADER_SIZE);
  } else if ((s->seen == s->o->warmup && s->o->warmup > 0) || s->seen == s->expected) {
    queue_out(c, OP_RESPONSE, 0, NULL, 0);
  }
}

static int listen_on(const struct options *o) {
  int fd;
  if (o->tcp) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  } else {
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(o->address) >= sizeof a.sun_path) fail("socket path too long", (long)strlen(o->address));
    strcpy(a.sun_path, o->address);
    unlink(o->address);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  }
  if (listen(fd, 16) < 0) die("listen");
  return fd;
}

static void run_server(const struct options *o) {
  int lfd = listen_on(o);
  printf("READY %s\n", o->address);
  fflush(stdout);
  int fd = accept(lfd, NULL, NULL);
  if (fd < 0) die("accept");
  close(lfd);
  if (!o->tcp) unlink(o->address);
  struct conn c;
  conn_init(&c, fd);
  struct server_state s = { .o = o, .seen = 0, .expected = o->warmup + o->count };
  for (;;) {
    uint32_t ev = wait_ready(&c);
    if (ev & EPOLLOUT) flush_out(&c);
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      int alive = read_frames(&c, on_request, &s);
      if (c.out_len > 0) flush_out(&c);
      if (!alive) break;
    }
  }
  close(fd);
}

/* ---- client ---- */

struct client_state {
  const struct options *o;
  long arrived;
  uint32_t expected_mid;
};

static void on_reply(struct conn *c, const uint8_t *f, size_t size, void *ctx) {
  struct client_state *s = ctx;
  (void)c;
  if ((f[2] & 0x0f) != OP_RESPONSE) fail("expected a Response, got opCode", f[2] & 0x0f);
  if (!s->o->stream) {
    if (mid_of(f) != s->expected_mid) fail("reply to the wrong request", (long)mid_of(f));
    if (size != (size_t)(HEADER_SIZE + s->o->size)) fail("reply of the wrong size", (long)size);
  }
  s->arrived++;
}

/* Serves the connection until `target` replies have arrived. */
static void await_replies(struct conn *c, struct client_state *s, long target) {
  while (s->arrived < target) {
    uint32_t ev = wait_ready(c);
    if (ev & EPOLLOUT) flush_out(c);
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      if (!read_frames(c, on_reply, s)) fail("the server closed the connection after replies", s->arrived);
    }
  }
}

static int connect_to(const struct options *o) {
  int fd;
  if (o->tcp) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  } else {
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(o->address) >= sizeof a.sun_path) fail("socket path too long", (long)strlen(o->address));
    strcpy(a.sun_path, o->address);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  }
  return fd;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Tells the runner where the timed part starts and ends (it reads both processes' CPU time there). */
static void mark_timed(const char *phase) {
  printf("TIMED %s\n", phase);
  fflush(stdout);
}

static void stream_phase(struct conn *c, struct client_state *s, const uint8_t *body, long n, uint32_t mid) {
  size_t frame = HEADER_SIZE + (size_t)s->o->size;
  long target = s->arrived + 1;
  while (n > 0 || c->out_len > 0) {
    while (n > 0 && c->out_len + frame <= IO_BYTES) {
      queue_out(c, OP_REQUEST, mid++, body, (size_t)s->o->size);
      n--;
    }
    if (!flush_out(c)) {
      uint32_t ev = wait_ready(c);
      if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !read_frames(c, on_reply, s)) {
        fail("the server closed the connection while streaming", n);
      }
    }
  }
  await_replies(c, s, target);
}

static void run_client(const struct options *o) {
  struct conn c;
  conn_init(&c, connect_to(o));
  struct client_state s = { .o = o, .arrived = 0, .expected_mid = 0 };
  uint8_t *body = malloc((size_t)o->size + 1);
  if (body == NULL) die("malloc");
  memset(body, 0x61, (size_t)o->size);
  if (!o->stream) {
    double *lat = malloc(sizeof(double) * (size_t)o->count);
    if (lat == NULL) die("malloc");
    double start = now_ms();
    for (long i = 0; i < o->warmup + o->count; i++) {
      if (i == o->warmup) {
        mark_timed("start");
        start = now_ms();
      }
      double t0 = now_ms();
      s.expected_mid = (uint32_t)(i + 1);
      queue_out(&c, OP_REQUEST, s.expected_mid, body, (size_t)o->size);
      flush_out(&c);
      await_replies(&c, &s, i + 1);
      if (i >= o->warmup) lat[i - o->warmup] = now_ms() - t0;
    }
    double seconds = (now_ms() - start) / 1e3;
    mark_timed("end");
    qsort(lat, (size_t)o->count, sizeof(double), by_value);
    long p50 = (long)(o->count * 0.5), p99 = (long)(o->count * 0.99);
    if (p99 >= o->count) p99 = o->count - 1;
    printf("{\"mode\":\"pingpong\",\"count\":%ld,\"seconds\":%.9f,\"perSec\":%.3f,\"p50Us\":%.3f,\"p99Us\":%.3f}\n",
           o->count, seconds, o->count / seconds, lat[p50] * 1e3, lat[p99] * 1e3);
  } else {
    if (o->warmup > 0) stream_phase(&c, &s, body, o->warmup, 1);
    mark_timed("start");
    double start = now_ms();
    stream_phase(&c, &s, body, o->count, (uint32_t)(o->warmup + 1));
    double seconds = (now_ms() - start) / 1e3;
    mark_timed("end");
    printf("{\"mode\":\"stream\",\"count\":%ld,\"seconds\":%.9f,\"perSec\":%.3f,\"mbPerSec\":%.3f}\n",
           o->count, seconds, o->count / seconds, o->count * (double)o->size / seconds / 1e6);
  }
  fflush(stdout);
  close(c.fd);
}

static long number(const char *name, const char *text, long min, long max) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno != 0 || *end != 0 || end == text || v < min || v > max) {
    fprintf(stderr, "c_epoll: the %s must be an integer %ld..%ld, got \"%s\"\n", name, min, max, text);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: c_epoll <server|client> <tcp|uds> <port|path> <pingpong|stream> <bodyBytes> <count> <warmup>\n");
    return 2;
  }
  struct options o = { 0 };
  o.server = strcmp(argv[1], "server") == 0;
  if (!o.server && strcmp(argv[1], "client") != 0) fail("the role must be server or client", 0);
  o.tcp = strcmp(argv[2], "tcp") == 0;
  if (!o.tcp && strcmp(argv[2], "uds") != 0) fail("the transport must be tcp or uds", 0);
  o.address = argv[3];
  if (o.tcp) o.port = (int)number("port", argv[3], 1, 65535);
  o.stream = strcmp(argv[4], "stream") == 0;
  if (!o.stream && strcmp(argv[4], "pingpong") != 0) fail("the mode must be pingpong or stream", 0);
  o.size = number("body size", argv[5], 0, 65535);
  o.count = number("count", argv[6], 1, 100000000);
  o.warmup = number("warm-up count", argv[7], 0, 100000000);
  if (o.server) run_server(&o);
  else run_client(&o);
  return 0;
}
