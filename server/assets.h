/*
 * assets: the static files tipd serves (server/assets/: the public form's
 * optional script, the staff console's page and script), compiled into the
 * binary by cmake/embed_assets.cmake, so a deployed tipd reads no files
 * to serve them and they cannot drift from the code that answers them.
 */
#ifndef TIPD_ASSETS_H
#define TIPD_ASSETS_H

#include <stddef.h>

struct asset {
    const char *name; /* file name in server/assets/ */
    const char *data; /* static, NUL-terminated */
    size_t len;       /* bytes, without the NUL */
};

/* The generated table (assets_data.c). */
extern const struct asset assets[];
extern const int assets_count;

/* The asset named name, or NULL. */
const struct asset *assets_find(const char *name);

#endif
