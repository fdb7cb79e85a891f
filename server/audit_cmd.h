/*
 * audit_cmd: the audit log's offline commands (`tipd audit verify`,
 * `tipd audit head`).
 */
#ifndef TIPD_AUDIT_CMD_H
#define TIPD_AUDIT_CMD_H

/* Runs `tipd audit ARGS` against the database conninfo (borrowed).
 * Returns the exit status: 0 verified, 1 a broken chain (or no database),
 * 2 usage. */
int audit_cmd_main(const char *conninfo, int argc, char **argv);

#endif
