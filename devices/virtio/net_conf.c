/* The net type's options: tap=NAME[,mac=MAC][,vhost=auto|on|off]. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "keyval.h"
#include "net.h"
#include "util.h"

#define NET_SYNTAX "use tap=NAME[,mac=MAC][,vhost=auto|on|off]"

static int hex_digit(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* "52:54:00:12:34:56" -> 6 bytes; false if malformed. */
static bool parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	unsigned int i;

	if (len != 17)
		return false;
	for (i = 0; i < 6; i++) {
		const char *p = s + i * 3;

		if (i < 5 && p[2] != ':')
			return false;
		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]))
			return false;
		mac[i] = (uint8_t)(hex_digit(p[0]) << 4 | hex_digit(p[1]));
	}
	return true;
}

static bool valid_ifname(const char *name)
{
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (; *name; name++)
		if (*name == '/' || *name == ':' || isspace((unsigned char)*name))
			return false;
	return true;
}

static const char *const net_keys[] = { "tap", "mac", "vhost" };

/* Key @k (an index into net_keys) set to the @vlen bytes at @v. */
static int set_net_key(void *obj, const char *arg, unsigned int k, const char *v, size_t vlen,
		       struct errmsg *err)
{
	struct net_config *n = obj;

	switch (k) {
	case 0:
		if (!vlen || !keyval_copy(n->tap, sizeof(n->tap), v, vlen) ||
		    !valid_ifname(n->tap))
			return errmsg_set(err, -EINVAL, "%s: tap=%.*s: use an interface name of 1 "
					  "to %d characters without '/', ':' or spaces", arg,
					  (int)vlen, v, NET_IFNAME_MAX);
		break;
	case 1:
		if (!parse_mac(v, vlen, n->mac))
			return errmsg_set(err, -EINVAL, "%s: mac=%.*s: use six hex bytes like "
					  "02:00:00:12:34:56", arg, (int)vlen, v);
		if (n->mac[0] & 1)
			return errmsg_set(err, -EINVAL, "%s: mac=%.*s is a multicast address; the "
					  "first byte must be even, e.g. 02:00:00:12:34:56", arg,
					  (int)vlen, v);
		if (!(n->mac[0] | n->mac[1] | n->mac[2] | n->mac[3] | n->mac[4] | n->mac[5]))
			return errmsg_set(err, -EINVAL, "%s: mac=%.*s: the all-zero address is not "
					  "usable", arg, (int)vlen, v);
		n->mac_set = true;
		break;
	case 2:
		if (keyval_is(v, vlen, "auto"))
			n->vhost = VHOST_AUTO;
		else if (keyval_is(v, vlen, "on"))
			n->vhost = VHOST_ON;
		else if (keyval_is(v, vlen, "off"))
			n->vhost = VHOST_OFF;
		else
			return errmsg_set(err, -EINVAL, "%s: vhost=%.*s: use vhost=auto, vhost=on "
					  "or vhost=off", arg, (int)vlen, v);
		break;
	}
	return 0;
}

int net_config_parse(void *conf, const char *opts, struct errmsg *err)
{
	int ret;

	if (!*opts)
		return errmsg_set(err, -EINVAL, ": no tap given; " NET_SYNTAX);
	ret = keyval_parse(opts, net_keys, ARRAY_SIZE(net_keys), NET_SYNTAX, set_net_key, conf,
			   err);
	if (ret < 0)
		return ret;
	if (!(ret & 1))
		return errmsg_set(err, -EINVAL, "%s: no tap given; " NET_SYNTAX, opts);
	return 0;
}

int net_config_conflicts(const void *prev, const void *conf, const char *opts,
			 struct errmsg *err)
{
	const struct net_config *p = prev, *n = conf;

	if (!strcmp(p->tap, n->tap))
		return errmsg_set(err, -EEXIST, "%s: tap %s is given twice; each " ERRMSG_TYPE
				  " needs its own tap", opts, n->tap);
	if (n->mac_set && p->mac_set && !memcmp(p->mac, n->mac, 6))
		return errmsg_set(err, -EEXIST, "%s: this mac= is already taken by another "
				  ERRMSG_TYPE, opts);
	return 0;
}
