/* The host terminal: raw mode for the guest console, restored on every exit path. */
#ifndef KVMINI_TERM_H
#define KVMINI_TERM_H

/* Put @fd (a tty) in raw mode; restored by term_restore(), at exit and on fatal signals. */
int term_raw(int fd);
void term_restore(void);
/* Remember stdout's file status flags, restored with the terminal. */
void term_save_fl(int fd);

#endif
