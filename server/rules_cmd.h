/*
 * rules_cmd: `tipd rules check FILE`, which validates a rules file offline
 * (no configuration, no database) with the same loader the server uses, so
 * a file can be checked before it is deployed or reloaded.
 */
#ifndef TIPD_RULES_CMD_H
#define TIPD_RULES_CMD_H

/*
 * argv: the arguments after `tipd rules` ("check FILE", or "--help"),
 * borrowed. Prints "FILE: ok (N units, N ranks, N categories, N rules)" on
 * stdout and returns 0; or the error ("FILE:LINE: PATH: ...") on stderr and
 * returns 1; or the usage on stderr and returns 2 for bad arguments.
 */
int rules_check_main(int argc, char **argv);

#endif
