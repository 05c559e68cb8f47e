/* seccomp filters per thread class: see sandbox.h. */
#include "sandbox.h"

static enum seccomp_mode mode = SECCOMP_OFF;

int sandbox_configure(const struct vm_config *cfg)
{
	mode = cfg->seccomp;
	return 0;
}

int sandbox_enter(enum sandbox_class cls)
{
	(void)cls;
	(void)mode;
	return 0;	/* the filters are not written yet */
}
