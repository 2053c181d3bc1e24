/* Creating a spool from the layout (init.c). */
#ifndef SPOOL_INIT_H
#define SPOOL_INIT_H

#include <stdbool.h>

/* Creates a spool from the layout directory. *created is false if dir
 * already was a spool (nothing is changed then). */
int spool_init(bool *created, const char *dir, const char *layout_dir);

#endif
