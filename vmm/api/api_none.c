/*
 * A build without the control plane (-Dapi=disabled, no json-c): no API
 * socket, no --report, and the client commands say what is missing. --name
 * and --pidfile still work.
 */
#include "api.h"
#include "client.h"
#include "log.h"
#include "proto.h"
#include "stat.h"

#define NO_API "kvmini is built without the control plane (-Dapi=disabled: no json-c)"

int api_start(int listen_fd, uid_t owner, const char *name)
{
	(void)listen_fd, (void)owner, (void)name;
	return 0;
}

void api_stop(void)
{
}

void api_json_init(void)
{
}

int cmd_list(int argc, char **argv)
{
	(void)argc, (void)argv;
	kv_err("kvmini list: " NO_API);
	return CLIENT_ERROR;
}

int cmd_control(int argc, char **argv)
{
	(void)argc;
	kv_err("kvmini %s: " NO_API, argv[0]);
	return CLIENT_ERROR;
}

int cmd_snapshot(int argc, char **argv)
{
	(void)argc, (void)argv;
	kv_err("kvmini snapshot: " NO_API);
	return CLIENT_ERROR;
}

int client_request(const char *name, const char *cmd, struct json_object **reply)
{
	(void)name, (void)cmd, (void)reply;
	return CLIENT_ERROR;
}

int cmd_stat(int argc, char **argv)
{
	(void)argc, (void)argv;
	kv_err("kvmini stat: " NO_API);
	return CLIENT_ERROR;
}

int client_snapshot_disk(const char *name, const char *disk, const char *file)
{
	(void)disk, (void)file;
	kv_err("kvmini snapshot-disk %s: a running VM's disk goes through its API: " NO_API
	       "; a stopped image works with --image", name);
	return CLIENT_ERROR;
}
