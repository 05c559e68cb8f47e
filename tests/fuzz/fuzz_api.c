/*
 * libFuzzer harness for the API's request parser (vmm/api/proto.c): the
 * input is one request line from a hostile client. Checks that a parse
 * either fills a request with values in range or names an error, and
 * that the replies built from it are one line of valid JSON.
 */
#include <json-c/json.h>
#include <math.h>

#include "fuzz.h"
#include "proto.h"

static void check_line(char *line)
{
	struct json_object *o;
	size_t n;

	FUZZ_CHECK(line);
	n = strlen(line);
	FUZZ_CHECK(n && line[n - 1] == '\n' && !memchr(line, '\n', n - 1));
	o = json_tokener_parse(line);
	FUZZ_CHECK(o && json_object_is_type(o, json_type_object));
	json_object_put(o);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_request req;
	struct control_info info;
	const char *code = NULL;
	char msg[192];

	if (size > API_LINE_MAX + 16)
		return 0;
	if (api_parse_request((const char *)data, size, &req, &code, msg, sizeof(msg))) {
		FUZZ_CHECK(code && *code && memchr(msg, '\0', sizeof(msg)));
		check_line(api_reply_error(req.id, code, msg));
	} else {
		FUZZ_CHECK(req.cmd <= API_CMD_SNAPSHOT || req.cmd == API_CMD_SNAPSHOT_DISK);
		if (req.cmd == API_CMD_SNAPSHOT_DISK) {
			FUZZ_CHECK(req.disk && req.file && req.file[0] == '/' && req.disk[0]);
			FUZZ_CHECK(strlen(req.file) <= API_PATH_MAX && strlen(req.disk) <= API_PATH_MAX);
			check_line(api_reply_snapshot_disk(&req, req.disk, req.file));
		}
		FUZZ_CHECK(isfinite(req.timeout) && req.timeout >= 0 &&
			   req.timeout <= API_MAX_STOP_TIMEOUT);
		memset(&info, 0, sizeof(info));
		info.nr_devices = 1;
		info.devices[0].role = "uart";
		info.devices[0].irq = -1;
		info.nr_disks = 1;
		snprintf(info.disks[0].path, sizeof(info.disks[0].path), "%.*s", (int)(size < 64 ? size : 64),
			 (const char *)data);	/* hostile bytes in a path: still one line of JSON */
		check_line(api_reply_ok(&req, NULL));
		check_line(api_reply_info(&req, "fuzz", &info));
	}
	api_request_free(&req);
	return 0;
}
