/* oom: the triage library's fail-stop when memory runs out (oom.h). */
#include "oom.h"

#include <stdio.h>
#include <stdlib.h>

_Noreturn void oom_abort(void)
{
    /* fputs allocates nothing for an unbuffered stderr. */
    fputs("tipd: out of memory in triage\n", stderr);
    abort();
}
