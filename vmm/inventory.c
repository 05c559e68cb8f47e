/* The platform inventory (inventory.h). */
#include <errno.h>
#include <stdlib.h>

#include "inventory.h"

int inventory_add(struct inventory *inv, const struct inventory_entry *e)
{
	if (inv->nr == inv->cap) {
		unsigned int cap = inv->cap ? 2 * inv->cap : 8;
		struct inventory_entry *v = realloc(inv->entries, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		inv->entries = v;
		inv->cap = cap;
	}
	inv->entries[inv->nr++] = *e;
	return 0;
}

void inventory_free(struct inventory *inv)
{
	free(inv->entries);
	inv->entries = NULL;
	inv->nr = inv->cap = 0;
}
