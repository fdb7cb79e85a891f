/*
 * tls: HTTPS on tipd's own socket (OpenSSL), so the public endpoint needs
 * no proxy in front of it that could log the reporters' addresses.
 *
 * Two parts. struct tls_context holds the server's SSL_CTX: the
 * certificate and key of tls_cert_file and tls_key_file, TLS 1.2 and 1.3
 * only (tls_min_version), forward-secret AEAD suites only (tls_ciphers), no
 * compression, no renegotiation, ALPN http/1.1 or nothing. It keeps no
 * session cache and sends no session tickets: resuming a session would let
 * whoever holds the ticket key link a reporter's later visit to an earlier
 * one. On SIGHUP tls_context_reload builds a new SSL_CTX from the files and
 * swaps it in for new connections; connections already open keep theirs
 * (every SSL holds a reference on its SSL_CTX). A file that fails to load
 * leaves the context in force, and the log says which file and why.
 *
 * struct tls_conn is one connection's TLS engine between two memory BIOs:
 * the transport feeds it the ciphertext it reads, takes the plaintext out
 * for http_conn, gives it http_conn's answers to encrypt, and sends what
 * it takes from the output side. Nothing here touches a socket, so the
 * same code runs under libuv (worker.c) and in the unit tests, and the
 * transport decides every buffer's life: it drains the input after every
 * read (at most one read plus one partial record stays) and takes the
 * output after every call (at most one response plus a handshake's
 * flight).
 *
 * States (tls_conn_read and tls_conn_close_notify are the only writers):
 *
 *   HANDSHAKE --finished--> OPEN --peer's close_notify--> CLOSED
 *       \                     \
 *        +---- bad bytes ------+--> FAILED (an alert may wait in the output)
 */
#ifndef TIPD_TLS_H
#define TIPD_TLS_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "metrics.h"

struct tls_context {
    const struct config *config; /* borrowed: file names, version, ciphers */
    struct tls_metrics *metrics; /* borrowed: reload counters */
    pthread_mutex_t lock;        /* guards current */
    SSL_CTX *current;            /* owned reference; NULL: TLS is off */
    bool enabled;                /* current != NULL; set once at init */
};

/*
 * Loads the certificate and key named by config into a new SSL_CTX, or
 * leaves TLS off when tls_cert_file and tls_key_file are both empty.
 * 0, or -1 with err naming the key, the file and what is wrong with it.
 * config and metrics are borrowed and must outlive t.
 */
int tls_context_init(struct tls_context *t, const struct config *config,
                     struct tls_metrics *metrics, char *err, size_t errlen);
void tls_context_cleanup(struct tls_context *t);

/* Whether connections are TLS (constant after init). */
bool tls_context_enabled(const struct tls_context *t);

/*
 * Reads the certificate and key again into a new SSL_CTX and, if they
 * load, makes it the one new connections get. On failure the context in
 * force stays. Logs either outcome (tls_reloaded, tls_reload_refused) and
 * counts it in metrics. Any thread. 0, or -1.
 */
int tls_context_reload(struct tls_context *t);

#define TLS_CONN_STATE_MAP(X)                                                  \
    X(HANDSHAKE, "handshake")                                                  \
    X(OPEN, "open")                                                            \
    X(CLOSED, "closed")                                                        \
    X(FAILED, "failed")

enum tls_conn_state {
#define X(name, text) TLS_CONN_##name,
    TLS_CONN_STATE_MAP(X)
#undef X
};

struct tls_conn {
    SSL *ssl; /* owned */
    BIO *in;  /* owned by ssl: ciphertext received, not yet decrypted */
    BIO *out; /* owned by ssl: ciphertext to send */
    enum tls_conn_state state;
    bool handshaken;    /* the handshake finished (stays true) */
    const char *reason; /* static: OpenSSL's reason when FAILED */
};

/* One server-side connection on t's SSL_CTX in force now. Any thread.
 * 0, or -1 (OpenSSL is out of memory). */
int tls_conn_init(struct tls_conn *c, struct tls_context *t);
void tls_conn_cleanup(struct tls_conn *c);

/* Ciphertext from the peer (borrowed; copied). 0, or UV_ENOMEM. */
int tls_conn_feed(struct tls_conn *c, const char *data, size_t len);

/*
 * Decrypts into out: the plaintext bytes (> 0); 0 when nothing more can
 * come until more ciphertext is fed; UV_EOF when the peer sent its
 * close_notify; UV_EPROTO when the bytes are not acceptable TLS (a failed
 * handshake, a plain HTTP request, a bad record). Handshake bytes are
 * consumed here and the answer to them queued in the output.
 */
int tls_conn_read(struct tls_conn *c, char *out, size_t cap);

/* Encrypts len bytes (borrowed) into the output. 0, or UV_EPROTO when
 * the connection is not OPEN. */
int tls_conn_write(struct tls_conn *c, const void *data, size_t len);

/* Queues our close_notify if the connection is OPEN or CLOSED. */
void tls_conn_close_notify(struct tls_conn *c);

/* Ciphertext waiting to be sent, in bytes. */
size_t tls_conn_pending(struct tls_conn *c);

/* Moves the waiting ciphertext into out (cap >= tls_conn_pending).
 * Returns the bytes moved. */
size_t tls_conn_take(struct tls_conn *c, char *out, size_t cap);

const char *tls_conn_state_name(enum tls_conn_state s);

#endif
