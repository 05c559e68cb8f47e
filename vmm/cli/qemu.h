/* `kvmini qemu`: QEMU's command line, translated into `kvmini run`'s (kvmini-qemu(1)). */
#ifndef KVMINI_QEMU_H
#define KVMINI_QEMU_H

#include <stdbool.h>

/* Whether kvmini was started under a QEMU name: qemu-kvm or kvm (@argv0's basename). */
bool qemu_invoked_as(const char *argv0);

/*
 * Run QEMU's options @argv[1..@argc) (argv[0]: the program's name). The
 * exit status: QEMU's 1 for what kvmini refuses, else kvmini run's.
 */
int cmd_qemu(int argc, char **argv);

/*
 * The translation alone (tests, fuzzing): 0 and the kvmini run argv in
 * *@out (*@outc words, NULL-terminated; qemu_args_free() it); 1 after
 * -help, -version or -device help; -1 after one message.
 */
int qemu_translate_args(int argc, char **argv, char ***out, int *outc);
void qemu_args_free(char **args);

#endif
