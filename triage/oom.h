/*
 * oom: what the triage library does when memory runs out. It cannot go on
 * without the memory and has nobody to hand an error to mid-decision, so it
 * stops the process (fail-stop, as the server's xmalloc does): a report is
 * acknowledged only once committed, and triage resumes from its watermark
 * after a restart, so stopping loses nothing. Saying so first lets an
 * operator (and the failure-injection sweep) tell it from a crash.
 */
#ifndef TIPD_TRIAGE_OOM_H
#define TIPD_TRIAGE_OOM_H

_Noreturn void oom_abort(void);

#endif
