/* Subcommands. Each returns the process exit status. */
#ifndef KVMINI_RUN_H
#define KVMINI_RUN_H

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);

#endif
