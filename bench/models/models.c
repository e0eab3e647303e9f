/* The registry of processes-vs-threads experiments. */
#include <string.h>

#include "model.h"

extern const struct model_ops model_spawn_ops;
extern const struct model_ops model_ctxswitch_ops;
extern const struct model_ops model_isolation_ops;
extern const struct model_ops model_scaling_ops;
extern const struct model_ops model_races_ops;
extern const struct model_ops model_iobound_ops;
extern const struct model_ops model_python_ops;

const struct model_ops *const model_registry[] = {
	&model_spawn_ops,
	&model_ctxswitch_ops,
	&model_isolation_ops,
	&model_scaling_ops,
	&model_races_ops,
	&model_iobound_ops,
	&model_python_ops,
	NULL,
};

const struct model_ops *model_find(const char *name)
{
	for (size_t i = 0; model_registry[i]; i++)
		if (strcmp(model_registry[i]->name, name) == 0)
			return model_registry[i];
	return NULL;
}
