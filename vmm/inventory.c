/* The platform inventory (inventory.h): an ordered array of entries. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"

int inventory_add(struct inventory *inv, const struct inv_entry *e)
{
	if (inv->nr == inv->cap) {
		unsigned int cap = inv->cap ? inv->cap * 2 : 8;
		struct inv_entry *n = realloc(inv->entries, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		inv->entries = n;
		inv->cap = cap;
	}
	inv->entries[inv->nr++] = *e;
	return 0;
}

void inventory_remove(struct inventory *inv, const void *owner)
{
	unsigned int i, kept = 0;

	for (i = 0; i < inv->nr; i++)
		if (inv->entries[i].owner != owner)
			inv->entries[kept++] = inv->entries[i];
	inv->nr = kept;
	if (!kept)
		inventory_free(inv);	/* an empty inventory holds no memory */
}

void inventory_free(struct inventory *inv)
{
	free(inv->entries);
	memset(inv, 0, sizeof(*inv));
}

/* Put @part at @pos, after a space unless it starts the line; the new end. */
static size_t append(char *s, size_t pos, const char *part)
{
	size_t n = strlen(part);

	if (pos)
		s[pos++] = ' ';
	memcpy(s + pos, part, n + 1);
	return pos + n;
}

char *inventory_cmdline(const struct inventory *inv, const char *head, const char *tail)
{
	size_t len = strlen(head) + (tail ? strlen(tail) + 1 : 0) + 1, pos;
	unsigned int i;
	char *s;

	for (i = 0; i < inv->nr; i++)
		len += strlen(inv->entries[i].cmdline) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = 0;
	pos = append(s, 0, head);
	for (i = 0; i < inv->nr; i++)
		if (inv->entries[i].cmdline[0])
			pos = append(s, pos, inv->entries[i].cmdline);
	if (tail)
		append(s, pos, tail);
	return s;
}
