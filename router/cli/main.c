/* main.c — `hilo`, the operator CLI: global options, config file choice, dispatch to the
 * subcommands (commands.h). Everything else lives in the modules of this folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "hilo/build_info.h"
#include "options.h"

#define DEFAULT_CONFIG "./deploy/hilo.conf"
#define INSTALLED_CONFIG HILO_INSTALL_CONFDIR "/hilo.conf"

static const char usage[] =
    "usage: hilo [-c FILE] <command> [args]\n"
    "\n"
    "Operator CLI for the hilo conversation router (Redis state). Options take their value as\n"
    "--opt=VALUE or --opt VALUE (unique prefixes work, -- ends the options); each --json prints\n"
    "one JSON object per line (JSON Lines) with the fields docs/operations.md lists.\n"
    "\n"
    "commands:\n"
    "  import-debtors FILE.csv           import or update the debtor portfolio (RFC 4180 CSV with a\n"
    "                                    header row: debtor_id, full_name, phones (;-separated), email,\n"
    "                                    document_last4, balance, currency, days_past_due, timezone,\n"
    "                                    language, country; other columns kept as attr:<name>).\n"
    "                                    Bad rows are reported as FILE:LINE and skipped. Phones are\n"
    "                                    read in the row's country (ISO code; none: [identity]\n"
    "                                    default_country_code); one that is not a valid number is\n"
    "                                    reported as FILE:LINE and left out, the others load.\n"
    "  thread [--json] <debtor-id|phone> a debtor's whole cross-channel history, oldest first\n"
    "                                    (--json: one stored item per line, plus \"id\", no header)\n"
    "  conversations [--limit N] [--json]\n"
    "                                    conversations by last activity, newest first (default 50)\n"
    "                                    (--json: one per line: debtor, name, state, channel,\n"
    "                                    last_activity_ms, msgs_in, msgs_out)\n"
    "  send [--wait-window] <debtor-id> <channel> <text>\n"
    "                                    commit an outbound message (channel: whatsapp, sms, voice)\n"
    "                                    for the router to deliver; prints the outbound id\n"
    "                                    (with [engine] enabled it passes the compliance gate first,\n"
    "                                    as outreach: a block exits 1 with the reason, in the audit;\n"
    "                                    a text longer than the channel carries exits 1 too: SMS over\n"
    "                                    [sms] max_parts parts of 1600, WhatsApp over 4096 characters)\n"
    "  send --template NAME <debtor-id> whatsapp <text>\n"
    "                                    the same with an approved WhatsApp template (allowed outside\n"
    "                                    the 24-hour window); <text> is what the thread shows of it;\n"
    "                                    --wait-window: a message the gate refuses for the hours, a\n"
    "                                    closed day or the cap waits for the next allowed time.\n"
    "                                    send's options come before <debtor-id> (a text may start with -)\n"
    "  debtor [--json] <debtor-id|phone> show a debtor's imported portfolio record\n"
    "                                    (--json: one object, the stored fields plus \"id\")\n"
    "  agent add <id> --name N [--role agent|supervisor] [--skills a,b] [--capacity whatsapp=3,sms=3,voice=1]\n"
    "        [--password-env VAR]        create or update a console account (password: $VAR or stdin)\n"
    "  agent passwd <id> [--password-env VAR]   change a console password\n"
    "  agent list [--json]               console accounts with role, state, skills and capacity\n"
    "                                    (--json: one per line: id, name, role, state, skills,\n"
    "                                    capacity, disabled)\n"
    "  agent disable|enable <id>         stop / allow an account's logins (disable ends its sessions)\n"
    "  access-log --debtor ID | --agent ID [--limit N] [--json]\n"
    "                                    who opened which debtor's record in the console, newest first\n"
    "                                    (default 100; --json: one per line: ms, agent, role, debtor)\n"
    "  agent logout <id>                 end every session of an agent (open consoles close)\n"
    "  link keygen <name> [--out FILE]   a CURVE key pair for the connector link: the secret key\n"
    "                                    into FILE (default <name>.key, mode 0600), the public key\n"
    "                                    on stdout (for [router] link_keys or link_server_key)\n"
    "  link pubkey FILE                  the public key of a secret-key file\n"
    "  import-payments FILE.csv          apply payments (header row: debtor_id, amount, currency,\n"
    "                                    paid_at (YYYY-MM-DD or ISO 8601 with a zone), reference):\n"
    "                                    each reference once; promises to pay they cover become\n"
    "                                    kept (docs/promises.md). Bad rows: FILE:LINE, skipped.\n"
    "  migrate [--dry-run]               bring the data in Redis up to this hilo's schema version\n"
    "                                    (hilo:{schema}), step by step, stamping each; safe to run\n"
    "                                    again; --dry-run prints what each step would change; exit 1\n"
    "                                    on conflicts, 4 on a newer version (docs/operations.md,\n"
    "                                    \"Upgrading\"). Step 1 -> 2: identity keys and debtors' phones\n"
    "                                    of the old phone rules into canonical E.164\n"
    "  migrate-addresses [--dry-run]     the old name of migrate (also reruns step 1 -> 2 at version 2)\n"
    "  promises [--json] <debtor-id|phone>\n"
    "                                    the promise ledger: promises and payment plans, each plan\n"
    "                                    followed by its instalments, with state and payments used\n"
    "                                    (--json: one stored entry per line, plus \"id\")\n"
    "  strategy check FILE.strategy...   check outbound strategy files: syntax and references\n"
    "                                    (FILE:LINE: reason), privacy (no disclosure variable where an\n"
    "                                    unverified debtor can be), the opt-out notice and first-contact\n"
    "                                    disclosure each country's rule pack requires (docs/strategies.md)\n"
    "  strategy plan [--at TIME] [--json] [--limit N] [FILE.strategy...]\n"
    "                                    dry run on the portfolio in Redis ([strategies] dir by default):\n"
    "                                    who would get which step when, on which channel, with which\n"
    "                                    text, who is excluded and why. TIME: 2026-11-24T09:00:00Z or\n"
    "                                    Unix ms (default now). Sends and writes nothing.\n"
    "  strategy start|resume NAME        run a strategy of [strategies] dir: the routers look at every\n"
    "                                    imported debtor and send its steps through the gate\n"
    "  strategy pause NAME               no new step of the strategy is committed\n"
    "  strategy report NAME [--json]     its funnel per variant and step: entered, sent, delivered,\n"
    "                                    read, failed, replied, refused/skipped/stopped by reason\n"
    "  report daily --from DATE --to DATE [--csv | --json]\n"
    "                                    the supervisor's daily roll-ups of those business days\n"
    "                                    (YYYY-MM-DD, at most 366): per queue, or all of them as the\n"
    "                                    console's CSV export or JSON\n"
    "  compliance check [--at YYYY-MM-DD] [--json]\n"
    "                                    each rule pack of [engine] compliance_dir: the countries\n"
    "                                    compliance.conf maps to it, its holiday calendar and the\n"
    "                                    years it covers. Exit 1 with a warning when a calendar does\n"
    "                                    not cover the year of --at (default today, UTC) and the next,\n"
    "                                    or a pack or calendar is missing or broken (FILE:LINE: reason)\n"
    "  optimizer show [CELL] [--cap N] [--json]\n"
    "                                    the contact optimizer's model per segment cell: each arm's\n"
    "                                    estimated promise/payment rate (90 % interval), value and\n"
    "                                    decisions, the contacts-a-week knee within --cap (default 7),\n"
    "                                    the uplift against the holdout (95 % interval); exit 1 for\n"
    "                                    an unknown CELL or a model that cannot be read (docs/optimizer.md)\n"
    "\n"
    "options:\n"
    "  -c FILE     config file (default: $HILO_CONFIG, else " DEFAULT_CONFIG " if present (a\n"
    "              checkout), else " INSTALLED_CONFIG " if present, else none). Read: [redis]\n"
    "              host port user password password_file db timeout_ms, [cli] redis_user\n"
    "              redis_password_file, [identity] default_country_code, [router] history_max,\n"
    "              [engine] enabled compliance_dir test_clock, [sms] max_parts, [strategies] dir;\n"
    "              HILO_<SECTION>_<KEY> overrides.\n"
    "              A section no hilo program reads is refused (file:line, exit 2).\n"
    "  -h, --help  this text\n"
    "  --version   print the version and exit\n"
    "  -           as FILE of import-debtors, import-payments, strategy check|plan: standard input,\n"
    "              named <stdin> in messages (<stdin>:LINE: reason)\n"
    "\n"
    "exit codes:\n"
    "  0   done (import-debtors: the file was read; rejected rows are reported on stderr)\n"
    "  1   unreadable file or bad CSV header, unknown debtor, nothing to send to, text too long,\n"
    "      a strategy file refused by check (its problems printed as FILE:LINE: reason),\n"
    "      compliance check found a calendar ending or a pack or calendar broken\n"
    "  2   broken config file (file:line: reason)\n"
    "  3   Redis unreachable or failing\n"
    "  4   Redis holds data of a newer schema version than this hilo knows (migrate,\n"
    "      import-debtors): nothing written\n"
    "  64  bad command line: an unknown option, an option without its value, a bad value\n"
    "      (\"hilo COMMAND: unknown option '--x'\" and the command's usage on stderr)\n";

typedef struct {
    const char *name;
    int (*run)(hilo_cli_t *cli, int argc, char **argv);
} command_t;

static const command_t commands[] = {
    {"import-debtors", hilo_cmd_import_debtors},
    {"thread", hilo_cmd_thread},
    {"optimizer", hilo_cmd_optimizer},
    {"conversations", hilo_cmd_conversations},
    {"send", hilo_cmd_send},
    {"debtor", hilo_cmd_debtor},
    {"agent", hilo_cmd_agent},
    {"import-payments", hilo_cmd_import_payments},
    {"promises", hilo_cmd_promises},
    {"strategy", hilo_cmd_strategy},
    {"report", hilo_cmd_report},
    {"migrate", hilo_cmd_migrate},
    {"migrate-addresses", hilo_cmd_migrate_addresses},
    {"link", hilo_cmd_link},
    {"access-log", hilo_cmd_access_log},
    {"compliance", hilo_cmd_compliance},
};

/* -c, else $HILO_CONFIG, else the repository's example when run from the checkout, else the
 * installed one, else none. */
static const char *config_path(const char *given) {
    if (given) return given;
    const char *env = getenv("HILO_CONFIG");
    if (env && *env) return env;
    if (access(DEFAULT_CONFIG, F_OK) == 0) return DEFAULT_CONFIG;
    if (access(INSTALLED_CONFIG, F_OK) == 0) return INSTALLED_CONFIG;
    return NULL;
}

int main(int argc, char **argv) {
    const char *given = NULL;
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    hilo_opts_begin();
    /* '+': the options end at the command's name; what follows is the command's. */
    for (int c; (c = hilo_opts_next("", argc, argv, "+c:h", longopts)) != -1;) {
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            return HILO_EXIT_OK;
        case 'V':
            printf("hilo %s\n", HILO_VERSION);
            return HILO_EXIT_OK;
        case 'c':
            given = optarg;
            break;
        default:
            fprintf(stderr, "\n%s", usage);
            return HILO_EXIT_USAGE;
        }
    }
    int i = optind;
    if (i == argc) {
        fputs(usage, stderr);
        return HILO_EXIT_USAGE;
    }
    if (strcmp(argv[i], "help") == 0) {
        fputs(usage, stdout);
        return HILO_EXIT_OK;
    }
    const command_t *cmd = NULL;
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(argv[i], commands[k].name) == 0) cmd = &commands[k];
    if (!cmd) {
        fprintf(stderr, "hilo: unknown command '%s' (hilo --help lists them)\n", argv[i]);
        return HILO_EXIT_USAGE;
    }

    char err[600];
    hilo_cli_t *cli = hilo_cli_new(config_path(given), err, sizeof err);
    if (!cli) {
        fprintf(stderr, "hilo: %s\n", err);
        return HILO_EXIT_CONFIG;
    }
    int rc = cmd->run(cli, argc - i, argv + i);
    hilo_cli_destroy(&cli);
    return rc;
}
