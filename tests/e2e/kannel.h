/*
 * kannel: a real Kannel gateway for end-to-end tests: Debian's bearerbox
 * and smsbox (package kannel) with fakesmsc (package kannel-extras) as the
 * SMS centre, all on loopback ports of their own, calling a running tipd
 * through the sms-service of deploy/kannel/kannel.conf.
 *
 * fakesmsc plays the phone network: it hands bearerbox one mobile-originated
 * message and prints every message bearerbox sends back (the reply SMS) as
 * "Got message N: <from to type data>", data url-encoded (for ucs-2,
 * UTF-16BE bytes). It never exits by itself, so each message gets its own
 * fakesmsc, killed once the reply arrived or the wait ran out.
 *
 * Every process is a child with PR_SET_PDEATHSIG, so a test killed by its
 * timeout takes Kannel with it; kannel_stop kills and reaps them all and is
 * safe to call at any point (e2e tests call it on every path out).
 */
#ifndef TIPD_TEST_E2E_KANNEL_H
#define TIPD_TEST_E2E_KANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct kannel {
    char dir[256];    /* logs and the generated configuration */
    char conf[320];   /* the kannel.conf in use */
    int tipd_port;    /* where the sms-service calls */
    char secret[128]; /* tipd's sms_kannel_key */
    int admin_port, smsbox_port, smsc_port;
    pid_t bearerbox, smsbox, fakesmsc;
    int messages;  /* fakesmsc runs so far, for log names */
    char log[400]; /* the current fakesmsc's output */
};

/* Options of one smsbox configuration. */
struct kannel_options {
    bool mo_recode;    /* smsbox mo-recode: UCS-2 arrives as UTF-8 */
    int retries;       /* smsbox http-request-retry */
    int retry_delay_s; /* smsbox http-queue-delay */
    bool split_parts;  /* bearerbox passes long messages' parts on one by
                          one (sms-combine-concatenated-mo = false) */
};

/*
 * Writes the configuration into dir (from deploy/kannel/kannel.conf, with
 * free ports) and starts bearerbox and smsbox. 0, or -1 after failing the
 * test (the reason and the logs printed).
 */
int kannel_start(struct kannel *k, const char *dir, int tipd_port,
                 const char *secret, const struct kannel_options *opt);

/* Stops smsbox and starts it again with other options (bearerbox keeps
 * its queue). 0, or -1 after failing the test. */
int kannel_restart_smsbox(struct kannel *k, const struct kannel_options *opt);

/*
 * One mobile-originated message: line is fakesmsc's "FROM TO TYPE DATA"
 * (TYPE text, data, ucs2 or udh; DATA url-encoded). kannel_send hands it
 * to bearerbox (0 once fakesmsc logged it sent, or -1 after failing the
 * test; a previous fakesmsc is stopped first); kannel_reply waits up to
 * timeout_ms for the reply and writes its type to type (cap 16) and its decoded
 * bytes to data (cap bytes, NUL-terminated; ucs-2 converted from UTF-16BE to
 * UTF-8). It returns the reply's length, or -1 if no reply came (not a test
 * failure by itself). kannel_mo is both.
 */
int kannel_send(struct kannel *k, const char *line);
int kannel_reply(struct kannel *k, int timeout_ms, char *type, char *data,
                 size_t cap);
int kannel_mo(struct kannel *k, const char *line, int timeout_ms, char *type,
              char *data, size_t cap);

/* How many lines of smsbox's log contain needle (e.g. an HTTP status). */
int kannel_smsbox_log_count(const struct kannel *k, const char *needle);

/* Kills and reaps every Kannel process; prints the logs' tails if the
 * test failed, else removes the files Kannel wrote (and dir, if that
 * empties it). */
void kannel_stop(struct kannel *k);

#endif
