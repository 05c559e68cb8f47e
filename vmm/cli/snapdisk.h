/* kvmini snapshot-disk: a qcow2 overlay over a disk image (docs/kvmini.1). */
#ifndef KVMINI_SNAPDISK_H
#define KVMINI_SNAPDISK_H

int cmd_snapshot_disk(int argc, char **argv);

#endif
