/*
 * admin: the administrator's commands that change who and what tipd
 * knows, run from the command line against the database:
 *
 *     tipd units import RULES.json
 *     tipd token create --unit UNIT --role ROLE --name NAME
 *     tipd token revoke ID
 *
 * They use blocking libpq: each is one short transaction, run by a person.
 */
#ifndef TIPD_ADMIN_H
#define TIPD_ADMIN_H

#include <stdio.h>

/*
 * Imports the units of a rules file (its "units" array of {id, name}):
 * inserts or renames each, sets its level from its code and its parent to
 * the nearest imported ancestor, and gives it the queues default and
 * review. 0, or -1 with a message in err.
 */
int admin_units_import(const char *conninfo, const char *path, int *count,
                       char *err, size_t errlen);

/*
 * Creates a staff member (or finds the one with this unit and name, who
 * must have the same role) and a new token for them, written to out once.
 * 0, or -1 with a message in err.
 */
int admin_token_create(const char *conninfo, const char *unit, const char *role,
                       const char *name, FILE *out, char *err, size_t errlen);

/*
 * Adds a staff member (or finds the one with this unit and name, who must
 * have the same role), without a token; prints their id to out. 0, or -1
 * with a message in err.
 */
int admin_staff_add(const char *conninfo, const char *unit, const char *role,
                    const char *name, FILE *out, char *err, size_t errlen);

/* Revokes token id. 0, or -1 with a message in err. */
int admin_token_revoke(const char *conninfo, const char *id, char *err,
                       size_t errlen);

/* The SHA-256 of a presented token, as stored. */
void admin_token_hash(const char *token, size_t len, unsigned char out[32]);

#endif
