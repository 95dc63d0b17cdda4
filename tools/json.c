/* SPDX-License-Identifier: MIT */
#include "json.h"

#include <inttypes.h>

void json_init(struct json *j, FILE *f)
{
    j->f = f;
    j->depth = 0;
    j->first[0] = true;
    j->after_key = false;
}

void json_finish(struct json *j)
{
    fputc('\n', j->f);
}

static void indent(struct json *j)
{
    fputc('\n', j->f);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->f);
}

/* Positions the output for a new value: after a key, or as the next
 * array element (comma and newline), or at the top. */
static void before_value(struct json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth > 0) {
        if (!j->first[j->depth])
            fputc(',', j->f);
        indent(j);
    }
    j->first[j->depth] = false;
}

void json_write_escaped(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            /* Controls, DEL, and bytes that may not be valid UTF-8 are
             * escaped (read as Latin-1) so the document always parses. */
            if (*p < 0x20 || *p >= 0x7f)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void open_container(struct json *j, char c)
{
    before_value(j);
    fputc(c, j->f);
    if (j->depth + 1 < JSON_MAX_DEPTH)
        j->depth++;
    j->first[j->depth] = true;
}

static void close_container(struct json *j, char c)
{
    bool empty = j->first[j->depth];

    if (j->depth > 0)
        j->depth--;
    if (!empty)
        indent(j);
    fputc(c, j->f);
}

void json_begin_object(struct json *j) { open_container(j, '{'); }
void json_end_object(struct json *j) { close_container(j, '}'); }
void json_begin_array(struct json *j) { open_container(j, '['); }
void json_end_array(struct json *j) { close_container(j, ']'); }

void json_key(struct json *j, const char *key)
{
    before_value(j);
    json_write_escaped(j->f, key);
    fputs(": ", j->f);
    j->after_key = true;
}

void json_string(struct json *j, const char *s)
{
    before_value(j);
    json_write_escaped(j->f, s ? s : "");
}

void json_uint(struct json *j, uint64_t v)
{
    before_value(j);
    fprintf(j->f, "%" PRIu64, v);
}

void json_int(struct json *j, int64_t v)
{
    before_value(j);
    fprintf(j->f, "%" PRId64, v);
}

void json_bool(struct json *j, bool v)
{
    before_value(j);
    fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j)
{
    before_value(j);
    fputs("null", j->f);
}

void json_kv_string(struct json *j, const char *key, const char *s)
{
    json_key(j, key);
    json_string(j, s);
}

void json_kv_uint(struct json *j, const char *key, uint64_t v)
{
    json_key(j, key);
    json_uint(j, v);
}

void json_kv_int(struct json *j, const char *key, int64_t v)
{
    json_key(j, key);
    json_int(j, v);
}

void json_kv_bool(struct json *j, const char *key, bool v)
{
    json_key(j, key);
    json_bool(j, v);
}

void json_kv_hex(struct json *j, const char *key, uint64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
    json_kv_string(j, key, buf);
}

void json_kv_hexw(struct json *j, const char *key, uint64_t v, int digits)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "0x%0*" PRIx64, digits, v);
    json_kv_string(j, key, buf);
}
