/*
 * minimal.c: the smallest complete recpim plugin backend, in C (see plugins/README.md).
 *
 * One fully connected layer. The genotype {"rows": R, "cols": C} is an R x C weight matrix;
 * the workload is one mvm op and a relu over its C outputs; the bits JSON, when given, sets the
 * layer's weight and activation bits (default 8 and 8). No accuracy model.
 *
 * Build: cc -std=c11 -shared -fPIC -I plugins/api -o libminimal.so plugins/examples/minimal.c
 * Use:   recpim plugins inspect ./libminimal.so
 *        recpim simulate --backend plugin:./libminimal.so --hw hwconfigs/default.toml
 *
 * The JSON reading below only looks for `"key": number` and is enough for this example; a
 * real plugin should parse its inputs with a JSON library.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recpim_plugin.h"

/* The calling thread's last failure message: static text, so nothing to free. */
static _Thread_local const char *last_message = "";

static int32_t fail(int32_t status, const char *message) {
    last_message = message;
    return status;
}

/* The integer after "key": (a list's first entry for "key": [..]), or -1 if there is none. */
static long read_number(const char *json, const char *key) {
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    const char *at = strstr(json, quoted);
    if (at == NULL) {
        return -1;
    }
    at += strlen(quoted);
    while (isspace((unsigned char)*at) || *at == ':' || *at == '[') {
        at++;
    }
    char *end = NULL;
    long value = strtol(at, &end, 10);
    return end == at ? -1 : value;
}

/* A heap copy the host releases through free_string. */
static char *copy_string(const char *text) {
    size_t size = strlen(text) + 1;
    char *copy = malloc(size);
    if (copy != NULL) {
        memcpy(copy, text, size);
    }
    return copy;
}

static int32_t plugin_name(const char **out_name) {
    *out_name = "minimal";
    return RECPIM_STATUS_OK;
}

static int32_t plugin_version(const char **out_version) {
    *out_version = "1.0.0";
    return RECPIM_STATUS_OK;
}

static int32_t search_space_json(char **out_json) {
    *out_json = copy_string("{\"backend\": \"minimal\", \"bitwidths\": [4, 8], "
                            "\"bits_order\": \"one entry: the layer fc\", "
                            "\"default_genotype\": {\"rows\": 256, \"cols\": 128}}");
    return *out_json != NULL ? RECPIM_STATUS_OK : fail(RECPIM_STATUS_INTERNAL, "out of memory");
}

static int32_t workload_json(const char *genotype_json, const char *bits_json,
                             char **out_ops_json) {
    *out_ops_json = NULL;
    if (genotype_json == NULL) {
        return fail(RECPIM_STATUS_INVALID_ARGUMENT, "genotype_json is NULL");
    }
    long rows = read_number(genotype_json, "rows");
    long cols = read_number(genotype_json, "cols");
    if (rows < 1 || rows > (1L << 24) || cols < 1 || cols > (1L << 24)) {
        return fail(RECPIM_STATUS_INVALID_JSON,
                    "genotype: expected {\"rows\": R, \"cols\": C} with 1 <= R, C <= 16777216");
    }
    long weight_bits = 8;
    long activation_bits = 8;
    if (bits_json != NULL) {
        weight_bits = read_number(bits_json, "weight_bits");
        activation_bits = read_number(bits_json, "activation_bits");
        if (weight_bits < 1 || weight_bits > 16 || activation_bits < 1 || activation_bits > 16) {
            return fail(RECPIM_STATUS_INVALID_JSON,
                        "bits: expected {\"weight_bits\": [W], \"activation_bits\": [A]} "
                        "with 1 <= W, A <= 16 (one operator: fc)");
        }
    }
    char text[512];
    int length = snprintf(text, sizeof text,
                          "{\"ops\": ["
                          "{\"kind\": \"mvm\", \"name\": \"fc\", \"rows\": %ld, \"cols\": %ld, "
                          "\"weight_bits\": %ld, \"input_bits\": %ld, \"count\": 1}, "
                          "{\"kind\": \"elementwise\", \"name\": \"relu\", "
                          "\"function\": \"relu\", \"elements\": %ld}]}",
                          rows, cols, weight_bits, activation_bits, cols);
    if (length < 0 || (size_t)length >= sizeof text) {
        return fail(RECPIM_STATUS_INTERNAL, "workload text too long");
    }
    *out_ops_json = copy_string(text);
    return *out_ops_json != NULL ? RECPIM_STATUS_OK : fail(RECPIM_STATUS_INTERNAL, "out of memory");
}

static void free_string(char *string) {
    free(string); /* free(NULL) does nothing, as the ABI asks */
}

static const char *last_error(void) {
    return last_message;
}

static const RecpimPluginVTable VTABLE = {
    .abi_version = RECPIM_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(RecpimPluginVTable),
    .thread_safe = RECPIM_PLUGIN_THREAD_SAFE, /* no shared mutable state */
    .reserved = 0,
    .name = plugin_name,
    .version = plugin_version,
    .search_space_json = search_space_json,
    .workload_json = workload_json,
    .evaluate_accuracy = NULL, /* no accuracy model: workloads only */
    .free_string = free_string,
    .last_error = last_error,
};

const RecpimPluginVTable *recpim_plugin_entry(void) {
    return &VTABLE;
}
