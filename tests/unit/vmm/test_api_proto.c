/* The API's request parser and reply builders (vmm/api/proto.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "proto.h"

static int parse(const char *line, struct api_request *req, const char **code)
{
	char msg[192];

	return api_parse_request(line, strlen(line), req, code, msg, sizeof(msg));
}

static void parses(const char *line, enum api_cmd cmd)
{
	struct api_request req;
	const char *code = NULL;

	assert_int_equal(parse(line, &req, &code), 0);
	assert_int_equal(req.cmd, cmd);
	api_request_free(&req);
}

static void refused(const char *line, const char *want)
{
	struct api_request req;
	const char *code = NULL;

	assert_int_equal(parse(line, &req, &code), -1);
	assert_non_null(code);
	assert_string_equal(code, want);
	api_request_free(&req);
}

static void test_commands(void **state)
{
	(void)state;
	parses("{\"execute\":\"info\"}", API_CMD_INFO);
	parses("{\"execute\":\"pause\",\"arguments\":{}}", API_CMD_PAUSE);
	parses("{\"execute\":\"resume\",\"id\":3}", API_CMD_RESUME);
	parses("{\"execute\":\"events\"}  ", API_CMD_EVENTS);
	parses("{\"execute\":\"stats\"}\r", API_CMD_STATS);
	refused("{\"execute\":\"reboot\"}", "unknown-command");
	refused("{\"execute\":\"INFO\"}", "unknown-command");
}

static void test_stop_arguments(void **state)
{
	struct api_request req;
	const char *code;

	(void)state;
	assert_int_equal(parse("{\"execute\":\"stop\"}", &req, &code), 0);
	assert_true(req.timeout == API_DEFAULT_STOP_TIMEOUT && !req.force);
	api_request_free(&req);
	assert_int_equal(parse("{\"execute\":\"stop\",\"arguments\":{\"timeout\":2.5,"
			       "\"force\":true}}", &req, &code), 0);
	assert_true(req.timeout == 2.5 && req.force);
	api_request_free(&req);
	assert_int_equal(parse("{\"execute\":\"stop\",\"arguments\":{\"timeout\":0}}", &req,
			       &code), 0);
	assert_true(req.timeout == 0);
	api_request_free(&req);
	refused("{\"execute\":\"stop\",\"arguments\":{\"timeout\":-1}}", "bad-argument");
	refused("{\"execute\":\"stop\",\"arguments\":{\"timeout\":86401}}", "bad-argument");
	refused("{\"execute\":\"stop\",\"arguments\":{\"timeout\":\"5\"}}", "bad-argument");
	refused("{\"execute\":\"stop\",\"arguments\":{\"timeout\":null}}", "bad-argument");
	refused("{\"execute\":\"stop\",\"arguments\":{\"force\":1}}", "bad-argument");
	refused("{\"execute\":\"stop\",\"arguments\":{\"now\":true}}", "bad-argument");
	refused("{\"execute\":\"stop\",\"arguments\":[]}", "bad-argument");
	refused("{\"execute\":\"info\",\"arguments\":{\"x\":1}}", "bad-argument");
}

static void test_snapshot_disk_arguments(void **state)
{
	struct api_request req;
	const char *code;
	char *big;

	(void)state;
	assert_int_equal(parse("{\"execute\":\"snapshot-disk\",\"arguments\":{\"disk\":\"disk1\","
			       "\"file\":\"/srv/vm/root.snap.qcow2\"}}", &req, &code), 0);
	assert_int_equal(req.cmd, API_CMD_SNAPSHOT_DISK);
	assert_string_equal(req.disk, "disk1");
	assert_string_equal(req.file, "/srv/vm/root.snap.qcow2");
	api_request_free(&req);
	assert_null(req.disk);
	refused("{\"execute\":\"snapshot-disk\"}", "bad-argument");
	refused("{\"execute\":\"snapshot-disk\",\"arguments\":{}}", "bad-argument");
	refused("{\"execute\":\"snapshot-disk\",\"arguments\":{\"disk\":\"d\"}}", "bad-argument");
	refused("{\"execute\":\"snapshot-disk\",\"arguments\":{\"file\":\"/f\"}}", "bad-argument");
	refused("{\"execute\":\"snapshot-disk\",\"arguments\":{\"disk\":\"\",\"file\":\"/f\"}}",
		"bad-argument");
	refused("{\"execute\":\"snapshot-disk\",\"arguments\":{\"disk\":\"d\",\"file\":\"f\"}}",
		"bad-argument");
	refused("{\"execute\":\"snapshot-disk\",\"arguments\":{\"disk\":1,\"file\":\"/f\"}}",
		"bad-argument");
	refused("{\"execute\":\"snapshot-disk\",\"arguments\":{\"disk\":\"d\",\"file\":\"/f\","
		"\"mode\":\"x\"}}", "bad-argument");
	/* a path longer than 4095 bytes */
	big = malloc(5000);
	assert_non_null(big);
	memset(big, 'a', 5000);
	memcpy(big, "{\"execute\":\"snapshot-disk\",\"arguments\":{\"disk\":\"d\",\"file\":\"/", 60);
	memcpy(big + 4990, "\"}}", 4);
	refused(big, "bad-argument");
	free(big);
}

static void test_snapshot_arguments(void **state)
{
	struct api_request req;
	const char *code;

	(void)state;
	assert_int_equal(parse("{\"execute\":\"snapshot\",\"arguments\":{\"dir\":\"/s\"}}", &req,
			       &code), 0);
	assert_int_equal(req.cmd, API_CMD_SNAPSHOT);
	assert_string_equal(req.snapshot_dir, "/s");
	assert_false(req.snapshot_stop);
	api_request_free(&req);
	assert_null(req.snapshot_dir);
	assert_int_equal(parse("{\"execute\":\"snapshot\",\"arguments\":{\"then\":\"stop\","
			       "\"dir\":\"d\"}}", &req, &code), 0);
	assert_true(req.snapshot_stop);
	api_request_free(&req);
	refused("{\"execute\":\"snapshot\"}", "bad-argument");
	refused("{\"execute\":\"snapshot\",\"arguments\":{}}", "bad-argument");
	refused("{\"execute\":\"snapshot\",\"arguments\":{\"dir\":\"\"}}", "bad-argument");
	refused("{\"execute\":\"snapshot\",\"arguments\":{\"dir\":7}}", "bad-argument");
	refused("{\"execute\":\"snapshot\",\"arguments\":{\"dir\":null}}", "bad-argument");
	refused("{\"execute\":\"snapshot\",\"arguments\":{\"dir\":\"d\",\"then\":\"pause\"}}",
		"bad-argument");
	refused("{\"execute\":\"snapshot\",\"arguments\":{\"dir\":\"d\",\"then\":true}}",
		"bad-argument");
	refused("{\"execute\":\"snapshot\",\"arguments\":{\"dir\":\"d\",\"fd\":3}}",
		"bad-argument");
	/* a dir given twice: the second counts, the first is not leaked */
	assert_int_equal(parse("{\"execute\":\"snapshot\",\"arguments\":{\"dir\":\"a\","
			       "\"dir\":\"b\"}}", &req, &code), 0);
	assert_string_equal(req.snapshot_dir, "b");
	api_request_free(&req);
}

static void test_malformed(void **state)
{
	struct api_request req;
	const char *code;
	char msg[192];
	char *big;

	(void)state;
	refused("", "bad-json");
	refused("{", "bad-json");
	refused("{\"execute\":\"info\"", "bad-json");
	refused("{\"execute\":\"info\"} {}", "bad-json");
	refused("{'execute':'info'}", "bad-json");
	refused("[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]", "bad-json");
	refused("[]", "bad-request");
	refused("42", "bad-request");
	refused("{}", "bad-request");
	refused("{\"execute\":1}", "bad-request");
	refused("{\"execute\":\"info\",\"exec\":1}", "bad-request");
	big = malloc(API_LINE_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', API_LINE_MAX + 1);
	assert_int_equal(api_parse_request(big, API_LINE_MAX + 1, &req, &code, msg, sizeof(msg)),
			 -1);
	assert_string_equal(code, "too-long");
	api_request_free(&req);
	free(big);
}

static void test_id_echoed(void **state)
{
	struct api_request req;
	struct json_object *o, *id;
	const char *code;
	char *line;

	(void)state;
	assert_int_equal(parse("{\"execute\":\"info\",\"id\":{\"a\":[1,\"x\"]}}", &req, &code), 0);
	line = api_reply_ok(&req, NULL);
	assert_non_null(line);
	assert_true(line[strlen(line) - 1] == '\n');
	o = json_tokener_parse(line);
	assert_true(json_object_object_get_ex(o, "id", &id));
	assert_string_equal(json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN),
			    "{\"a\":[1,\"x\"]}");
	json_object_put(o);
	free(line);
	api_request_free(&req);
	/* an error keeps the id of a request that had one */
	assert_int_equal(parse("{\"execute\":\"nope\",\"id\":9}", &req, &code), -1);
	line = api_reply_error(req.id, code, "x");
	assert_non_null(strstr(line, "\"id\":9"));
	free(line);
	api_request_free(&req);
}

static void test_info_reply(void **state)
{
	struct control_info info = { .state = VM_PAUSED, .pid = 42, .uptime_ms = 1500, .cpus = 2,
				     .memory = 256 << 20, .nr_devices = 1 };
	struct api_request req = { 0 };
	struct json_object *o, *r, *v;
	char *line;

	(void)state;
	strcpy(info.kernel, "/k\"quoted\"");
	strcpy(info.devices[0].name, "com1");
	strcpy(info.devices[0].type, "serial");
	info.devices[0].role = "uart";
	info.devices[0].base = 0x3f8;
	info.devices[0].pio = true;
	info.devices[0].irq = 4;
	line = api_reply_info(&req, "vm1", &info);
	o = json_tokener_parse(line);
	assert_true(json_object_object_get_ex(o, "return", &r));
	assert_true(json_object_object_get_ex(r, "state", &v));
	assert_string_equal(json_object_get_string(v), "paused");
	assert_true(json_object_object_get_ex(r, "kernel", &v));
	assert_string_equal(json_object_get_string(v), "/k\"quoted\"");
	assert_true(json_object_object_get_ex(r, "devices", &v));
	v = json_object_array_get_idx(v, 0);
	assert_true(json_object_object_get_ex(v, "port", &v));
	assert_string_equal(json_object_get_string(v), "0x3f8");
	json_object_put(o);
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_stop_arguments),
		cmocka_unit_test(test_snapshot_disk_arguments),
		cmocka_unit_test(test_snapshot_arguments),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_id_echoed),
		cmocka_unit_test(test_info_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
