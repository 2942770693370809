/*
 * recpim_plugin.h: the C ABI between recpim and plugin model backends.
 *
 * Hand-written mirror of the Rust crate recpim-plugin-api (plugins/api/src/lib.rs); the test
 * plugins/api/tests/header_sync.rs fails if the two disagree (constants, struct fields, their
 * order, names and types, and the layout a C compiler gives them).
 *
 * A plugin is a shared library exporting
 *     const RecpimPluginVTable *recpim_plugin_entry(void);
 * which returns a pointer to a static vtable.
 *
 * Versioning: the host reads abi_version and struct_size first and refuses the plugin unless
 * abi_version == RECPIM_PLUGIN_ABI_VERSION and struct_size >= sizeof(RecpimPluginVTable).
 * Fields are only appended within one ABI version.
 *
 * Status codes: every function that can fail returns int32_t: RECPIM_STATUS_OK (0) or one of
 * the RECPIM_STATUS_* codes below, and on failure stores a message returned by last_error.
 * free_string and last_error cannot fail. Never let a C++ exception escape a call: catch it
 * and return RECPIM_STATUS_PANIC. If thread_safe is RECPIM_PLUGIN_NOT_THREAD_SAFE the host
 * makes at most one call into the plugin at a time.
 *
 * Ownership:
 *  - Input strings (genotype_json, bits_json) are NUL-terminated UTF-8 owned by the host and
 *    valid only during the call; copy what you keep. bits_json may be NULL (backend default
 *    bitwidths); genotype_json may not.
 *  - name and version return static strings owned by the plugin, valid while it is loaded (the
 *    host never unloads a plugin and never frees them).
 *  - search_space_json and workload_json return a string allocated by the plugin through the
 *    out-pointer; the host releases it exactly once with the same plugin's free_string (never
 *    with free()). On failure set the out-pointer to NULL. free_string(NULL) does nothing.
 *  - last_error returns a plugin-owned message about the calling thread's most recent failure,
 *    valid until the next call into the plugin on that thread (NULL or "" if none).
 *  - Out-pointers (out_*) are owned by the host and never NULL.
 */
#ifndef RECPIM_PLUGIN_H
#define RECPIM_PLUGIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes. */
#define RECPIM_PLUGIN_ABI_VERSION 1

/* Name of the function every plugin exports. */
#define RECPIM_PLUGIN_ENTRY_SYMBOL "recpim_plugin_entry"

/* Values of thread_safe. */
#define RECPIM_PLUGIN_THREAD_SAFE 1
#define RECPIM_PLUGIN_NOT_THREAD_SAFE 0

/* Status codes. */
#define RECPIM_STATUS_OK 0                /* success */
#define RECPIM_STATUS_INVALID_ARGUMENT 1  /* a required pointer was NULL or text not UTF-8 */
#define RECPIM_STATUS_INVALID_JSON 2      /* input JSON did not parse or fit the search space */
#define RECPIM_STATUS_UNSUPPORTED 3       /* well-formed request the backend cannot serve */
#define RECPIM_STATUS_EVALUATION_FAILED 4 /* accuracy evaluation ran and failed */
#define RECPIM_STATUS_PANIC 5             /* a panic or exception was caught inside the call */
#define RECPIM_STATUS_INTERNAL 6          /* any other failure inside the plugin */

/* The two leading fields of RecpimPluginVTable: all a host reads before checking them. */
typedef struct RecpimPluginHeader {
    uint32_t abi_version;
    uint32_t struct_size;
} RecpimPluginHeader;

/* The table of functions a plugin provides. */
typedef struct RecpimPluginVTable {
    /* Must equal RECPIM_PLUGIN_ABI_VERSION. */
    uint32_t abi_version;
    /* sizeof(RecpimPluginVTable) as the plugin was compiled. */
    uint32_t struct_size;
    /* RECPIM_PLUGIN_THREAD_SAFE or RECPIM_PLUGIN_NOT_THREAD_SAFE. */
    uint32_t thread_safe;
    /* Must be 0. */
    uint32_t reserved;
    /* Writes the backend's static name to *out_name. */
    int32_t (*name)(const char **out_name);
    /* Writes the backend's static version to *out_version. */
    int32_t (*version)(const char **out_version);
    /* Writes the search-space JSON (release with free_string) to *out_json. */
    int32_t (*search_space_json)(char **out_json);
    /* Writes the workload JSON of a candidate (release with free_string) to *out_ops_json. */
    int32_t (*workload_json)(const char *genotype_json, const char *bits_json, char **out_ops_json);
    /* Validation log loss of a candidate; may be NULL when the backend has no accuracy model. */
    int32_t (*evaluate_accuracy)(const char *genotype_json, const char *bits_json, double *out_val_log_loss);
    /* Releases a string returned by search_space_json or workload_json; NULL is ignored. */
    void (*free_string)(char *string);
    /* Message of the calling thread's most recent failure (owned by the plugin). */
    const char *(*last_error)(void);
} RecpimPluginVTable;

/* The entry point every plugin exports. */
const RecpimPluginVTable *recpim_plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* RECPIM_PLUGIN_H */
