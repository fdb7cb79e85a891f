/*
 * main: tipd's command line. The one place that wires modules together:
 * it loads the configuration, then hands it to the subcommand.
 *
 *     tipd serve    run the HTTP server
 *     tipd migrate  bring the database schema up to date
 *     tipd units    import the units (commissions) from a rules file
 *     tipd token    create and revoke staff tokens
 *
 * Every subcommand takes --config FILE (or $TIPD_CONFIG), --set KEY=VALUE
 * (repeatable; after the file and the TIPD_* environment) and --help.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "config.h"
#include "log.h"
#include "migrate.h"
#include "router.h"
#include "server.h"
#include "audit_cmd.h"
#include "rules_cmd.h"
#include "triage_cmd.h"

#define TIPD_VERSION "0.1.0"

typedef int (*command_fn)(struct config *c, int argc, char **argv);

struct command {
    const char *name;
    command_fn run;
    const char *summary;
    const char *usage; /* after "tipd NAME [--config FILE] [--set K=V]" */
};

static int cmd_serve(struct config *c, int argc, char **argv);
static int cmd_migrate(struct config *c, int argc, char **argv);
static int cmd_units(struct config *c, int argc, char **argv);
static int cmd_token(struct config *c, int argc, char **argv);
static int cmd_staff(struct config *c, int argc, char **argv);
static int cmd_triage(struct config *c, int argc, char **argv);
static int cmd_audit(struct config *c, int argc, char **argv);

static const struct command commands[] = {
    {"serve", cmd_serve, "run the HTTP server until SIGTERM or SIGINT",
     "Serves HTTP on listen_address:listen_port with one event loop per\n"
     "worker. Refuses to start against a database that `tipd migrate` has\n"
     "not brought to this version, or without a receipt key. On SIGTERM or\n"
     "SIGINT it stops accepting, answers what is in flight, and exits 0.\n"},
    {"migrate", cmd_migrate, "apply the database migrations that are missing",
     "Applies each migration built into this tipd that the database lacks,\n"
     "each in its own transaction, recording it in schema_migrations.\n"
     "Running it again changes nothing. Connects as the schema's owner\n"
     "(owner_database; empty: database), as do units, staff, token and\n"
     "audit; serve connects with database, as tipd_app.\n"},
    {"units", cmd_units, "import the units (commissions) from a rules file",
     "  tipd units import RULES.json\n\n"
     "Inserts or renames each unit of the file's \"units\" array, with its\n"
     "level from its GB/T 2260 code, its parent (the nearest listed\n"
     "ancestor) and the queues default and review.\n"},
    {"staff", cmd_staff, "add a staff member (without a token)",
     "  tipd staff add --unit UNIT --role ROLE --name NAME\n\n"
     "Adds the member of UNIT called NAME with ROLE (operator, staff,\n"
     "supervisor or admin), or finds them if they exist with that role.\n"
     "`tipd token create` gives them a token.\n"},
    {"token", cmd_token, "create or revoke a staff member's bearer token",
     "  tipd token create --unit UNIT --role ROLE --name NAME\n"
     "  tipd token revoke ID\n\n"
     "create makes the staff member if new (ROLE: operator, staff,\n"
     "supervisor or admin) and prints a new token once; only its SHA-256\n"
     "is stored. revoke stops a token at once.\n"},
    {"audit", cmd_audit, "verify the audit log's hash chain, or print its head",
     "  tipd audit verify [--head ID:HASH]\n"
     "  tipd audit head\n\n"
     "verify recomputes the chain from the rows and names the first entry\n"
     "changed, removed or out of order; with --head (printed earlier by\n"
     "`tipd audit head` and kept outside the database) it also proves that\n"
     "no entry up to it was deleted. Exit 0 verified, 1 broken.\n"},
    {"triage", cmd_triage,
     "triage reports offline: JSON lines in, decisions out",
     "  tipd triage --rules FILE < reports.jsonl > decisions.jsonl\n\n"
     "Decides each report (cluster, accused, unit, category, queue,\n"
     "priority, copies) with the server's triage code and no database,\n"
     "one decision per line in input order (spec/triage.md section 7).\n"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tipd COMMAND [--config FILE] [--set KEY=VALUE]... "
               "[--help]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-10s %s\n", "rules",
            "check a rules file offline (tipd rules check FILE)");
    fprintf(f, "\nConfiguration: defaults, then the file (--config or "
               "$TIPD_CONFIG),\nthen TIPD_<KEY> environment variables, then "
               "--set. `tipd serve --help`\nlists every key.\n");
}

static void command_help(const struct command *cmd)
{
    printf("usage: tipd %s [--config FILE] [--set KEY=VALUE]... [--help]\n\n"
           "%s\nconfiguration keys:\n",
           cmd->name, cmd->usage);
    config_print_keys(stdout);
}

/*
 * Loads the layered configuration. The arguments that are not --config,
 * --set or --help are moved, in order, to the front of argv for the
 * command, and *rest says how many. 0, 1 = error (reported), 2 = --help.
 */
static int load_config(struct config *c, const struct command *cmd, int argc,
                       char **argv, int *rest)
{
    char err[1024];
    const char *file = getenv("TIPD_CONFIG");
    char **sets = calloc((size_t)argc + 1, sizeof(char *));
    int nsets = 0;
    *rest = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            command_help(cmd);
            free(sets);
            return 2;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc)
            sets[nsets++] = argv[++i];
        else
            argv[(*rest)++] = argv[i];
    }
    if (file != NULL && file[0] != '\0' &&
        config_load_file(c, file, err, sizeof(err)) != 0)
        goto fail;
    if (config_load_env(c, err, sizeof(err)) != 0)
        goto fail;
    for (int i = 0; i < nsets; i++) {
        char *kv = sets[i];
        char *eq = strchr(kv, '=');
        if (eq == NULL) {
            snprintf(err, sizeof(err), "--set %s: expected KEY=VALUE", kv);
            goto fail;
        }
        *eq = '\0';
        int rc = config_set(c, kv, eq + 1, "--set", err, sizeof(err));
        *eq = '=';
        if (rc != 0)
            goto fail;
    }
    if (config_validate(c, err, sizeof(err)) != 0)
        goto fail;
    log_set_level((enum log_level)log_level_parse(c->log_level));
    free(sets);
    return 0;
fail:
    free(sets);
    fprintf(stderr, "tipd %s: configuration error: %s\n", cmd->name, err);
    return 1;
}

/* The connection string of the schema's owner: `tipd migrate` and the
 * administration commands run as the owner, `tipd serve` as tipd_app. */
static const char *owner_conninfo(const struct config *c)
{
    return c->owner_database[0] != '\0' ? c->owner_database : c->database;
}

/* Refuses arguments a command does not take. */
static int no_arguments(const char *name, int argc, char **argv)
{
    if (argc == 0)
        return 0;
    fprintf(stderr, "tipd %s: unknown argument '%s' (see tipd %s --help)\n",
            name, argv[0], name);
    return 1;
}

static int cmd_serve(struct config *c, int argc, char **argv)
{
    char err[1024];
    if (no_arguments("serve", argc, argv) != 0)
        return 1;
    if (c->database[0] == '\0') {
        fprintf(stderr, "tipd serve: configuration error: database: not set "
                        "(a libpq connection string)\n");
        return 1;
    }
    struct server_secrets secrets;
    memset(&secrets, 0, sizeof(secrets));
    if (config_receipt_key(c, secrets.receipt_key, err, sizeof(err)) != 0) {
        fprintf(stderr, "tipd serve: configuration error: %s\n", err);
        return 1;
    }
    if (migrate_check(c->database, err, sizeof(err)) != 0) {
        fprintf(stderr, "tipd serve: %s\n", err);
        return 1;
    }
    enum migrate_role kind;
    char role[128];
    if (migrate_check_role(c->database, &kind, role, sizeof(role), err,
                           sizeof(err)) != 0) {
        fprintf(stderr, "tipd serve: %s\n", err);
        return 1;
    }
    if (kind == MIGRATE_ROLE_OWNER)
        log_warn("database_role",
                 "role=%s reason=\"serving as the schema's owner (or a "
                 "superuser), which may drop and rewrite anything: connect as "
                 "tipd_app (deploy/roles.sql) and give the owner to "
                 "owner_database\"",
                 role);
    if (config_secret("TIPD_SMS_KANNEL_KEY", c->sms_kannel_key_file,
                      secrets.sms_kannel_key, sizeof(secrets.sms_kannel_key),
                      err, sizeof(err)) < 0 ||
        config_secret("TIPD_SMS_TWILIO_TOKEN", c->sms_twilio_token_file,
                      secrets.sms_twilio_token,
                      sizeof(secrets.sms_twilio_token), err, sizeof(err)) < 0 ||
        config_secret("TIPD_SMS_GENERIC_KEY", c->sms_generic_key_file,
                      secrets.sms_generic_key, sizeof(secrets.sms_generic_key),
                      err, sizeof(err)) < 0 ||
        config_secret("TIPD_SMS_ALIYUN_KEY", c->sms_aliyun_key_file,
                      secrets.sms_aliyun_key, sizeof(secrets.sms_aliyun_key),
                      err, sizeof(err)) < 0) {
        fprintf(stderr, "tipd serve: configuration error: %s\n", err);
        return 1;
    }
    if (secrets.sms_twilio_token[0] != '\0' && c->sms_twilio_url[0] == '\0') {
        fprintf(stderr, "tipd serve: configuration error: sms_twilio_url: "
                        "required with a Twilio token (the URL the gateway "
                        "signs)\n");
        return 1;
    }
    int rc = server_run(c, &router_main, &secrets);
    OPENSSL_cleanse(&secrets, sizeof(secrets));
    return rc;
}

static int cmd_migrate(struct config *c, int argc, char **argv)
{
    char err[1024];
    if (no_arguments("migrate", argc, argv) != 0)
        return 1;
    int applied = 0;
    if (migrate_apply(owner_conninfo(c), &applied, err, sizeof(err)) != 0) {
        fprintf(stderr, "tipd migrate: %s\n", err);
        return 1;
    }
    log_info("migrated", "applied=%d known=%d", applied, migrations_count);
    return 0;
}

static int cmd_units(struct config *c, int argc, char **argv)
{
    char err[1024];
    int count = 0;
    if (argc != 2 || strcmp(argv[0], "import") != 0) {
        fprintf(stderr, "usage: tipd units import RULES.json\n");
        return 2;
    }
    if (admin_units_import(owner_conninfo(c), argv[1], &count, err,
                           sizeof(err)) != 0) {
        fprintf(stderr, "tipd units import: %s\n", err);
        return 1;
    }
    printf("imported %d units from %s\n", count, argv[1]);
    return 0;
}

/* --unit U --role R --name N after argv[0], into who[0..2]. 0, or -1. */
static int staff_options(int argc, char **argv, const char *who[3])
{
    static const char *const names[3] = {"--unit", "--role", "--name"};
    who[0] = who[1] = who[2] = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        int k = 0;
        while (k < 3 && strcmp(argv[i], names[k]) != 0)
            k++;
        if (k == 3)
            return -1;
        who[k] = argv[i + 1];
    }
    return who[0] != NULL && who[1] != NULL && who[2] != NULL ? 0 : -1;
}

static int cmd_token(struct config *c, int argc, char **argv)
{
    char err[1024];
    if (argc == 2 && strcmp(argv[0], "revoke") == 0) {
        if (admin_token_revoke(owner_conninfo(c), argv[1], err, sizeof(err)) !=
            0) {
            fprintf(stderr, "tipd token revoke: %s\n", err);
            return 1;
        }
        printf("token %s revoked\n", argv[1]);
        return 0;
    }
    const char *who[3];
    if (argc != 7 || strcmp(argv[0], "create") != 0 ||
        staff_options(argc, argv, who) != 0) {
        fprintf(stderr, "usage: tipd token create --unit UNIT --role ROLE "
                        "--name NAME\n       tipd token revoke ID\n");
        return 2;
    }
    if (admin_token_create(owner_conninfo(c), who[0], who[1], who[2], stdout,
                           err, sizeof(err)) != 0) {
        fprintf(stderr, "tipd token create: %s\n", err);
        return 1;
    }
    return 0;
}

static int cmd_staff(struct config *c, int argc, char **argv)
{
    char err[1024];
    const char *who[3];
    if (argc != 7 || strcmp(argv[0], "add") != 0 ||
        staff_options(argc, argv, who) != 0) {
        fprintf(stderr,
                "usage: tipd staff add --unit UNIT --role ROLE --name NAME\n");
        return 2;
    }
    if (admin_staff_add(owner_conninfo(c), who[0], who[1], who[2], stdout, err,
                        sizeof(err)) != 0) {
        fprintf(stderr, "tipd staff add: %s\n", err);
        return 1;
    }
    return 0;
}

static int cmd_audit(struct config *c, int argc, char **argv)
{
    return audit_cmd_main(owner_conninfo(c), argc, argv);
}

static int cmd_triage(struct config *c, int argc, char **argv)
{
    return triage_cmd_main(c->rules_file, argc, argv);
}

int main(int argc, char **argv)
{
    /* A client that disconnects must not kill the server on write. */
    signal(SIGPIPE, SIG_IGN);

    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("tipd %s\n", TIPD_VERSION);
        return 0;
    }
    /* Checking a rules file needs no configuration. */
    if (strcmp(argv[1], "rules") == 0)
        return rules_check_main(argc - 2, argv + 2);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        struct config c;
        config_init(&c);
        int rest = 0;
        int rc = load_config(&c, &commands[i], argc - 2, argv + 2, &rest);
        if (rc == 0)
            rc = commands[i].run(&c, rest, argv + 2);
        else if (rc == 2)
            rc = 0;
        config_cleanup(&c);
        return rc;
    }
    fprintf(stderr, "tipd: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
