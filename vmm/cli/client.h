/* `kvmini list|info|pause|resume|stop`: the API socket's command-line client. */
#ifndef KVMINI_CLIENT_H
#define KVMINI_CLIENT_H

/* Exit statuses of the client commands (kvmini(1), docs/api.md). */
enum {
	CLIENT_OK = 0,
	CLIENT_REFUSED = 1,	/* the VM answered with an error (paused while paused, ...) */
	CLIENT_ERROR = 2,	/* bad command line, or the socket failed */
	CLIENT_NO_VM = 3,	/* no VM of that name */
	CLIENT_FORCED = 5,	/* stop: the guest did not power off in time; stopped hard */
};

struct json_object;

int cmd_list(int argc, char **argv);
/*
 * One request @cmd (no arguments) to the VM @name (or socket path), quietly:
 * 0 and *@reply (json_object_put it), or a CLIENT_ status.
 */
int client_request(const char *name, const char *cmd, struct json_object **reply);
/*
 * kvmini snapshot-disk NAME [--disk DISK] [--file NEW]: every writable disk
 * of the VM @name (or @disk) onto a new qcow2 overlay, live.
 */
int client_snapshot_disk(const char *name, const char *disk, const char *file);
/* info, pause, resume, stop: argv[0] names it. */
int cmd_control(int argc, char **argv);
/* snapshot NAME DIR [--resume|--stop]: the VM saved into DIR (DIR/state, DIR/memory). */
int cmd_snapshot(int argc, char **argv);

#endif
