/* SPDX-License-Identifier: MIT */
/*
 * A small streaming JSON writer: pretty-printed, commas and nesting
 * tracked for the caller, every string escaped so that device-supplied
 * text can never break the document.
 */
#ifndef MACVFIO_TOOLS_JSON_H
#define MACVFIO_TOOLS_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
    FILE *f;
    int depth;
    bool first[JSON_MAX_DEPTH];  /* no member written yet at this level */
    bool after_key;              /* a key was written; its value is next */
};

void json_init(struct json *j, FILE *f);
/* Ends the document with a newline. */
void json_finish(struct json *j);

void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);

void json_key(struct json *j, const char *key);
void json_string(struct json *j, const char *s);
void json_uint(struct json *j, uint64_t v);
void json_int(struct json *j, int64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

/* key + value in one call. Hex values are strings ("0x1f"), since JSON
 * numbers lose precision above 2^53 in many readers. */
void json_kv_string(struct json *j, const char *key, const char *s);
void json_kv_uint(struct json *j, const char *key, uint64_t v);
void json_kv_int(struct json *j, const char *key, int64_t v);
void json_kv_bool(struct json *j, const char *key, bool v);
void json_kv_hex(struct json *j, const char *key, uint64_t v);
/* Zero-padded to `digits` hex digits: IDs read as "0x00e0". */
void json_kv_hexw(struct json *j, const char *key, uint64_t v, int digits);

/* Writes s as a quoted, escaped JSON string (exposed for tests). */
void json_write_escaped(FILE *f, const char *s);

#endif /* MACVFIO_TOOLS_JSON_H */
