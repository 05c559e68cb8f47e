/* Image locks interoperable with QEMU's (OFD locks on the bytes it uses). */
#ifndef KVMINI_BLOCK_LOCK_H
#define KVMINI_BLOCK_LOCK_H

#include <stdbool.h>

/*
 * Lock the image open on @fd as QEMU would: read-write exclusively, or
 * read-only shared with other readers and refusing writers. 0, -EAGAIN or
 * -EACCES if another process holds a conflicting lock, else -errno (the
 * filesystem has no OFD locks).
 */
int image_lock(int fd, bool readonly);
/* Drop every lock @fd holds (its other users keep theirs). */
int image_unlock(int fd);
/* Read-write to read-only in place (no window for a writer). 0 or -errno. */
int image_lock_share(int fd);

#endif
