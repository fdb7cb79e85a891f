/*
 * failinject: a test build's deliberate failures (spec issue 8). Built only
 * with -DTIPD_FAILINJECT=ON, which links tipd with `ld --wrap` around the
 * calls below, so the code under test is the production code unchanged:
 *
 *   alloc  malloc, calloc, realloc made by tipd's own code (libraries
 *          allocate through their own references and are not touched)
 *   write  uv_write, the only way tipd writes to a client
 *   pq     the libpq calls that send, flush, read or connect (PQsend*,
 *          PQexec*, PQpipelineSync, PQflush, PQconsumeInput,
 *          PQconnectStart, PQenterPipelineMode)
 *
 * TIPD_FAILINJECT=KIND:N makes the Nth such call after the server is
 * listening fail the way the real call fails (NULL, 0, -1 or UV_EPIPE);
 * every later call succeeds. TIPD_FAILINJECT=count fails nothing. Either
 * way tipd prints one line at exit, "failinject: alloc=A write=W pq=P
 * failed=KIND:N", the counts the sweep (tests/fault/failinject.sh) uses to
 * choose its N.
 */
#ifndef TIPD_FAILINJECT_H
#define TIPD_FAILINJECT_H

#ifdef TIPD_FAILINJECT
/* Starts counting; called once the listeners are up, so N counts calls
 * made while serving, not while reading the configuration. */
void failinject_arm(void);
#else
static inline void failinject_arm(void)
{
}
#endif

#endif
