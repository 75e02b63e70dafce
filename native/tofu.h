/*
 * tofu native library: pollers and raw non-blocking socket calls.
 *
 * This header is the ABI contract between the C library and the TypeScript
 * bindings in ffi/. Rules (see DESIGN.md, "The native boundary"):
 *   - only 32-bit scalars and caller-owned byte/int buffers cross the boundary;
 *   - sockets and pollers live in a native handle table and cross as int32
 *     handles; a handle is never reused soon after it is closed (generation
 *     bits), so a stale handle gives TOFU_E_BADHANDLE, never another socket;
 *   - every call returns >= 0 on success and a negative TOFU_E_* code on
 *     failure; no call crashes on bad input (bad handle, null/short buffer,
 *     malformed address, absurd length);
 *   - at most 8 parameters per function.
 * Bump TOFU_ABI_VERSION whenever a signature or a meaning below changes.
 */
#ifndef TOFU_H
#define TOFU_H

#include <stdint.h>

#if defined(_WIN32)
#define TOFU_API __declspec(dllexport)
#else
#define TOFU_API __attribute__((visibility("default")))
#endif

#define TOFU_ABI_VERSION 5

/* ---- error codes (platform-neutral; errno and WSA codes map onto these) -- */
#define TOFU_OK 0
#define TOFU_E_AGAIN (-1)          /* would block; try again when ready */
#define TOFU_E_BADHANDLE (-2)      /* not a live handle of the right kind */
#define TOFU_E_INVAL (-3)          /* invalid argument: buffer, length, port */
#define TOFU_E_BADADDR (-4)        /* malformed numeric address */
#define TOFU_E_NAMETOOLONG (-5)    /* UDS path does not fit sun_path */
#define TOFU_E_NOMEM (-6)          /* out of memory or handle table full */
#define TOFU_E_MFILE (-7)          /* descriptor limit reached */
#define TOFU_E_ADDRINUSE (-8)      /* address or UDS path in use (live) */
#define TOFU_E_ADDRNOTAVAIL (-9)   /* address not on this host */
#define TOFU_E_ACCES (-10)         /* permission denied */
#define TOFU_E_NOENT (-11)         /* UDS path does not exist */
#define TOFU_E_NOTSOCK (-12)       /* UDS path exists and is not a socket */
#define TOFU_E_CONNREFUSED (-13)   /* nobody listens (or stale UDS file) */
#define TOFU_E_CONNRESET (-14)     /* peer reset the connection */
#define TOFU_E_PIPE (-15)          /* broken pipe / peer gone on send */
#define TOFU_E_TIMEDOUT (-16)      /* connect timed out */
#define TOFU_E_UNREACH (-17)       /* network or host unreachable */
#define TOFU_E_AFNOSUPPORT (-18)   /* address family not supported here */
#define TOFU_E_NOBACKEND (-19)     /* poller backend not compiled in */
#define TOFU_E_NOTCONN (-20)       /* socket not connected */
#define TOFU_E_UNSUPPORTED (-21)   /* not available on this OS, kernel or backend */
#define TOFU_E_OTHER (-99)         /* unmapped OS error; see tofu_last_os_error */

/* ---- backends ------------------------------------------------------------ */
#define TOFU_BACKEND_DEFAULT 0
#define TOFU_BACKEND_EPOLL 1
#define TOFU_BACKEND_KQUEUE 2
#define TOFU_BACKEND_POLL 3
#define TOFU_BACKEND_WSAPOLL 4
#define TOFU_BACKEND_AFD 5 /* Windows: IOCP + the AFD driver (like wepoll); the default there */
#define TOFU_BACKEND_LAST TOFU_BACKEND_AFD

/* ---- interest bits for register/modify ----------------------------------- */
#define TOFU_INTEREST_READ 1
#define TOFU_INTEREST_WRITE 2

/* ---- library identity ---------------------------------------------------- */
TOFU_API int32_t tofu_abi_version(void);
/* Writes the lowercase hex SHA-256 of the native/ sources this library was
 * built from (64 bytes, no NUL) into out; returns 64, or TOFU_E_INVAL if
 * cap < 64. */
TOFU_API int32_t tofu_source_hash(uint8_t *out, int32_t cap);
/* Bit mask of compiled-in backends: bit (1 << TOFU_BACKEND_x). */
TOFU_API int32_t tofu_backends(void);
/* The backend used for TOFU_BACKEND_DEFAULT on this OS. */
TOFU_API int32_t tofu_default_backend(void);
/* Raw OS error number (errno or WSAGetLastError) of the last failing call on
 * the calling thread; for diagnostics only. */
TOFU_API int32_t tofu_last_os_error(void);
/* Number of live handles (sockets + pollers) in the table; for leak tests. */
TOFU_API int32_t tofu_handle_count(void);

/* ---- poller -------------------------------------------------------------- */
/* Creates a poller with its own wake mechanism (eventfd on Linux; a pipe or
 * EVFILT_USER on BSD/macOS; a packet posted to the completion port with afd,
 * a loopback socket pair with wsapoll on Windows). */
TOFU_API int32_t tofu_poller_create(int32_t backend);
/* Backend id actually used by this poller. */
TOFU_API int32_t tofu_poller_backend(int32_t poller);
/* Wakes any park/wait, then frees the poller. Registered sockets stay open
 * and simply become unregistered. */
TOFU_API int32_t tofu_poller_destroy(int32_t poller);
/* Watch sock for `interest` (TOFU_INTEREST_* bits), tagging its events with
 * `token`. Registering an already registered socket behaves as modify;
 * modify of an unregistered socket behaves as register. Interest 0 means no
 * events at all, not even error/hang-up (the socket is kept out of the OS
 * set). A socket belongs to at most one poller. */
TOFU_API int32_t tofu_poller_register(int32_t poller, int32_t sock, int32_t token, int32_t interest);
TOFU_API int32_t tofu_poller_modify(int32_t poller, int32_t sock, int32_t token, int32_t interest);
/* Stop watching sock. Unregistering a socket that is not registered is not an
 * error (returns 0). tofu_close does this implicitly. */
TOFU_API int32_t tofu_poller_unregister(int32_t poller, int32_t sock);
/* Waits up to timeout_ms (-1 = forever, 0 = just peek) and writes up to
 * `capacity` (token, raw mask) int32 pairs into events (so events must hold
 * 2 * capacity int32). Returns the number of pairs. The raw mask is the OS's
 * own readiness bits (see tofu_mask_bits); a socket may appear more than once
 * (kqueue reports read and write filters separately). A pending wake is
 * consumed and not reported (a woken wait with nothing else ready returns 0).
 * Safe to call while another thread is inside tofu_poller_park. */
TOFU_API int32_t tofu_poller_wait(int32_t poller, int32_t *events, int32_t capacity, int32_t timeout_ms);
/* tofu_poller_wait with the timeout in microseconds (-1 = forever, 0 = just
 * peek): same events, same wake rules. For short blocking waits on the
 * driving thread (a wait of tens of µs that returns as soon as a socket is
 * ready). Precision by backend: epoll uses epoll_pwait2 (kernels before 5.11:
 * epoll_wait, rounded up to whole ms); Linux poll uses ppoll; kqueue takes
 * the timespec; poll elsewhere and WSAPoll turn waits under 1 ms into a peek
 * and round longer ones up to whole ms; afd rounds every wait up to whole ms. The kernel's timer slack (50 µs by
 * default on Linux) may lengthen any wait. */
TOFU_API int32_t tofu_poller_wait_us(int32_t poller, int32_t *events, int32_t capacity, int32_t timeout_us);
/* Blocks up to timeout_ms until some registered socket is ready or the poller
 * is woken; returns 1 (ready or woken) or 0 (timed out). Consumes nothing: the
 * ready events stay for the next tofu_poller_wait. Meant to run on another
 * thread (a Deno nonblocking call or a Bun worker) while the JS thread goes on
 * registering, modifying and waiting with timeout 0; interest changes made
 * meanwhile are observed by the park. */
TOFU_API int32_t tofu_poller_park(int32_t poller, int32_t timeout_ms);
/* Interrupts a park or wait in progress, or the next one if none is; callable
 * from any thread; many wakes before a wait coalesce into one. */
TOFU_API int32_t tofu_poller_wake(int32_t poller);
/* ---- waiter: waiting off the calling thread, with a callback ------------ */
/* What a waiter passes to its callback. */
#define TOFU_WAITER_READY 1   /* something is ready or the poller was woken */
#define TOFU_WAITER_STOPPED 2 /* the last call: the waiter has stopped for good */
/* A waiter's callback, called on the waiter's own thread with the poller's
 * handle, so that one callback can serve every poller of a process. */
typedef void (*tofu_ready_fn)(int32_t poller, int32_t event);
/* Starts the poller's waiter: a thread of its own that, each time it is
 * armed, parks on the poller (as tofu_poller_park does: consuming nothing)
 * and then calls callback(TOFU_WAITER_READY). It is armed by tofu_waiter_arm
 * only, so it calls back at most once per arm; an arm made while the callback
 * runs is kept. tofu_poller_destroy stops it: it then calls
 * callback(TOFU_WAITER_STOPPED) once, last, and exits; the callback must stay
 * callable until then. Returns the waiter's number (>= 0, see
 * tofu_waiter_gone). One waiter per poller (a second start: TOFU_E_INVAL);
 * TOFU_E_NOMEM if the thread cannot be made. Meant for runtimes whose
 * callbacks can be called from any thread (Deno's thread-safe
 * UnsafeCallback, Bun's thread-safe JSCallback). */
TOFU_API int32_t tofu_waiter_start(int32_t poller, tofu_ready_fn callback);
/* Lets the waiter park once more (see tofu_waiter_start); cheap, never
 * blocks; arming again before the waiter has taken the arm changes nothing. TOFU_E_INVAL without a
 * waiter. */
TOFU_API int32_t tofu_waiter_arm(int32_t poller);
/* 1 once the waiter that tofu_waiter_start numbered `waiter` has returned
 * from its last callback (so a runtime may free the callback; the number is
 * then released), 0 while it runs, TOFU_E_INVAL for an unknown number. */
TOFU_API int32_t tofu_waiter_gone(int32_t waiter);
/* ---- kernel wake: readiness told by the kernel itself (ABI 5) ------------ */
/* Starts the kernel wake of `poller`: after each tofu_ring_arm, as soon as
 * the poller has something ready (or is woken), the kernel sends one byte on
 * `notify`, a connected stream socket (tofu_uds_connect) whose other end the
 * runtime's event loop reads; the byte arrives once per arm. No thread of
 * ours runs: on Linux an io_uring links a poll of the poller to the send, and
 * the send runs as task work of the thread that armed it, so that thread is
 * woken once, as by its own sockets. Call start, arm and destroy on that
 * thread. The ring holds `notify` until tofu_poller_destroy closes the ring
 * (close `notify` after that). TOFU_E_UNSUPPORTED where there is no such
 * mechanism (other OSes, kernels before 5.7 or without io_uring, sandboxes
 * that refuse it; tofu_last_os_error tells which) or the backend has no
 * descriptor of its own to poll (only epoll has); TOFU_E_INVAL when the poller
 * already has a waiter or a ring, or `notify` is not a data socket. */
TOFU_API int32_t tofu_ring_start(int32_t poller, int32_t notify);
/* Arms the kernel wake once (see tofu_ring_start); arming again before the
 * byte was sent changes nothing. A failure the last arm met (its send could
 * not be made) is returned here as a TOFU_E_* code; TOFU_E_INVAL without a
 * ring. */
TOFU_API int32_t tofu_ring_arm(int32_t poller);
/* Describes the raw masks of `backend` so TypeScript can translate them:
 * writes 8 int32 into out: [IN, OUT, ERR, HUP, NVAL, RDHUP, EOF, ERROR].
 * For epoll/poll/wsapoll the first six are the OS bit values (0 when absent);
 * afd reports what the AFD driver saw in epoll's bit values (IN, OUT, ERR,
 * HUP, RDHUP: a reset is IN|ERR|HUP, a refused connect OUT|ERR|HUP);
 * for kqueue the mask is (-filter & 0xffff) | (flags << 16) and entries are
 * IN = 1 (read filter), OUT = 2 (write filter), EOF = EV_EOF << 16,
 * ERROR = EV_ERROR << 16. Returns 8. */
TOFU_API int32_t tofu_mask_bits(int32_t backend, int32_t *out, int32_t cap);

/* ---- sockets ------------------------------------------------------------- */
/* Every socket is non-blocking and close-on-exec; TCP data sockets get
 * TCP_NODELAY; data sockets get SO_LINGER {1, 0} (so tofu_close is
 * abortive unless told otherwise); SIGPIPE never fires. */

/* TCP listener on a numeric IPv4 or IPv6 address (ip_len bytes of text, no
 * brackets; empty = 0.0.0.0). SO_REUSEADDR only (Windows:
 * SO_EXCLUSIVEADDRUSE): a second listener on a live ip:port fails with
 * TOFU_E_ADDRINUSE. port 0 = ephemeral (see tofu_local_port). */
TOFU_API int32_t tofu_tcp_listen(const uint8_t *ip, int32_t ip_len, int32_t port, int32_t backlog);
/* Starts a non-blocking TCP connect to a numeric address; returns the handle
 * (connected or in progress). Register it for WRITE and call
 * tofu_connect_check when it becomes writable (or reports an error). */
TOFU_API int32_t tofu_tcp_connect(const uint8_t *ip, int32_t ip_len, int32_t port);
/* UDS listener. Path rules: len must fit sun_path with its NUL (< 108 Linux
 * and Windows, < 104 macOS/BSD) else TOFU_E_NAMETOOLONG; a leading NUL byte
 * (Linux) names an abstract socket; path_len 0 creates a fresh temporary
 * path (read it back with tofu_uds_path). Never deletes what it does not
 * own: nothing there -> bind; a live socket (connect succeeds) ->
 * TOFU_E_ADDRINUSE; a stale socket (connect refused) -> unlink, bind; not a
 * socket -> TOFU_E_NOTSOCK, file untouched. Records device/inode so that
 * close unlinks the path only if it is still this listener's socket. */
TOFU_API int32_t tofu_uds_listen(const uint8_t *path, int32_t path_len, int32_t backlog);
/* Non-blocking UDS connect; missing path -> TOFU_E_NOENT; stale socket file
 * -> TOFU_E_CONNREFUSED. Returns a handle as tofu_tcp_connect does. */
TOFU_API int32_t tofu_uds_connect(const uint8_t *path, int32_t path_len);
/* Copies a UDS listener's path into out; returns its length. */
TOFU_API int32_t tofu_uds_path(int32_t sock, uint8_t *out, int32_t cap);
/* After writability: 0 = connected, TOFU_E_AGAIN = still in progress,
 * negative = the connect failed (SO_ERROR mapped). */
TOFU_API int32_t tofu_connect_check(int32_t sock);
/* Accepts up to `capacity` pending connections into out (handles); returns
 * how many (0 = none pending, not an error). An error with nothing accepted
 * is returned as a negative code (e.g. TOFU_E_MFILE); an error after some
 * were accepted is reported by the next call. */
TOFU_API int32_t tofu_accept(int32_t listener, int32_t *out, int32_t capacity);
/* Sends len bytes of buf starting at off; returns bytes sent (may be short),
 * TOFU_E_AGAIN, or an error (TOFU_E_PIPE, TOFU_E_CONNRESET, ...). */
TOFU_API int32_t tofu_send(int32_t sock, const uint8_t *buf, int32_t off, int32_t len);
/* Receives up to len bytes into buf at off; returns bytes (> 0), 0 at EOF,
 * TOFU_E_AGAIN, or an error. */
TOFU_API int32_t tofu_recv(int32_t sock, uint8_t *buf, int32_t off, int32_t len);
/* Shuts down a direction: 0 read, 1 write, 2 both. */
TOFU_API int32_t tofu_shutdown(int32_t sock, int32_t how);
/* Unregisters from its poller, closes, frees the handle. abortive = 1 keeps
 * SO_LINGER {1,0} (RST for TCP); abortive = 0 clears it first (orderly FIN).
 * A UDS listener unlinks its path only if the path still has the inode it
 * bound. A second close of the same handle gives TOFU_E_BADHANDLE. */
TOFU_API int32_t tofu_close(int32_t sock, int32_t abortive);
/* Local port of a TCP socket (listener or connected). */
TOFU_API int32_t tofu_local_port(int32_t sock);

/* ---- ABI 3 ---------------------------------------------------------------- */

/* Buffers and pieces one tofu_sendv call can take. */
#define TOFU_SENDV_SLOTS 16
#define TOFU_SENDV_MAX_SEGS 64

/* Gather send: writes, in order, nsegs pieces described by segs, three int32
 * each (slot, off, len): len bytes of buffer `slot` (s0..s15) from off. One
 * call and one system call (sendmsg / WSASend) for the lot, so message bodies
 * go out from their own buffers instead of being copied into one. Unused
 * slots may repeat any buffer. Returns bytes sent (may be short: the caller
 * resumes from there), TOFU_E_AGAIN, or an error as tofu_send; TOFU_E_INVAL
 * for nsegs outside 0..TOFU_SENDV_MAX_SEGS, a slot outside 0..15, a NULL
 * buffer or a negative off or len. The caller checks each piece lies inside
 * its buffer (the C side cannot see lengths). */
TOFU_API int32_t tofu_sendv(int32_t sock, const int32_t *segs, int32_t nsegs, const uint8_t *s0,
                            const uint8_t *s1, const uint8_t *s2, const uint8_t *s3,
                            const uint8_t *s4, const uint8_t *s5, const uint8_t *s6,
                            const uint8_t *s7, const uint8_t *s8, const uint8_t *s9,
                            const uint8_t *s10, const uint8_t *s11, const uint8_t *s12,
                            const uint8_t *s13, const uint8_t *s14, const uint8_t *s15);

/* ---- ABI 4 ---------------------------------------------------------------- */

/* Writes the OS's own name of an OS error number (as tofu_last_os_error
 * gives it: "ECONNREFUSED" on POSIX, "WSAECONNREFUSED" or
 * "ERROR_FILE_NOT_FOUND" on Windows), no NUL, into out; returns its length,
 * 0 for a number the library has no name for, or TOFU_E_INVAL for a NULL out
 * or a cap that is too small (32 bytes always suffice). */
TOFU_API int32_t tofu_os_error_name(int32_t os_error, uint8_t *out, int32_t cap);

#endif
