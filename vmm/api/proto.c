/*
 * Requests parsed and replies built with json-c: the request side is
 * guest-independent but hostile (any local client of the owner's uid),
 * so every field is checked for type and range, and depth is bounded.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "proto.h"
#include "util.h"

static const struct {
	const char *name;
	enum api_cmd cmd;
} commands[] = {
	{ "info", API_CMD_INFO },
	{ "pause", API_CMD_PAUSE },
	{ "resume", API_CMD_RESUME },
	{ "stop", API_CMD_STOP },
	{ "events", API_CMD_EVENTS },
	{ "stats", API_CMD_STATS },
	{ "snapshot-disk", API_CMD_SNAPSHOT_DISK },
	{ "snapshot", API_CMD_SNAPSHOT },
};

void api_json_init(void)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "seed", NULL);	/* hashes a key: the seed is drawn */
	json_object_put(o);
}

void api_request_free(struct api_request *req)
{
	free(req->disk);
	free(req->file);
	req->disk = req->file = NULL;
	json_object_put(req->id);
	req->id = NULL;
	free(req->snapshot_dir);
	req->snapshot_dir = NULL;
}

static int fail(const char **code, char *msg, size_t msglen, const char *c, const char *fmt,
		const char *arg)
{
	*code = c;
	snprintf(msg, msglen, fmt, arg);
	return -1;
}

/* "arguments" of snapshot-disk: {"disk": NAME, "file": FULL_PATH}, both strings. */
static int parse_snapshot_disk_args(struct json_object *args, struct api_request *req,
				    const char **code, char *msg, size_t msglen)
{
	json_object_object_foreach(args, key, val) {
		const char *s;

		if (strcmp(key, "disk") && strcmp(key, "file"))
			return fail(code, msg, msglen, "bad-argument",
				    "unknown argument '%.64s'; snapshot-disk takes disk and file", key);
		if (!json_object_is_type(val, json_type_string))
			return fail(code, msg, msglen, "bad-argument", "%s must be a string", key);
		s = json_object_get_string(val);
		if (!*s || strlen(s) > API_PATH_MAX || (!strcmp(key, "file") && s[0] != '/'))
			return fail(code, msg, msglen, "bad-argument", "%s", !strcmp(key, "file") ?
				    "file must be a full path (up to 4095 bytes)" :
				    "disk must be a disk's name (1 to 4095 bytes)");
		if (!strcmp(key, "disk"))
			req->disk = strdup(s);
		else
			req->file = strdup(s);
		if (!(!strcmp(key, "disk") ? req->disk : req->file))
			return fail(code, msg, msglen, "internal", "%s", "out of memory");
	}
	if (!req->disk || !req->file)
		return fail(code, msg, msglen, "bad-argument", "snapshot-disk needs %s",
			    !req->disk ? "disk" : "file");
	return 0;
}

/* "arguments" of stop: {"timeout": SECONDS, "force": BOOL}, nothing else. */
static int parse_stop_args(struct json_object *args, struct api_request *req,
			   const char **code, char *msg, size_t msglen)
{
	struct json_object_iterator it, end;

	it = json_object_iter_begin(args);
	end = json_object_iter_end(args);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *key = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);

		if (!strcmp(key, "timeout")) {
			double t;

			if (!json_object_is_type(v, json_type_int) &&
			    !json_object_is_type(v, json_type_double))
				return fail(code, msg, msglen, "bad-argument",
					    "stop: %s must be a number of seconds", key);
			t = json_object_get_double(v);
			if (!isfinite(t) || t < 0 || t > API_MAX_STOP_TIMEOUT)
				return fail(code, msg, msglen, "bad-argument",
					    "stop: %s must be 0 to 86400 seconds", key);
			req->timeout = t;
		} else if (!strcmp(key, "force")) {
			if (!json_object_is_type(v, json_type_boolean))
				return fail(code, msg, msglen, "bad-argument",
					    "stop: %s must be true or false", key);
			req->force = json_object_get_boolean(v);
		} else {
			return fail(code, msg, msglen, "bad-argument",
				    "stop takes timeout and force, not '%.64s'", key);
		}
	}
	return 0;
}

/* "arguments" of snapshot: {"dir": PATH, "then": "resume"|"stop"}; dir is needed. */
static int parse_snapshot_args(struct json_object *args, struct api_request *req,
			       const char **code, char *msg, size_t msglen)
{
	struct json_object_iterator it, end;

	it = json_object_iter_begin(args);
	end = json_object_iter_end(args);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *key = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);
		const char *s = json_object_get_string(v);

		if (!strcmp(key, "dir")) {
			if (!json_object_is_type(v, json_type_string) || !*s ||
			    strlen(s) >= API_SNAPSHOT_DIR_MAX)
				return fail(code, msg, msglen, "bad-argument", "%s",
					    "snapshot: dir must be a path of 1 to 4095 bytes");
			free(req->snapshot_dir);
			req->snapshot_dir = strdup(s);
			if (!req->snapshot_dir)
				return fail(code, msg, msglen, "internal", "%s", "out of memory");
		} else if (!strcmp(key, "then")) {
			if (!json_object_is_type(v, json_type_string) ||
			    (strcmp(s, "resume") && strcmp(s, "stop")))
				return fail(code, msg, msglen, "bad-argument", "%s",
					    "snapshot: then must be \"resume\" or \"stop\"");
			req->snapshot_stop = !strcmp(s, "stop");
		} else {
			return fail(code, msg, msglen, "bad-argument",
				    "snapshot takes dir and then, not '%.64s'", key);
		}
	}
	if (!req->snapshot_dir)
		return fail(code, msg, msglen, "bad-argument", "%s", "snapshot needs dir");
	return 0;
}

int api_parse_request(const char *line, size_t len, struct api_request *req,
		      const char **code, char *msg, size_t msglen)
{
	struct json_tokener *tok;
	struct json_object *obj, *v, *args = NULL;
	enum json_tokener_error jerr;
	const char *name;
	unsigned int i;
	int ret = -1;

	memset(req, 0, sizeof(*req));
	req->timeout = API_DEFAULT_STOP_TIMEOUT;
	if (len > API_LINE_MAX)
		return fail(code, msg, msglen, "too-long", "%s", "request line too long");
	tok = json_tokener_new_ex(API_JSON_DEPTH);
	if (!tok)
		return fail(code, msg, msglen, "internal", "%s", "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!obj && jerr == json_tokener_continue) {
		/* a bare value (42) ends only at the end of input: say so with a NUL */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
	} else if (obj && jerr == json_tokener_success && json_tokener_get_parse_end(tok) < len) {
		/* trailing bytes after the object: only blanks may follow */
		for (i = (unsigned int)json_tokener_get_parse_end(tok); i < len; i++)
			if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
				break;
		if (i < len)
			jerr = json_tokener_error_parse_unexpected;
	}
	json_tokener_free(tok);
	if (!obj || jerr != json_tokener_success) {
		json_object_put(obj);
		return fail(code, msg, msglen, "bad-json", "not valid JSON: %s",
			    jerr == json_tokener_continue ? "incomplete object" :
			    json_tokener_error_desc(jerr));
	}
	if (!json_object_is_type(obj, json_type_object)) {
		fail(code, msg, msglen, "bad-request", "%s", "a request is a JSON object");
		goto out;
	}
	if (json_object_object_get_ex(obj, "id", &v))
		req->id = json_object_get(v);
	if (!json_object_object_get_ex(obj, "execute", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		fail(code, msg, msglen, "bad-request", "%s",
		     "a request needs \"execute\": a command name string");
		goto out;
	}
	name = json_object_get_string(v);
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(name, commands[i].name))
			break;
	if (i == ARRAY_SIZE(commands)) {
		fail(code, msg, msglen, "unknown-command",
		     "unknown command '%.64s'; the commands are info, pause, resume, stop, "
		     "events, stats, snapshot and snapshot-disk", name);
		goto out;
	}
	req->cmd = commands[i].cmd;
	if (req->cmd == API_CMD_SNAPSHOT_DISK && !json_object_object_get_ex(obj, "arguments", &args)) {
		fail(code, msg, msglen, "bad-argument", "%s", "snapshot-disk needs disk and file");
		goto out;
	}
	json_object_object_foreach(obj, key, val) {
		(void)val;
		if (strcmp(key, "execute") && strcmp(key, "arguments") && strcmp(key, "id")) {
			fail(code, msg, msglen, "bad-request",
			     "unknown member '%.64s'; a request has execute, arguments and id", key);
			goto out;
		}
	}
	if (json_object_object_get_ex(obj, "arguments", &args)) {
		if (!json_object_is_type(args, json_type_object)) {
			fail(code, msg, msglen, "bad-argument", "%s",
			     "\"arguments\" must be an object");
			goto out;
		}
		if (req->cmd == API_CMD_STOP) {
			if (parse_stop_args(args, req, code, msg, msglen))
				goto out;
		} else if (req->cmd == API_CMD_SNAPSHOT_DISK) {
			if (parse_snapshot_disk_args(args, req, code, msg, msglen))
				goto out;
		} else if (req->cmd == API_CMD_SNAPSHOT) {
			if (parse_snapshot_args(args, req, code, msg, msglen))
				goto out;
		} else if (json_object_object_length(args)) {
			fail(code, msg, msglen, "bad-argument", "%s takes no arguments", name);
			goto out;
		}
	}
	if (req->cmd == API_CMD_SNAPSHOT && !args) {
		fail(code, msg, msglen, "bad-argument", "%s", "snapshot needs dir");
		goto out;
	}
	ret = 0;
out:
	json_object_put(obj);
	return ret;
}

/* @o as one line, with its '\n'; frees @o. */
static char *line_of(struct json_object *o)
{
	const char *s;
	char *out = NULL;
	size_t n;

	if (!o)
		return NULL;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s) {
		n = strlen(s);
		out = malloc(n + 2);
		if (out) {
			memcpy(out, s, n);
			out[n] = '\n';
			out[n + 1] = '\0';
		}
	}
	json_object_put(o);
	return out;
}

char *api_greeting(const char *name, int pid)
{
	struct json_object *o = json_object_new_object(), *k = json_object_new_object();

	json_object_object_add(k, "version", json_object_new_string(KVMINI_VERSION_STRING));
	json_object_object_add(k, "api", json_object_new_int(API_VERSION));
	json_object_object_add(k, "name", json_object_new_string(name));
	json_object_object_add(k, "pid", json_object_new_int(pid));
	json_object_object_add(o, "kvmini", k);
	return line_of(o);
}

static void add_id(struct json_object *o, struct json_object *id)
{
	if (id)
		json_object_object_add(o, "id", json_object_get(id));
}

char *api_reply_ok(const struct api_request *req, struct json_object *ret)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "return", ret ? ret : json_object_new_object());
	add_id(o, req->id);
	return line_of(o);
}

char *api_reply_error(struct json_object *id, const char *code, const char *msg)
{
	struct json_object *o = json_object_new_object(), *e = json_object_new_object();

	json_object_object_add(e, "code", json_object_new_string(code));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(o, "error", e);
	add_id(o, id);
	return line_of(o);
}

char *api_reply_info(const struct api_request *req, const char *name,
		     const struct control_info *info)
{
	struct json_object *r = json_object_new_object(), *devs = json_object_new_array();
	unsigned int i;
	char base[24];

	json_object_object_add(r, "name", json_object_new_string(name));
	json_object_object_add(r, "pid", json_object_new_int(info->pid));
	json_object_object_add(r, "state", json_object_new_string(vm_state_name(info->state)));
	json_object_object_add(r, "uptime_ms", json_object_new_int64((int64_t)info->uptime_ms));
	json_object_object_add(r, "cpus", json_object_new_int((int)info->cpus));
	json_object_object_add(r, "memory", json_object_new_int64((int64_t)info->memory));
	json_object_object_add(r, "kernel", json_object_new_string(info->kernel));
	for (i = 0; i < info->nr_devices && i < CONTROL_MAX_DEVICES; i++) {
		struct json_object *d = json_object_new_object();

		json_object_object_add(d, "name", json_object_new_string(info->devices[i].name));
		json_object_object_add(d, "type", json_object_new_string(info->devices[i].type));
		json_object_object_add(d, "role", json_object_new_string(info->devices[i].role));
		snprintf(base, sizeof(base), "0x%llx", (unsigned long long)info->devices[i].base);
		json_object_object_add(d, info->devices[i].pio ? "port" : "address",
				       json_object_new_string(base));
		if (info->devices[i].irq >= 0)
			json_object_object_add(d, "irq", json_object_new_int(info->devices[i].irq));
		json_object_array_add(devs, d);
	}
	json_object_object_add(r, "devices", devs);
	devs = json_object_new_array();
	for (i = 0; i < info->nr_disks && i < CONTROL_MAX_DISKS; i++) {
		struct json_object *d = json_object_new_object();

		json_object_object_add(d, "name", json_object_new_string(info->disks[i].name));
		json_object_object_add(d, "id", json_object_new_string(info->disks[i].id));
		json_object_object_add(d, "path", json_object_new_string(info->disks[i].path));
		json_object_object_add(d, "format", json_object_new_string(info->disks[i].format));
		json_object_object_add(d, "size", json_object_new_int64((int64_t)info->disks[i].size));
		json_object_object_add(d, "backing_depth",
				       json_object_new_int((int)info->disks[i].depth));
		json_object_object_add(d, "readonly",
				       json_object_new_boolean(info->disks[i].readonly));
		json_object_object_add(d, "snapshot",
				       json_object_new_boolean(info->disks[i].temporary));
		json_object_array_add(devs, d);
	}
	json_object_object_add(r, "disks", devs);
	return api_reply_ok(req, r);
}

char *api_reply_snapshot_disk(const struct api_request *req, const char *disk,
			      const char *file)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "disk", json_object_new_string(disk));
	json_object_object_add(r, "file", json_object_new_string(file));
	return api_reply_ok(req, r);
}

char *api_reply_stats(const struct api_request *req, const struct control_stats *st)
{
	struct json_object *r = json_object_new_object(), *evs = json_object_new_array();
	unsigned int i, k;

	json_object_object_add(r, "vcpus", json_object_new_int((int)st->nr_vcpus));
	json_object_object_add(r, "kvm_stats", json_object_new_boolean(st->kvm_stats));
	for (i = 0; i < st->n; i++) {
		const struct control_stat *e = &st->v[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(e->name));
		json_object_object_add(o, "source", json_object_new_string(e->source));
		json_object_object_add(o, "total", json_object_new_uint64(e->total));
		if (e->per_vcpu) {
			struct json_object *pv = json_object_new_array();

			for (k = 0; k < st->nr_vcpus; k++)
				json_object_array_add(pv, json_object_new_uint64(e->per_vcpu[k]));
			json_object_object_add(o, "per_vcpu", pv);
		}
		json_object_array_add(evs, o);
	}
	json_object_object_add(r, "events", evs);
	return api_reply_ok(req, r);
}

char *api_event(const struct control_event *ev)
{
	static const char *const kinds[] = {
		[EVENT_STATE] = "STATE", [EVENT_STOP] = "STOP", [EVENT_POWER_BUTTON] = "POWER_BUTTON",
	};
	struct json_object *o = json_object_new_object(), *d = json_object_new_object();
	struct json_object *ts = json_object_new_object();

	json_object_object_add(o, "event", json_object_new_string(kinds[ev->kind]));
	json_object_object_add(d, "state", json_object_new_string(vm_state_name(ev->state)));
	if (ev->reason[0])
		json_object_object_add(d, "reason", json_object_new_string(ev->reason));
	if (ev->kind == EVENT_STOP)
		json_object_object_add(d, "status", json_object_new_int(ev->status));
	json_object_object_add(o, "data", d);
	json_object_object_add(ts, "seconds", json_object_new_int64((int64_t)ev->when.tv_sec));
	json_object_object_add(ts, "microseconds",
			       json_object_new_int((int)(ev->when.tv_nsec / 1000)));
	json_object_object_add(o, "timestamp", ts);
	return line_of(o);
}

const char *api_errno_code(int err, const char **msg)
{
	switch (err) {
	case -EALREADY:
		*msg = "the VM is already in that state (or a stop is under way)";
		return "already";
	case -ESHUTDOWN:
		*msg = "the VM is stopping";
		return "stopping";
	case -EAGAIN:
		*msg = "the VM is restarting; try again";
		return "restarting";
	case -ENODEV:
		*msg = "this VM has no power button; use force";
		return "unsupported";
	case -ENOENT:
		*msg = "no such disk";
		return "not-found";
	default:
		*msg = "the request failed";
		return "failed";
	}
}
