/* tls.c — TLS client connections for upstream calls (mbed TLS). */
#include "autoconf.h"
#include "tls.h"
#include "clock.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/x509_crt.h>

struct tls_client {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	int has_ca;
};

struct tls_conn {
	mbedtls_ssl_context ssl;
	int fd;
	int sys_errno;          /* the socket's errno behind a failure */
};

/* The CA set: read once, then read-only and shared by every worker. */
static pthread_mutex_t ca_mu = PTHREAD_MUTEX_INITIALIZER;
static mbedtls_x509_crt ca_chain;
static int ca_loaded;           /* read under ca_mu until set */
static char *ca_file;

void tls_set_ca_file(const char *path)
{
	pthread_mutex_lock(&ca_mu);
	if (!ca_loaded) {
		free(ca_file);
		ca_file = path && *path ? strdup(path) : NULL;
	}
	pthread_mutex_unlock(&ca_mu);
}

static int ca_get(char *err, size_t errlen)
{
	int ok;
	pthread_mutex_lock(&ca_mu);
	if (!ca_loaded) {
		const char *path = ca_file;
		if (!path)
			path = getenv("SSL_CERT_FILE");
		if (!path || !*path)
			path = TLS_DEFAULT_CA_FILE;
		mbedtls_x509_crt_init(&ca_chain);
		int r = mbedtls_x509_crt_parse_file(&ca_chain, path);
		/* r > 0: that many certificates of the bundle were not understood
		 * (other kinds of entries); the rest are used */
		if (r < 0 || ca_chain.version == 0) {
			char m[120];
			mbedtls_strerror(r, m, sizeof(m));
			snprintf(err, errlen, "no CA certificates read from %s (%s)", path, r < 0 ? m : "none found");
			mbedtls_x509_crt_free(&ca_chain);
		} else {
			ca_loaded = 1;
		}
	}
	ok = ca_loaded;
	pthread_mutex_unlock(&ca_mu);
	return ok ? 0 : -1;
}

static void tls_errstr(int r, const char *what, char *err, size_t errlen)
{
	char m[160];
	mbedtls_strerror(r, m, sizeof(m));
	snprintf(err, errlen, "%s: %s", what, m);
}

struct tls_client *tls_client_new(char *err, size_t errlen)
{
	static const char *alpn[] = { "http/1.1", NULL };
	struct tls_client *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mbedtls_entropy_init(&c->entropy);
	mbedtls_ctr_drbg_init(&c->drbg);
	mbedtls_ssl_config_init(&c->conf);
	int r = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
				      (const unsigned char *)"llmgate", 7);
	if (r) {
		tls_errstr(r, "TLS random generator", err, errlen);
		goto fail;
	}
	r = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
					MBEDTLS_SSL_PRESET_DEFAULT);
	if (r) {
		tls_errstr(r, "TLS settings", err, errlen);
		goto fail;
	}
	mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
	mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_alpn_protocols(&c->conf, alpn);
	return c;
fail:
	tls_client_free(c);
	return NULL;
}

void tls_client_free(struct tls_client *c)
{
	if (!c)
		return;
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->entropy);
	free(c);
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls_conn *t = ctx;
	ssize_t r;
	do
		r = send(t->fd, buf, len, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r >= 0)
		return (int)r;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	t->sys_errno = errno;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct tls_conn *t = ctx;
	ssize_t r;
	do
		r = recv(t->fd, buf, len, 0);
	while (r < 0 && errno == EINTR);
	if (r >= 0)
		return (int)r;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return MBEDTLS_ERR_SSL_WANT_READ;
	t->sys_errno = errno;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

struct tls_conn *tls_connect(struct tls_client *c, int fd, const char *host, int64_t deadline_ms,
			     int (*wait)(int fd, short ev, int64_t deadline), char *err, size_t errlen)
{
	if (!c->has_ca) {
		if (ca_get(err, errlen) != 0)
			return NULL;
		mbedtls_ssl_conf_ca_chain(&c->conf, &ca_chain, NULL);
		c->has_ca = 1;
	}
	struct tls_conn *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->fd = fd;
	mbedtls_ssl_init(&t->ssl);
	int r = mbedtls_ssl_setup(&t->ssl, &c->conf);
	if (!r)
		r = mbedtls_ssl_set_hostname(&t->ssl, host);
	if (r) {
		tls_errstr(r, "TLS setup", err, errlen);
		goto fail;
	}
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	for (;;) {
		r = mbedtls_ssl_handshake(&t->ssl);
		if (!r)
			break;
		if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE) {
			uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
			if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags) {
				char info[200];
				int n = mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
				while (n > 0 && (info[n - 1] == '\n' || info[n - 1] == ' '))
					info[--n] = '\0';
				for (char *p = info; *p; p++)
					if (*p == '\n')
						*p = ';';
				snprintf(err, errlen, "certificate of %s not accepted: %s", host, info);
			} else if (t->sys_errno) {
				snprintf(err, errlen, "TLS handshake with %s: %s", host, strerror(t->sys_errno));
			} else {
				char m[160];
				mbedtls_strerror(r, m, sizeof(m));
				snprintf(err, errlen, "TLS handshake with %s: %s", host, m);
			}
			goto fail;
		}
		int64_t left = deadline_ms - mono_ms();
		if (left <= 0) {
			snprintf(err, errlen, "TLS handshake with %s timed out", host);
			errno = ETIMEDOUT;
			goto fail;
		}
		short ev = r == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT;
		struct pollfd pfd = { fd, ev, 0 };
		int w = wait ? wait(fd, ev, deadline_ms) : poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (w < 0 && (wait || errno != EINTR)) {
			snprintf(err, errlen, "TLS handshake with %s: %s", host, strerror(errno));
			goto fail;
		}
	}
	return t;
fail:
	mbedtls_ssl_free(&t->ssl);
	free(t);
	return NULL;
}

static ssize_t io_result(struct tls_conn *t, int r, int *want, char *err, size_t errlen)
{
	if (r >= 0)
		return r;
	if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
		*want = r == MBEDTLS_ERR_SSL_WANT_READ ? 1 : 2;
		errno = EAGAIN;
		return -1;
	}
	if (r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || r == MBEDTLS_ERR_SSL_CONN_EOF)
		return 0;
	if (t->sys_errno) {
		snprintf(err, errlen, "%s", strerror(t->sys_errno));
		errno = t->sys_errno;
	} else {
		tls_errstr(r, "TLS", err, errlen);
		errno = EPROTO;
	}
	return -1;
}

ssize_t tls_read(struct tls_conn *t, void *buf, size_t n, int *want, char *err, size_t errlen)
{
	return io_result(t, mbedtls_ssl_read(&t->ssl, buf, n), want, err, errlen);
}

ssize_t tls_write(struct tls_conn *t, const void *buf, size_t n, int *want, char *err, size_t errlen)
{
	return io_result(t, mbedtls_ssl_write(&t->ssl, buf, n), want, err, errlen);
}

size_t tls_pending(struct tls_conn *t)
{
	return mbedtls_ssl_get_bytes_avail(&t->ssl);
}

int tls_movable(struct tls_conn *t)
{
	const mbedtls_ssl_ciphersuite_t *cs =
		mbedtls_ssl_ciphersuite_from_id(mbedtls_ssl_get_ciphersuite_id(mbedtls_ssl_get_ciphersuite(&t->ssl)));
	if (!cs)
		return 0;
	switch (cs->cipher) {
	case MBEDTLS_CIPHER_AES_128_GCM: case MBEDTLS_CIPHER_AES_192_GCM: case MBEDTLS_CIPHER_AES_256_GCM:
	case MBEDTLS_CIPHER_AES_128_CCM: case MBEDTLS_CIPHER_AES_192_CCM: case MBEDTLS_CIPHER_AES_256_CCM:
	case MBEDTLS_CIPHER_CHACHA20_POLY1305:
	case MBEDTLS_CIPHER_ARIA_128_GCM: case MBEDTLS_CIPHER_ARIA_192_GCM: case MBEDTLS_CIPHER_ARIA_256_GCM:
	case MBEDTLS_CIPHER_CAMELLIA_128_GCM: case MBEDTLS_CIPHER_CAMELLIA_192_GCM: case MBEDTLS_CIPHER_CAMELLIA_256_GCM:
		return 1;
	default:
		return 0;
	}
}

void tls_close(struct tls_conn *t, int orderly)
{
	if (!t)
		return;
	if (orderly)
		(void)mbedtls_ssl_close_notify(&t->ssl);   /* best effort, non-blocking */
	mbedtls_ssl_free(&t->ssl);
	free(t);
}
