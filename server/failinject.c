/*
 * failinject: the wrapped calls of a TIPD_FAILINJECT build (failinject.h).
 *
 * `ld --wrap=SYM` sends tipd's calls of SYM to __wrap_SYM and makes
 * __real_SYM the original, so each wrapper only decides whether this call
 * is the one to fail. One counter per kind, shared by every thread: which
 * call is the Nth depends on timing (the triage thread polls on its own),
 * so a failing run prints the call's stack to be found again.
 */
#include "failinject.h"

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define STACK_TRACE() __sanitizer_print_stack_trace()
#else
#define STACK_TRACE() ((void)0)
#endif

enum kind { K_ALLOC, K_WRITE, K_PQ, K_COUNT };

static const char *const kind_names[K_COUNT] = {"alloc", "write", "pq"};

static atomic_bool armed;
static atomic_ulong calls[K_COUNT];
static int fail_kind = -1;    /* set once, before armed */
static unsigned long fail_at; /* 1-based */
static atomic_bool failed;

/* Parsed when armed; other threads read fail_kind and fail_at only after
 * they see armed set (the store below publishes them). */
static void parse(void)
{
    const char *v = getenv("TIPD_FAILINJECT");
    if (v == NULL || strcmp(v, "count") == 0)
        return;
    for (int k = 0; k < K_COUNT; k++) {
        size_t n = strlen(kind_names[k]);
        if (strncmp(v, kind_names[k], n) == 0 && v[n] == ':') {
            char *end;
            unsigned long at = strtoul(v + n + 1, &end, 10);
            if (*end == '\0' && at > 0) {
                fail_kind = k;
                fail_at = at;
                return;
            }
        }
    }
    fprintf(stderr,
            "tipd: TIPD_FAILINJECT=%s: expected count, alloc:N, "
            "write:N or pq:N with N >= 1\n",
            v);
    exit(2);
}

void failinject_arm(void)
{
    parse();
    atomic_store(&armed, true);
}

/* Counts the call; true if it is the one to fail. */
static bool fail_now(enum kind k, void *site)
{
    if (!atomic_load_explicit(&armed, memory_order_acquire))
        return false;
    unsigned long n = atomic_fetch_add(&calls[k], 1) + 1;
    if ((int)k != fail_kind || n != fail_at)
        return false;
    atomic_store(&failed, true);
    /* fprintf may allocate, but not through the wrapper (libc's own
     * reference), so this cannot recurse into a second failure. */
    fprintf(stderr, "failinject: failing %s call %lu from %p\n", kind_names[k],
            n, site);
    STACK_TRACE(); /* symbolized in the sanitizer build the sweep uses */
    return true;
}

__attribute__((destructor)) static void report(void)
{
    if (!atomic_load(&armed))
        return;
    fprintf(stderr, "failinject: alloc=%lu write=%lu pq=%lu failed=%s:%lu\n",
            atomic_load(&calls[K_ALLOC]), atomic_load(&calls[K_WRITE]),
            atomic_load(&calls[K_PQ]),
            atomic_load(&failed) ? kind_names[fail_kind] : "none",
            atomic_load(&failed) ? fail_at : 0ul);
}

#define SITE __builtin_return_address(0)

/* The wrapped functions: each declared as the linker names them. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t count, size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t count, size_t n);
void *__wrap_realloc(void *p, size_t n);

void *__wrap_malloc(size_t n)
{
    return fail_now(K_ALLOC, SITE) ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t count, size_t n)
{
    return fail_now(K_ALLOC, SITE) ? NULL : __real_calloc(count, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    /* A failed realloc leaves the block as it was, as the real one does. */
    return fail_now(K_ALLOC, SITE) ? NULL : __real_realloc(p, n);
}

int __real_uv_write(uv_write_t *req, uv_stream_t *s, const uv_buf_t bufs[],
                    unsigned int n, uv_write_cb cb);
int __wrap_uv_write(uv_write_t *req, uv_stream_t *s, const uv_buf_t bufs[],
                    unsigned int n, uv_write_cb cb);

int __wrap_uv_write(uv_write_t *req, uv_stream_t *s, const uv_buf_t bufs[],
                    unsigned int n, uv_write_cb cb)
{
    /* The peer went away: what uv_write says for a closed socket. */
    return fail_now(K_WRITE, SITE) ? UV_EPIPE
                                   : __real_uv_write(req, s, bufs, n, cb);
}

/* libpq: one wrapper per call, failing as libpq does when the connection
 * is lost or memory runs out. */
#define PQ_WRAP(ret, name, failure, params, args)                              \
    ret __real_##name params;                                                  \
    ret __wrap_##name params;                                                  \
    ret __wrap_##name params                                                   \
    {                                                                          \
        return fail_now(K_PQ, SITE) ? (failure) : __real_##name args;          \
    }

PQ_WRAP(int, PQsendQueryParams, 0,
        (PGconn * c, const char *q, int n, const Oid *t, const char *const *v,
         const int *l, const int *f, int rf),
        (c, q, n, t, v, l, f, rf))
PQ_WRAP(int, PQsendQueryPrepared, 0,
        (PGconn * c, const char *s, int n, const char *const *v, const int *l,
         const int *f, int rf),
        (c, s, n, v, l, f, rf))
PQ_WRAP(int, PQsendPrepare, 0,
        (PGconn * c, const char *s, const char *q, int n, const Oid *t),
        (c, s, q, n, t))
PQ_WRAP(PGresult *, PQexec, NULL, (PGconn * c, const char *q), (c, q))
PQ_WRAP(PGresult *, PQexecParams, NULL,
        (PGconn * c, const char *q, int n, const Oid *t, const char *const *v,
         const int *l, const int *f, int rf),
        (c, q, n, t, v, l, f, rf))
PQ_WRAP(int, PQpipelineSync, 0, (PGconn * c), (c))
PQ_WRAP(int, PQflush, -1, (PGconn * c), (c))
PQ_WRAP(int, PQconsumeInput, 0, (PGconn * c), (c))
PQ_WRAP(int, PQenterPipelineMode, 0, (PGconn * c), (c))
PQ_WRAP(PGconn *, PQconnectStart, NULL, (const char *info), (info))
