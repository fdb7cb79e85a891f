/*
 * triage_cmd: the offline triage command (`tipd triage`).
 */
#ifndef TIPD_TRIAGE_CMD_H
#define TIPD_TRIAGE_CMD_H

/* Runs `tipd triage` with the arguments after the command name;
 * default_rules (borrowed, may be NULL) is used without --rules. Returns
 * the exit status. */
int triage_cmd_main(const char *default_rules, int argc, char **argv);

#endif
