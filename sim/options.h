/* SPDX-License-Identifier: MIT */
/*
 * Strict parsing of simulated-device options: the text after the device
 * name in a spec such as "sim:dmatest,window=1M,serial=7".
 *
 *   struct mvf_sim_opt o;
 *   const char *cur = args;
 *   int rc;
 *   while ((rc = mvf_sim_opt_next(&cur, &o, err, errlen)) > 0)
 *       ... o.key, o.val ...
 *   if (rc < 0) fail;
 */
#ifndef MACVFIO_SIM_OPTIONS_H
#define MACVFIO_SIM_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#define MVF_SIM_OPT_KEY_MAX 32
#define MVF_SIM_OPT_VAL_MAX 256

struct mvf_sim_opt {
    char key[MVF_SIM_OPT_KEY_MAX];   /* [a-z0-9_-]+ */
    char val[MVF_SIM_OPT_VAL_MAX];   /* non-empty, no ',' */
};

/*
 * Takes the next ",key=value" from *cur.  Returns 1 with *opt filled and
 * *cur advanced, 0 at the end of the text, or -EINVAL with a reason in
 * err: text not starting with ',', an empty option, a missing '=', a key
 * or value that is empty, too long or has bad characters.
 */
int mvf_sim_opt_next(const char **cur, struct mvf_sim_opt *opt, char *err,
                     size_t errlen);

/* Parses an unsigned decimal or 0x-hex number; with `suffixes`, one
 * optional K, M, G or T (binary units, either case).  Nothing else may
 * follow.  0 or -EINVAL (malformed) / -ERANGE (over 64 bits). */
int mvf_sim_parse_u64(const char *s, int suffixes, uint64_t *out);

#endif /* MACVFIO_SIM_OPTIONS_H */
