/* tls.h — TLS client connections for upstream calls (mbed TLS).
 *
 * The trusted CA certificates are read once per process, when the first
 * TLS connection is made, from the file named by tls_set_ca_file() (the
 * config's [upstream] ca_file), else $SSL_CERT_FILE, else the system's
 * bundle.
 * A worker keeps one struct tls_client (random generator and settings);
 * each connection is a struct tls_conn over a non-blocking socket. */
#ifndef LLMGATE_TLS_H
#define LLMGATE_TLS_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TLS_DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

struct tls_client;
struct tls_conn;

/* The CA file for every connection made after this call's first one takes
 * effect (the CA set is read once); NULL: $SSL_CERT_FILE or the default. */
void tls_set_ca_file(const char *path);

struct tls_client *tls_client_new(char *err, size_t errlen);
void tls_client_free(struct tls_client *c);

/* Handshake on the connected socket fd with host (SNI and the name the
 * certificate must carry), until deadline_ms (monotonic). Between two
 * steps it waits with wait(fd, POLLIN or POLLOUT, deadline_ms) (1 ready,
 * 0 deadline, -1 error: an event loop's wait, upstream.h), or with
 * poll(2) when wait is NULL. NULL and err on failure; the fd stays the
 * caller's either way. */
struct tls_conn *tls_connect(struct tls_client *c, int fd, const char *host, int64_t deadline_ms,
			     int (*wait)(int fd, short ev, int64_t deadline), char *err, size_t errlen);
/* Like read/write on a non-blocking socket: bytes, 0 at a clean end, or -1
 * with errno EAGAIN (wait for *want: 1 readable, 2 writable) or another
 * errno (failure; err says what). */
ssize_t tls_read(struct tls_conn *t, void *buf, size_t n, int *want, char *err, size_t errlen);
ssize_t tls_write(struct tls_conn *t, const void *buf, size_t n, int *want, char *err, size_t errlen);
/* Decrypted bytes already buffered (readable without the socket). */
size_t tls_pending(struct tls_conn *t);
/* 1 when the connection's records are sealed with an AEAD cipher (GCM,
 * CCM, ChaCha20-Poly1305): reading them, and its closing alert, need
 * nothing of its tls_client (whose random generator belongs to one
 * thread), so it may be read to its end on another thread. */
int tls_movable(struct tls_conn *t);
/* Frees the connection state (sends close_notify when orderly). */
void tls_close(struct tls_conn *t, int orderly);
#endif
