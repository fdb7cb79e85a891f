/*
 * config: every limit, timeout and setting of tipd in one table.
 *
 * CONFIG_MAP is the single source: the struct fields, the defaults, the
 * bounds checked at start-up, `tipd serve --help`'s list and the annotated
 * example in deploy/ (a test checks the example names every key) all come
 * from it. Values are layered: built-in default, then the config file
 * (`--config FILE` or $TIPD_CONFIG), then environment variables
 * (TIPD_<KEY IN UPPER CASE>), then `--set key=value` flags. A bad value is
 * rejected with a message naming where it came from and the key.
 *
 * Secrets (the receipt key, gateway keys) are never values in this table:
 * the table holds the path of a file that contains them, or the secret
 * comes from the environment, so the config file can be shared and
 * committed without leaking anything.
 */
#ifndef TIPD_CONFIG_H
#define TIPD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/*
 * U(name, default, min, max, help): an unsigned integer within [min, max].
 * S(name, default, help): a string.
 */
#define CONFIG_MAP(U, S)                                                       \
    S(listen_address, "127.0.0.1", "IPv4 or IPv6 address to listen on")        \
    U(listen_port, 8080, 1, 65535, "TCP port to listen on")                    \
    U(workers, 0, 0, 256,                                                      \
      "event-loop threads, each with its own SO_REUSEPORT listener; "          \
      "0 = one per CPU")                                                       \
    U(max_connections, 4096, 1, 1000000,                                       \
      "open client connections across all workers; more are closed at "        \
      "accept")                                                                \
    U(listen_backlog, 1024, 1, 65535, "listen(2) backlog per worker")          \
    S(tls_cert_file, "",                                                       \
      "PEM file of the server certificate, then its chain; with "              \
      "tls_key_file, listen_port speaks HTTPS only (TLS 1.2 and 1.3); both "   \
      "empty: plain HTTP. Both read again on SIGHUP; a file that fails to "    \
      "load is refused and the certificate in force stays")                    \
    S(tls_key_file, "",                                                        \
      "PEM file of the certificate's private key, unencrypted (mode 600, "     \
      "owned by the tipd user)")                                               \
    U(tls_min_version, 12, 12, 13,                                             \
      "oldest TLS version accepted: 12 = TLS 1.2, 13 = TLS 1.3 only")          \
    S(tls_ciphers,                                                             \
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"             \
      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"             \
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",             \
      "TLS 1.2 cipher suites (OpenSSL's list syntax): forward secrecy and "    \
      "AEAD only; TLS 1.3's suites are all AEAD and keep OpenSSL's defaults")  \
    U(max_request_line_bytes, 8192, 64, 1048576,                               \
      "longest request line (method, target, version); longer is 414")         \
    U(max_header_line_bytes, 8192, 64, 1048576,                                \
      "longest single header line; longer is 431")                             \
    U(max_header_count, 64, 1, 10000, "most header fields; more is 431")       \
    U(max_head_bytes, 32768, 256, 4194304,                                     \
      "request line plus all headers; more is 431")                            \
    U(max_body_bytes, 4194304, 0, 1073741824,                                  \
      "largest request body a route may allow; routes set lower caps; "        \
      "more is 413")                                                           \
    U(max_response_bytes, 1048576, 4096, 1073741824,                           \
      "largest response tipd will build")                                      \
    U(header_timeout_ms, 10000, 100, 3600000,                                  \
      "total time to the end of a request's headers, from its first byte "     \
      "(from the connection's open for the first request, TLS handshake "      \
      "included); a slow sender is closed with 408")                           \
    U(body_timeout_ms, 60000, 100, 3600000,                                    \
      "total time to receive a request body")                                  \
    U(body_min_rate_bytes, 1024, 0, 1073741824,                                \
      "least body bytes per second, checked over each "                        \
      "body_rate_window_ms; 0 disables")                                       \
    U(body_rate_window_ms, 5000, 100, 3600000,                                 \
      "window over which body_min_rate_bytes is checked")                      \
    U(idle_timeout_ms, 30000, 100, 3600000,                                    \
      "keep-alive connection with no request in progress")                     \
    U(send_timeout_ms, 10000, 100, 3600000,                                    \
      "a response not fully taken by the client in this time closes the "      \
      "connection")                                                            \
    U(linger_timeout_ms, 2000, 0, 60000,                                       \
      "after an answer that closes the connection, time to drain what the "    \
      "client still sends, so it reads the answer instead of a reset")         \
    U(shutdown_timeout_ms, 4000, 0, 600000,                                    \
      "on SIGTERM, time given to in-flight requests before connections "       \
      "are closed")                                                            \
    S(database, "",                                                            \
      "libpq connection string of the tipd database, as the role tipd_app "    \
      "(deploy/roles.sql: intake and triage, no DDL); give a socket "          \
      "directory or hostaddr=, since a host name is resolved blocking")        \
    S(owner_database, "",                                                      \
      "libpq connection string of the schema's owner, used only by `tipd "     \
      "migrate` and the administration commands (units, staff, token, "        \
      "audit); empty: the database string")                                    \
    S(staff_database, "",                                                      \
      "libpq connection string of the staff API's sessions, which must log "   \
      "in as the role tipd_staff (row-level security walls it into the "       \
      "caller's unit); empty: the database string with user=tipd_staff")       \
    U(staff_group_max, 64, 1, 1000,                                            \
      "most staff actions committed in one transaction (group commit)")        \
    U(db_connect_timeout_ms, 5000, 100, 600000,                                \
      "a database connection attempt that takes longer is abandoned")          \
    U(db_probe_interval_ms, 1000, 50, 600000,                                  \
      "how often each worker checks its database session (readiness)")         \
    U(db_probe_timeout_ms, 2000, 50, 600000,                                   \
      "a probe unanswered this long marks the database unreachable")           \
    U(db_job_timeout_ms, 5000, 50, 600000,                                     \
      "a database job (one batch of statements) unanswered this long drops "   \
      "the connection; its requests get 503")                                  \
    U(db_reconnect_max_ms, 2000, 10, 600000,                                   \
      "longest wait between reconnection attempts (backoff doubles up to "     \
      "this)")                                                                 \
    U(intake_batch_max, 256, 1, 10000,                                         \
      "most reports in one group-commit transaction")                          \
    U(intake_max_pending, 4096, 1, 1000000,                                    \
      "reports waiting for a commit per worker; more are answered 503 "        \
      "before their body is read")                                             \
    U(intake_queue_timeout_ms, 3000, 10, 600000,                               \
      "a report waiting this long for its batch is answered 503")              \
    U(intake_batch_max_lines, 1000, 1, 100000,                                 \
      "most reports in one staff intake batch request; more is 413")           \
    U(form_max_files, 3, 0, 100, "attachments one web report may carry")       \
    U(form_max_file_bytes, 1048576, 0, 1073741824,                             \
      "largest attachment; the /report body is also capped by "                \
      "max_body_bytes")                                                        \
    U(form_regions_max_age_ms, 60000, 0, 86400000,                             \
      "each worker reads the public form's region list (the units) again "     \
      "when its copy is older than this; 0 reads it for every form")           \
    U(max_json_depth, 8, 2, 64,                                                \
      "deepest nesting of arrays and objects in a JSON body; deeper is 400")   \
    S(receipt_key_file, "",                                                    \
      "file holding the receipt HMAC key (64 hex digits); or set "             \
      "TIPD_RECEIPT_KEY")                                                      \
    U(rate_limit_per_minute, 30, 0, 1000000,                                   \
      "public requests (reports, status) per client per minute and worker; "   \
      "0 disables")                                                            \
    U(rate_limit_burst, 10, 1, 1000000,                                        \
      "requests a client may make at once before the rate applies")            \
    U(rate_limit_slots, 65536, 8, 16777216,                                    \
      "clients remembered per worker (fixed memory; the stalest is "           \
      "forgotten)")                                                            \
    U(rate_limit_ipv4_prefix, 32, 8, 32,                                       \
      "leading bits of an IPv4 address that name a client")                    \
    U(rate_limit_ipv6_prefix, 64, 16, 128,                                     \
      "leading bits of an IPv6 address that name a client")                    \
    U(rate_limit_key_rotation_s, 3600, 60, 604800,                             \
      "the in-memory key that hashes client addresses is replaced this "       \
      "often")                                                                 \
    S(sms_kannel_key_file, "",                                                 \
      "file holding the secret Kannel's get-url passes as key=...; or set "    \
      "TIPD_SMS_KANNEL_KEY; unset: /sms/kannel refuses every callback")        \
    S(sms_twilio_token_file, "",                                               \
      "file holding the Twilio auth token that signs callbacks; or set "       \
      "TIPD_SMS_TWILIO_TOKEN; unset: /sms/twilio refuses every callback")      \
    S(sms_twilio_url, "",                                                      \
      "the exact public URL the gateway calls for /sms/twilio (part of the "   \
      "signature)")                                                            \
    S(sms_generic_key_file, "",                                                \
      "file holding the HMAC-SHA256 key of /sms/generic; or set "              \
      "TIPD_SMS_GENERIC_KEY; unset: /sms/generic refuses every callback")      \
    S(sms_aliyun_key_file, "",                                                 \
      "file holding the secret of /sms/aliyun (Alibaba Cloud SMS uplink "      \
      "push: configure the URL .../sms/aliyun?key=SECRET); or set "            \
      "TIPD_SMS_ALIYUN_KEY; unset: /sms/aliyun refuses every callback")        \
    U(sms_cloud_batch_max, 100, 1, 1000,                                       \
      "most messages one cloud gateway callback may carry (a JSON array); "    \
      "more is 413")                                                           \
    U(sms_repeat_window_s, 60, 0, 86400,                                       \
      "an SMS without a gateway message id whose sender and text equal one "   \
      "received less than this many seconds before is a repeat: it gets the "  \
      "first reply and stores nothing; 0 disables")                            \
    U(sms_repeat_slots, 16384, 64, 16777216,                                   \
      "messages without a message id whose first sighting tipd remembers "     \
      "(32 bytes each, shared by the workers), so a repeat across a window's " \
      "edge is still one report")                                              \
    S(sms_status_keywords, "查询,CX,status",                                   \
      "comma-separated words that may precede a receipt code in a status "     \
      "SMS (an SMS that is only a code, or a keyword and a code, is "          \
      "answered with the report's state, not stored); ASCII case ignored")     \
    U(sms_status_per_hour, 6, 0, 1000000,                                      \
      "status SMS answered per sender (keyed hash of the number) per hour "    \
      "and worker; more get a 'try later' reply; 0 disables")                  \
    U(sms_status_burst, 3, 1, 1000,                                            \
      "status SMS a sender may send at once before sms_status_per_hour "       \
      "applies")                                                               \
    U(sms_parts_window_s, 600, 1, 86400,                                       \
      "the parts of a long SMS that arrive separately (UDH reference and "     \
      "sequence) are joined into one report; a message still missing parts "   \
      "this many seconds after its first is stored as a fragment report "      \
      "with the gaps marked")                                                  \
    U(sms_parts_max, 32, 2, 100,                                               \
      "most parts one long SMS may have; a part naming more is refused "       \
      "with 422")                                                              \
    U(sms_reply_max_chars, 200, 70, 1000,                                      \
      "longest reply SMS in characters (70 fit one UCS-2 SMS; Kannel's "       \
      "max-messages must allow the rest); a longer staff message in a "        \
      "status reply is cut with '…'")                                          \
    S(rules_file, "",                                                          \
      "the triage rules file (units, jurisdiction, categories, rules; "        \
      "spec/triage.md); empty: no triage. Read again on SIGHUP; a bad file "   \
      "is refused and the rules in force stay")                                \
    S(holidays_file, "",                                                       \
      "the working-day calendar of case deadlines (deploy/holidays.txt); "     \
      "read again on SIGHUP; empty, or a year it does not declare: Monday "    \
      "to Friday, with a warning")                                             \
    U(triage_enabled, 1, 0, 1,                                                 \
      "1 = run the triage worker (with a rules_file); only one worker among "  \
      "the tipd nodes of a database triages at a time")                        \
    U(triage_poll_interval_ms, 100, 10, 60000,                                 \
      "how often the triage worker looks for committed reports when it has "   \
      "caught up")                                                             \
    U(triage_batch_max, 2000, 1, 10000,                                        \
      "most reports triaged in one transaction")                               \
    U(triage_gap_timeout_ms, 10000, 100, 86400000,                             \
      "a report id missing below committed ones while an older transaction "   \
      "is still open is waited for this long, then rechecked on every poll "   \
      "(a report that commits late is still triaged)")                         \
    U(triage_timeout_ms, 30000, 100, 600000,                                   \
      "a triage statement or batch transaction unanswered this long drops "    \
      "the worker's connection; the batch is retried")                         \
    U(triage_memory_reports, 200000, 1000, 100000000,                          \
      "decided reports the triage worker keeps in memory to find duplicates "  \
      "and same-accused links (about 1.5 KB each for 600-character "           \
      "reports); past 1.5 times this it rebuilds from the newest, and a late " \
      "duplicate of a forgotten report opens a new case")                      \
    U(triage_nice, 0, 0, 19,                                                   \
      "scheduling niceness of the triage thread; 0 keeps triage level with "   \
      "intake in a burst that fills the CPUs (measured: 14,200 decisions/s "   \
      "beside 13,800 reports/s), higher gives intake the CPU first and lets "  \
      "a backlog build that triage works off after the burst")                 \
    U(triage_due_days_urgent, 1, 0, 1000,                                      \
      "working days from the received day to an urgent case's deadline")       \
    U(triage_due_days_high, 3, 0, 1000,                                        \
      "working days to a high-priority case's deadline")                       \
    U(triage_due_days_normal, 5, 0, 1000,                                      \
      "working days to a normal case's deadline")                              \
    U(triage_due_days_low, 15, 0, 1000,                                        \
      "working days to a low-priority case's deadline")                        \
    S(log_level, "info", "debug, info, warn or error")                         \
    U(log_requests, 0, 0, 1,                                                   \
      "1 = one log line per request (method, route, status, time; never an "   \
      "address)")

struct config {
#define U(name, def, min, max, help) uint64_t name;
#define S(name, def, help) char *name; /* owned */
    CONFIG_MAP(U, S)
#undef U
#undef S
};

/* Fills c with the built-in defaults. Free with config_cleanup. */
void config_init(struct config *c);
void config_cleanup(struct config *c);

/*
 * Applies one setting. origin names where it came from, for the message
 * ("deploy/tipd.conf:12", "TIPD_LISTEN_PORT", "--set"). Returns 0, or -1
 * after writing a message naming origin and key into err.
 */
int config_set(struct config *c, const char *key, const char *value,
               const char *origin, char *err, size_t errlen);

/* Loads a `key = value` file over c. 0, or -1 with err naming file:line. */
int config_load_file(struct config *c, const char *path, char *err,
                     size_t errlen);

/* Applies every TIPD_<KEY> environment variable. 0, or -1 with err. */
int config_load_env(struct config *c, char *err, size_t errlen);

/* Checks relations between keys that no single bound expresses. */
int config_validate(const struct config *c, char *err, size_t errlen);

/*
 * Reads the receipt key from $TIPD_RECEIPT_KEY or receipt_key_file into
 * key (32 bytes). 0, or -1 with err saying what to fix.
 */
int config_receipt_key(const struct config *c, unsigned char key[32], char *err,
                       size_t errlen);

/*
 * Reads a gateway secret from the environment variable env or, if that is
 * unset, from the file path (trailing newline removed) into out (cap
 * bytes, NUL-terminated). Returns 1 if configured, 0 if neither is set,
 * -1 with err if the file cannot be read or the secret is empty or larger
 * than cap - 1.
 */
int config_secret(const char *env, const char *path, char *out, size_t cap,
                  char *err, size_t errlen);

/* Writes the list of keys with defaults, bounds and help, for --help. */
void config_print_keys(void *file);

/* Number of keys, and the name of key i, for tests. */
size_t config_key_count(void);
const char *config_key_name(size_t i);

#endif
