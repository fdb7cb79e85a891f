/*
 * audit_cmd: `tipd audit verify` and `tipd audit head`.
 *
 * The chain is recomputed here, outside the database, from the stored
 * columns: hash(n) = SHA-256(hash(n-1) || text(n)), with text(n) built
 * exactly as audit_row_text() in migrations/0005_casework.sql builds it
 * (fields joined by '|', NULL as empty, detail as jsonb's text). A verifier
 * that trusted a database function could be fooled by whoever can replace
 * the function; this one only trusts the columns, and the head exported
 * earlier to outside custody catches a deleted tail.
 */
#include "audit_cmd.h"

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "util.h"

#define HEAD_TEXT 96 /* "ID:" + 64 hex digits */

static const char rows_sql[] =
    "SELECT id, at_us, coalesce(staff_id::text, ''), coalesce(unit_id, ''),"
    " coalesce(role, ''), action, coalesce(case_id::text, ''), detail::text,"
    " encode(prev_hash, 'hex'), encode(hash, 'hex')"
    " FROM audit_log WHERE id > $1::bigint ORDER BY id LIMIT 10000";

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
    if (strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char c = s[2 * i + (size_t)k];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                           : -1;
            if (d < 0)
                return -1;
            v = v * 16 + d;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

/* Walks the chain. Returns 0 (entries counted, last id and hash set), or
 * 1 with the first bad entry reported on stderr. */
static int walk(PGconn *pg, long long *count, long long *last_id,
                char last_hex[65])
{
    unsigned char prev[32] = {0};
    long long after = 0, expect_id = 1;
    *count = 0;
    *last_id = 0;
    hex(prev, 32, last_hex);
    for (;;) {
        char after_text[24];
        snprintf(after_text, sizeof(after_text), "%lld", after);
        const char *params[1] = {after_text};
        PGresult *res =
            PQexecParams(pg, rows_sql, 1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            fprintf(stderr, "tipd audit: reading audit_log: %s",
                    PQerrorMessage(pg));
            PQclear(res);
            return 2;
        }
        int n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            long long id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
            if (id != expect_id) {
                fprintf(stderr,
                        "tipd audit: entry %lld is missing (the next one is "
                        "%lld): the chain was cut\n",
                        expect_id, id);
                PQclear(res);
                return 1;
            }
            unsigned char stored_prev[32], stored[32], got[32];
            if (unhex(PQgetvalue(res, i, 8), stored_prev, 32) != 0 ||
                unhex(PQgetvalue(res, i, 9), stored, 32) != 0 ||
                memcmp(stored_prev, prev, 32) != 0) {
                fprintf(stderr,
                        "tipd audit: entry %lld does not follow entry %lld "
                        "(its prev_hash differs)\n",
                        id, id - 1);
                PQclear(res);
                return 1;
            }
            EVP_MD_CTX *md = EVP_MD_CTX_new();
            if (md == NULL)
                abort();
            EVP_DigestInit_ex(md, EVP_sha256(), NULL);
            EVP_DigestUpdate(md, prev, 32);
            for (int f = 0; f < 8; f++) {
                if (f > 0)
                    EVP_DigestUpdate(md, "|", 1);
                const char *v = PQgetvalue(res, i, f);
                EVP_DigestUpdate(md, v, strlen(v));
            }
            unsigned int len = 0;
            EVP_DigestFinal_ex(md, got, &len);
            EVP_MD_CTX_free(md);
            if (memcmp(got, stored, 32) != 0) {
                fprintf(stderr,
                        "tipd audit: entry %lld was changed after it was "
                        "written (its hash does not match its fields)\n",
                        id);
                PQclear(res);
                return 1;
            }
            memcpy(prev, stored, 32);
            after = id;
            expect_id = id + 1;
            (*count)++;
        }
        PQclear(res);
        if (n == 0)
            break;
    }
    *last_id = after;
    hex(prev, 32, last_hex);
    return 0;
}

static void help(FILE *f)
{
    fprintf(f, "usage: tipd audit verify [--head ID:HASH]\n"
               "       tipd audit head\n\n"
               "verify recomputes the audit log's hash chain from its rows "
               "and names the\nfirst entry that was changed, removed or "
               "does not follow its predecessor.\nWith --head (a head "
               "printed earlier by `tipd audit head` and kept\noutside the "
               "database) it also proves no entry up to that one was "
               "deleted.\nhead prints the latest entry's id and hash, for "
               "export to outside custody.\n");
}

int audit_cmd_main(const char *conninfo, int argc, char **argv)
{
    bool verify = argc >= 1 && strcmp(argv[0], "verify") == 0;
    bool head = argc == 1 && strcmp(argv[0], "head") == 0;
    const char *want = NULL;
    if (verify && argc == 3 && strcmp(argv[1], "--head") == 0)
        want = argv[2];
    else if (verify && argc != 1)
        verify = false;
    if (!verify && !head) {
        help(stderr);
        return 2;
    }
    long long want_id = 0;
    unsigned char want_hash[32];
    if (want != NULL) {
        const char *colon = strchr(want, ':');
        char *end = NULL;
        want_id = colon != NULL ? strtoll(want, &end, 10) : 0;
        if (colon == NULL || end != colon || want_id < 1 ||
            unhex(colon + 1, want_hash, 32) != 0) {
            fprintf(stderr, "tipd audit: --head takes ID:HASH as `tipd audit "
                            "head` prints it\n");
            return 2;
        }
    }
    char err[512];
    PGconn *pg = db_connect_blocking(conninfo, err, sizeof(err));
    if (pg == NULL) {
        fprintf(stderr, "tipd audit: %s\n", err);
        return 1;
    }
    long long count, last_id;
    char last_hex[65];
    int rc = walk(pg, &count, &last_id, last_hex);
    if (rc == 0 && want != NULL) {
        char sql[128];
        snprintf(sql, sizeof(sql),
                 "SELECT encode(hash, 'hex') FROM audit_log WHERE id = %lld",
                 want_id);
        PGresult *res = PQexec(pg, sql);
        char want_hex[65];
        hex(want_hash, 32, want_hex);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
            fprintf(stderr,
                    "tipd audit: the exported head %lld is gone: entries "
                    "were deleted (the log ends at %lld)\n",
                    want_id, last_id);
            rc = 1;
        } else if (strcmp(PQgetvalue(res, 0, 0), want_hex) != 0) {
            fprintf(stderr,
                    "tipd audit: entry %lld is not the exported head: the "
                    "log was rewritten from there\n",
                    want_id);
            rc = 1;
        }
        PQclear(res);
    }
    PQfinish(pg);
    if (rc != 0)
        return rc;
    if (head)
        printf("%lld:%s\n", last_id, last_hex);
    else
        printf("audit: %lld entries verified; head %lld:%s\n", count, last_id,
               last_hex);
    return 0;
}
