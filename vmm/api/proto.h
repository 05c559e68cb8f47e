/*
 * The API's wire format: one JSON object per line each way. Requests
 * {"execute": CMD, "arguments": {...}, "id": ANY}; replies {"return": ...}
 * or {"error": {"code", "message"}}, with the request's id; events
 * {"event": KIND, "data": {...}, "timestamp": {...}}. docs/api.md.
 */
#ifndef KVMINI_API_PROTO_H
#define KVMINI_API_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "control.h"

#define API_VERSION 1
#define API_LINE_MAX 65536	/* a request line longer than this is refused */
#define API_JSON_DEPTH 8	/* nesting a request may have */

enum api_cmd { API_CMD_INFO, API_CMD_PAUSE, API_CMD_RESUME, API_CMD_STOP, API_CMD_EVENTS,
	       API_CMD_STATS, API_CMD_SNAPSHOT_DISK, API_CMD_SNAPSHOT };

#define API_PATH_MAX 4095	/* snapshot-disk: bytes of the file's name */
#define API_SNAPSHOT_DIR_MAX 4096	/* bytes of a snapshot's "dir" */

struct json_object;

struct api_request {
	enum api_cmd cmd;
	struct json_object *id;	/* the request's "id", owned (json_object_put), or NULL */
	double timeout;		/* stop */
	bool force;		/* stop */
	char *disk;		/* snapshot-disk: the disk's name or id= (malloc'd) */
	char *file;		/* snapshot-disk: the new overlay's full path (malloc'd) */
	char *snapshot_dir;	/* snapshot: "dir" (for messages; the files come as fds), owned */
	bool snapshot_stop;	/* snapshot: "then": "stop" (else "resume") */
};

#define API_DEFAULT_STOP_TIMEOUT 30.0
#define API_MAX_STOP_TIMEOUT 86400.0

/*
 * Parse the @len bytes at @line (no newline). 0 and @req filled (free
 * with api_request_free), or -1 with *@code and @msg (@msglen bytes) set
 * for the error reply; @req->id is still set when the request had one.
 */
int api_parse_request(const char *line, size_t len, struct api_request *req,
		      const char **code, char *msg, size_t msglen);
void api_request_free(struct api_request *req);

/*
 * Once, before any seccomp filter: json-c seeds its string hash on first
 * use with getrandom(), which no filter allows.
 */
void api_json_init(void);

/* Replies and events, each one line with its '\n'; malloc'd, NULL on ENOMEM. */
char *api_greeting(const char *name, int pid);
char *api_reply_ok(const struct api_request *req, struct json_object *ret);	/* takes @ret */
char *api_reply_error(struct json_object *id, const char *code, const char *msg);
char *api_reply_info(const struct api_request *req, const char *name,
		     const struct control_info *info);
char *api_event(const struct control_event *ev);
char *api_reply_stats(const struct api_request *req, const struct control_stats *st);
char *api_reply_snapshot_disk(const struct api_request *req, const char *disk,
			      const char *file);
/* The error code and message of a control_call() failure. */
const char *api_errno_code(int err, const char **msg);

#endif
