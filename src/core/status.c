/* Status codes: the texts behind fs_strerror(), and the few API functions
 * that need no handle (version, free, kind names). */
#include "fstore.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *fs_strerror(int code)
{
    switch (code) {
    case FS_OK: return "FS_OK: success";
    case FS_E_INVAL: return "FS_E_INVAL: invalid argument";
    case FS_E_NOMEM: return "FS_E_NOMEM: out of memory";
    case FS_E_IO: return "FS_E_IO: input/output error";
    case FS_E_NOTFOUND: return "FS_E_NOTFOUND: no such object";
    case FS_E_PARSE: return "FS_E_PARSE: input could not be parsed";
    case FS_E_INVALID_DEF: return "FS_E_INVALID_DEF: definitions are invalid";
    case FS_E_BUSY: return "FS_E_BUSY: the data directory is locked by another process";
    case FS_E_CORRUPT: return "FS_E_CORRUPT: stored data failed a consistency check";
    case FS_E_EXISTS: return "FS_E_EXISTS: object already exists";
    case FS_E_NOSPACE: return "FS_E_NOSPACE: no space left; nothing was written";
    case FS_E_VERSION: return "FS_E_VERSION: stored format version is not supported by this build";
    case FS_E_NOTDIR: return "FS_E_NOTDIR: not an fstore data directory";
    case FS_E_AMBIGUOUS: return "FS_E_AMBIGUOUS: name matches objects of several kinds";
    case FS_E_PARTIAL: return "FS_E_PARTIAL: part of the job failed; the rest was stored";
    default: return "FS_E_UNKNOWN: unknown status code";
    }
}

const char *fs_version(void) { return FSTORE_VERSION; }

void fs_free(void *ptr) { free(ptr); }

static const char *const kind_names[FS_KIND_COUNT] = {
    "entity", "source", "view", "feature", "service", "contract",
};
static const char *const kind_plurals[FS_KIND_COUNT] = {
    "entities", "sources", "views", "features", "services", "contracts",
};

const char *fs_kind_name(fs_kind kind)
{
    return (unsigned)kind < FS_KIND_COUNT ? kind_names[kind] : NULL;
}

int fs_kind_parse(const char *name)
{
    if (!name)
        return -1;
    for (int k = 0; k < FS_KIND_COUNT; k++)
        if (strcasecmp(name, kind_names[k]) == 0 || strcasecmp(name, kind_plurals[k]) == 0)
            return k;
    return -1;
}
