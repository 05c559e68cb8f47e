/* The device registry, the instances a VM owns, and the specs behind them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "vm.h"

static struct device_type *registry;

/* Keep the list sorted by phase, stable for equal phases. */
void device_type_register(struct device_type *t)
{
	struct device_type **pp = &registry;

	while (*pp && (*pp)->phase <= t->phase)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
}

const struct device_type *device_type_find(const char *name)
{
	const struct device_type *t;

	for (t = registry; t; t = t->next)
		if (t->parse && !strcmp(t->name, name))
			return t;
	return NULL;
}

const struct device_type *device_type_next_user(const struct device_type *t)
{
	for (t = t ? t->next : registry; t; t = t->next)
		if (t->parse)
			return t;
	return NULL;
}

void device_add(struct vm *vm, struct device *dev, const struct device_type *t,
		const struct device_ops *ops)
{
	struct device **pp = &vm->devices;
	size_t len = strlen(t->name);
	const char *sep = len && t->name[len - 1] >= '0' && t->name[len - 1] <= '9' ? "-" : "";

	dev->type = t;
	dev->ops = ops;
	dev->vm = vm;
	dev->index = 0;
	dev->next = NULL;
	for (; *pp; pp = &(*pp)->next)
		dev->index += (*pp)->type == t;
	snprintf(dev->name, sizeof(dev->name), "%s%s%u", t->name, sep, dev->index);
	*pp = dev;
}

int device_op_reset(struct device *dev)
{
	return dev->ops->reset ? dev->ops->reset(dev) : -EOPNOTSUPP;
}

int device_op_pause(struct device *dev)
{
	return dev->ops->pause ? dev->ops->pause(dev) : -EOPNOTSUPP;
}

int device_op_resume(struct device *dev)
{
	return dev->ops->resume ? dev->ops->resume(dev) : -EOPNOTSUPP;
}

int device_op_save(struct device *dev, void *buf, size_t len)
{
	return dev->ops->save ? dev->ops->save(dev, buf, len) : -EOPNOTSUPP;
}

int device_op_restore(struct device *dev, const void *buf, size_t len)
{
	return dev->ops->restore ? dev->ops->restore(dev, buf, len) : -EOPNOTSUPP;
}

int device_save_none(struct device *dev, void *buf, size_t len)
{
	(void)dev, (void)buf, (void)len;
	return 0;
}

int device_restore_none(struct device *dev, const void *buf, size_t len)
{
	(void)dev, (void)buf;
	return len ? -EINVAL : 0;
}

/* ---- options and specs ---- */

static const struct device_type *opt_type(const struct device_opt *o, struct errmsg *err)
{
	const struct device_type *t = device_type_find(o->type);

	if (!t)
		errmsg_set(err, -ENOENT, "%s: no such device type", o->type);
	return t;
}

int device_opt_parse(const struct device_opt *o, void *conf, struct errmsg *err)
{
	const struct device_type *t = opt_type(o, err);

	if (!t)
		return -ENOENT;
	if (err)
		err->type = t->name;
	memset(conf, 0, t->conf_size);
	return t->parse(conf, o->opts, err);
}

int device_opt_check(const struct device_opt *opts, unsigned int n,
		     const struct device_opt *o, struct errmsg *err)
{
	const struct device_type *t = opt_type(o, err);
	void *conf, *prev;
	unsigned int i, count = 0;
	int ret;

	if (!t)
		return -ENOENT;
	if (err)
		err->type = t->name;
	for (i = 0; i < n; i++)
		count += !strcmp(opts[i].type, t->name);
	if (count >= t->max)
		return errmsg_set(err, -ENOSPC, "%s: kvmini takes at most %u " ERRMSG_TYPE
				  " options", o->opts, t->max);
	conf = calloc(1, t->conf_size);
	prev = calloc(1, t->conf_size);
	if (!conf || !prev) {
		ret = errmsg_set(err, -ENOMEM, "%s: out of memory", o->opts);
		goto out;
	}
	ret = t->parse(conf, o->opts, err);
	for (i = 0; !ret && i < n; i++) {
		if (strcmp(opts[i].type, t->name))
			continue;
		memset(prev, 0, t->conf_size);
		/* the earlier ones passed this check already */
		if (t->parse(prev, opts[i].opts, NULL) == 0 && t->conflicts)
			ret = t->conflicts(prev, conf, o->opts, err);
	}
out:
	free(prev);
	free(conf);
	return ret;
}

void device_specs_close(struct device_specs *s)
{
	while (s->n > 0) {
		struct device_spec *sp = &s->v[--s->n];

		if (sp->host_open && sp->type->close_host)
			sp->type->close_host(sp->host);
		free(sp->conf);
	}
	free(s->v);
	s->v = NULL;
}

/* Parse @o into the next spec of @s. */
static int spec_add(struct device_specs *s, const struct device_type *t,
		    const struct device_opt *o, unsigned int index, struct errmsg *err)
{
	struct device_spec *sp = &s->v[s->n];

	sp->type = t;
	sp->index = index;
	sp->host = NULL;
	sp->host_open = false;
	sp->conf = calloc(1, t->conf_size);
	if (!sp->conf)
		return errmsg_set(err, -ENOMEM, "%s: out of memory", o->opts);
	s->n++;
	return device_opt_parse(o, sp->conf, err);
}

static unsigned int device_types_with_defaults(void)
{
	const struct device_type *t;
	unsigned int n = 0;

	for (t = device_type_next_user(NULL); t; t = device_type_next_user(t))
		n += t->default_opts != NULL;
	return n;
}

int device_specs_open(struct device_specs *s, const struct device_opt *opts, unsigned int n,
		      const struct device_env *env, struct errmsg *err)
{
	const struct device_type *t;
	unsigned int i, index;
	int ret;

	s->n = 0;
	/* room for the instances asked for and one per type with default options */
	s->v = calloc(n + device_types_with_defaults() + 1, sizeof(*s->v));
	if (!s->v)
		return errmsg_set(err, -ENOMEM, "out of memory");
	for (i = 0; i < n; i++)
		if (!opt_type(&opts[i], err))
			goto err;
	/* by type, as devices_create() walks them; each type's in the order given */
	for (t = device_type_next_user(NULL); t; t = device_type_next_user(t)) {
		const struct device_opt dflt = { t->name, t->default_opts };

		for (i = 0, index = 0; i <= n; i++) {
			const struct device_opt *o = i < n ? &opts[i] : &dflt;
			struct device_spec *sp;

			if (i == n && (index || !t->default_opts))
				break;	/* asked for, or no default instance */
			if (strcmp(o->type, t->name))
				continue;
			if (spec_add(s, t, o, index++, err))
				goto err;
			sp = &s->v[s->n - 1];
			if (t->open_host) {
				ret = t->open_host(sp->conf, env, &sp->host, err);
				if (ret) {
					err->code = ret;
					goto err;
				}
				sp->host_open = true;
			}
		}
	}
	return 0;
err:
	ret = err->code;
	device_specs_close(s);
	return ret;
}

/* ---- instances ---- */

int devices_create(struct vm *vm, const struct device_specs *s, const struct device_env *env,
		   struct errmsg *err)
{
	const struct device_type *t;
	unsigned int i;
	int ret;

	for (t = registry; t; t = t->next) {
		err->type = t->parse ? t->name : NULL;
		err->msg[0] = 0;
		if (!t->parse) {
			ret = t->create(vm, env, NULL, NULL, 0, err);
			if (ret)
				return err->code = ret;
			continue;
		}
		for (i = 0; i < s->n; i++) {
			const struct device_spec *sp = &s->v[i];

			if (sp->type != t)
				continue;
			ret = t->create(vm, env, sp->conf, sp->host, sp->index, err);
			if (ret)
				return err->code = ret;
		}
	}
	err->type = NULL;
	return 0;
}

int devices_describe(struct vm *vm, struct inventory *inv)
{
	struct device *d;
	int ret;

	for (d = vm->devices; d; d = d->next) {
		if (!d->ops->describe)
			continue;
		ret = d->ops->describe(d, inv);
		if (ret)
			return ret;
	}
	return 0;
}

void devices_quiesce(struct vm *vm)
{
	struct device *d;

	for (d = vm->devices; d; d = d->next)
		if (d->ops->quiesce)
			d->ops->quiesce(d);
}

int devices_power_button(struct vm *vm)
{
	struct device *d;

	for (d = vm->devices; d; d = d->next)
		if (d->ops->power_button)
			return d->ops->power_button(d);
	return -ENODEV;
}

void devices_pause(struct vm *vm)
{
	struct device *d;

	for (d = vm->devices; d; d = d->next)
		if (d->ops->pause)
			d->ops->pause(d);
}

void devices_resume(struct vm *vm)
{
	struct device *d;

	for (d = vm->devices; d; d = d->next)
		if (d->ops->resume)
			d->ops->resume(d);
}

void devices_destroy(struct vm *vm)
{
	/* last first, without back pointers: the list is short */
	while (vm->devices) {
		struct device **pp = &vm->devices, *d;

		while ((*pp)->next)
			pp = &(*pp)->next;
		d = *pp;
		*pp = NULL;
		if (d->ops->destroy)
			d->ops->destroy(d);
	}
}
