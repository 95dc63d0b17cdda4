/* SPDX-License-Identifier: MIT */
/*
 * DART model: an IOVA allocator that behaves like Apple's DART mapper
 * as seen from a driver (see dart.h for the contract).
 *
 * Live mappings are the nodes of an AVL tree keyed by IOVA.  Mappings
 * never overlap, so an in-order walk visits them in address order and
 * the free space is exactly the holes between consecutive mappings plus
 * the two ends of the aperture.  Every node caches three facts about
 * its subtree:
 *
 *   lo   lowest IOVA mapped in the subtree (its leftmost node's iova)
 *   hi   highest end (iova + length) in the subtree (its rightmost node)
 *   gap  the largest hole between two consecutive mappings that both
 *        lie in the subtree
 *
 * These are recomputed from the children in O(1), so rotations and the
 * insert/delete paths keep them exact at O(log n) cost, and the lowest
 * hole of at least `len` bytes is found by a single descent: the holes
 * of a node's left subtree lie below the hole left of the node, which
 * lies below the hole right of it, which lies below those of its right
 * subtree.
 *
 * Every IOVA, length and aperture bound is a granule multiple, so every
 * hole is one too and placement needs no alignment arithmetic.
 *
 * Nodes come from a per-instance slab (chunks of nodes threaded on a
 * free list) so map/unmap do not call malloc in the steady state.  The
 * slab never holds more than max_mappings nodes.
 */
#include <errno.h>
#include <stdlib.h>

#include "macvfio/abi.h"
#include "dart.h"

struct dart_node {
    struct mvf_dart_mapping map;     /* what lookup hands out */
    struct dart_node *left, *right;  /* left is the free-list link when free */
    uint64_t lo, hi, gap;            /* subtree summary, see top of file */
    int height;                      /* AVL height, a leaf is 1 */
};

/* A slab chunk: a header followed by its nodes. */
struct dart_chunk {
    struct dart_chunk *next;
    size_t count;
    struct dart_node nodes[];
};

/* First chunk holds this many nodes; each next one twice as many, up to
 * the maximum (and never more than the mapping cap still allows). */
#define DART_CHUNK_MIN 32u
#define DART_CHUNK_MAX 4096u

struct mvf_dart {
    struct mvf_dart_config cfg;
    uint64_t end;                 /* cfg.base + cfg.size, representable */
    struct dart_node *root;
    uint64_t mapped;              /* sum of live lengths, <= budget */
    uint32_t live;                /* live mappings, <= max_mappings */

    struct dart_node *free_nodes; /* slab free list, linked by ->left */
    struct dart_chunk *chunks;
    size_t capacity;              /* nodes in all chunks */
    size_t next_chunk;            /* nodes in the next chunk to allocate */
};

/* ---- small helpers ---------------------------------------------------- */

static inline uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static inline uint64_t node_end(const struct dart_node *n)
{
    return n->map.iova + n->map.length;
}

static inline int node_height(const struct dart_node *n)
{
    return n ? n->height : 0;
}

/* ---- node slab -------------------------------------------------------- */

static bool slab_grow(struct mvf_dart *d)
{
    size_t room = (size_t)d->cfg.max_mappings - d->capacity;
    size_t count = d->next_chunk < room ? d->next_chunk : room;
    struct dart_chunk *c;

    if (count == 0)
        return false;
    c = malloc(sizeof(*c) + count * sizeof(c->nodes[0]));
    if (!c)
        return false;
    c->count = count;
    c->next = d->chunks;
    d->chunks = c;
    d->capacity += count;

    /* Thread the new nodes onto the free list, lowest address first. */
    for (size_t i = count; i-- > 0;) {
        c->nodes[i].left = d->free_nodes;
        d->free_nodes = &c->nodes[i];
    }

    if (d->next_chunk < DART_CHUNK_MAX)
        d->next_chunk *= 2;
    return true;
}

static struct dart_node *node_alloc(struct mvf_dart *d)
{
    struct dart_node *n;

    if (!d->free_nodes && !slab_grow(d))
        return NULL;
    n = d->free_nodes;
    d->free_nodes = n->left;
    return n;
}

static void node_free(struct mvf_dart *d, struct dart_node *n)
{
    n->right = NULL;
    n->left = d->free_nodes;
    d->free_nodes = n;
}

/* ---- augmented AVL tree ---------------------------------------------- */

/* Recomputes n's height and subtree summary from its children, which
 * must already be up to date. */
static void node_update(struct dart_node *n)
{
    const struct dart_node *l = n->left, *r = n->right;
    int hl = node_height(l), hr = node_height(r);
    uint64_t gap = 0;

    n->height = 1 + (hl > hr ? hl : hr);
    n->lo = l ? l->lo : n->map.iova;
    n->hi = r ? r->hi : node_end(n);
    if (l)
        gap = max_u64(l->gap, n->map.iova - l->hi);
    if (r)
        gap = max_u64(gap, max_u64(r->gap, r->lo - node_end(n)));
    n->gap = gap;
}

static struct dart_node *rotate_right(struct dart_node *n)
{
    struct dart_node *l = n->left;

    n->left = l->right;
    l->right = n;
    node_update(n);
    node_update(l);
    return l;
}

static struct dart_node *rotate_left(struct dart_node *n)
{
    struct dart_node *r = n->right;

    n->right = r->left;
    r->left = n;
    node_update(n);
    node_update(r);
    return r;
}

/* Updates n and restores the AVL property at n (children are balanced
 * and differ in height by at most 2).  Returns the subtree's new root. */
static struct dart_node *rebalance(struct dart_node *n)
{
    int bf = node_height(n->left) - node_height(n->right);

    if (bf > 1) {
        if (node_height(n->left->left) < node_height(n->left->right))
            n->left = rotate_left(n->left);
        return rotate_right(n);
    }
    if (bf < -1) {
        if (node_height(n->right->right) < node_height(n->right->left))
            n->right = rotate_right(n->right);
        return rotate_left(n);
    }
    node_update(n);
    return n;
}

/* Inserts leaf `node` (already updated) below n; returns the new root. */
static struct dart_node *tree_insert(struct dart_node *n, struct dart_node *node)
{
    if (!n)
        return node;
    if (node->map.iova < n->map.iova)
        n->left = tree_insert(n->left, node);
    else
        n->right = tree_insert(n->right, node);
    return rebalance(n);
}

/* Detaches the leftmost node of n into *min; returns the new root. */
static struct dart_node *tree_remove_min(struct dart_node *n,
                                         struct dart_node **min)
{
    if (!n->left) {
        *min = n;
        return n->right;
    }
    n->left = tree_remove_min(n->left, min);
    return rebalance(n);
}

/* Detaches `victim`, which must be in the tree under n, and returns the
 * new root.  Nodes are relinked, never copied, so pointers to the other
 * mappings stay valid. */
static struct dart_node *tree_remove(struct dart_node *n,
                                     const struct dart_node *victim)
{
    struct dart_node *succ, *rest;

    if (victim->map.iova < n->map.iova) {
        n->left = tree_remove(n->left, victim);
    } else if (victim->map.iova > n->map.iova) {
        n->right = tree_remove(n->right, victim);
    } else {
        if (!n->left)
            return n->right;
        if (!n->right)
            return n->left;
        /* Two children: the in-order successor takes n's place. */
        rest = tree_remove_min(n->right, &succ);
        succ->left = n->left;
        succ->right = rest;
        n = succ;
    }
    return rebalance(n);
}

/* The node whose mapping starts exactly at iova, or NULL. */
static struct dart_node *tree_find_start(struct dart_node *n, uint64_t iova)
{
    while (n && n->map.iova != iova)
        n = iova < n->map.iova ? n->left : n->right;
    return n;
}

/* Lowest hole of at least len bytes strictly between two mappings of
 * the subtree n, given n->gap >= len. */
static uint64_t tree_inner_fit(const struct dart_node *n, uint64_t len)
{
    for (;;) {
        const struct dart_node *l = n->left, *r = n->right;

        if (l && l->gap >= len)
            n = l;
        else if (l && n->map.iova - l->hi >= len)
            return l->hi;
        else if (r && r->lo - node_end(n) >= len)
            return node_end(n);
        else
            n = r; /* n->gap >= len: the hole must be in r */
    }
}

/* Lowest IOVA where len bytes fit in the aperture; false if none. */
static bool dart_find_fit(const struct mvf_dart *d, uint64_t len,
                          uint64_t *iova)
{
    const struct dart_node *root = d->root;

    if (!root) {
        *iova = d->cfg.base;
        return len <= d->cfg.size;
    }
    if (root->lo - d->cfg.base >= len) {
        *iova = d->cfg.base;
        return true;
    }
    if (root->gap >= len) {
        *iova = tree_inner_fit(root, len);
        return true;
    }
    if (d->end - root->hi >= len) {
        *iova = root->hi;
        return true;
    }
    return false;
}

static void tree_visit(const struct dart_node *n,
                       void (*fn)(const struct mvf_dart_mapping *m, void *ctx),
                       void *ctx)
{
    if (!n)
        return;
    tree_visit(n->left, fn, ctx);
    fn(&n->map, ctx);
    tree_visit(n->right, fn, ctx);
}

static void tree_release(struct mvf_dart *d, struct dart_node *n)
{
    if (!n)
        return;
    tree_release(d, n->left);
    tree_release(d, n->right);
    node_free(d, n);
}

/* ---- public API ------------------------------------------------------- */

void mvf_dart_config_default(struct mvf_dart_config *cfg)
{
    cfg->base = MVF_DART_DEFAULT_BASE;
    cfg->size = MVF_DART_DEFAULT_SIZE;
    cfg->granule = MVF_DART_GRANULE;
    cfg->budget_bytes = MVF_DART_DEFAULT_BUDGET;
    cfg->max_mappings = MVF_DART_DEFAULT_MAXMAP;
}

static bool config_valid(const struct mvf_dart_config *cfg)
{
    uint64_t mask = cfg->granule - 1;

    if (cfg->granule < 4096 || (cfg->granule & mask))
        return false;
    if ((cfg->base & mask) || (cfg->size & mask) || cfg->size == 0)
        return false;
    /* The end, base + size, must itself be representable: an aperture
     * reaching 2^64 would make its end wrap to 0. */
    if (cfg->size > UINT64_MAX - cfg->base)
        return false;
    return cfg->budget_bytes != 0 && cfg->max_mappings != 0;
}

int mvf_dart_create(const struct mvf_dart_config *cfg, struct mvf_dart **out)
{
    struct mvf_dart *d;

    if (!cfg || !out || !config_valid(cfg))
        return -EINVAL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->cfg = *cfg;
    d->end = cfg->base + cfg->size;
    d->next_chunk = DART_CHUNK_MIN;
    *out = d;
    return 0;
}

void mvf_dart_destroy(struct mvf_dart *d)
{
    struct dart_chunk *c, *next;

    if (!d)
        return;
    for (c = d->chunks; c; c = next) {
        next = c->next;
        free(c);
    }
    free(d);
}

int mvf_dart_room(const struct mvf_dart *d, uint64_t length)
{
    if (length == 0)
        return -ENODATA;
    if (length & (d->cfg.granule - 1))
        return -EINVAL;
    if (length > d->cfg.size)
        return -EOVERFLOW;
    if (length > d->cfg.budget_bytes - d->mapped) /* mapped <= budget */
        return -ENOSPC;
    if (d->live >= d->cfg.max_mappings)
        return -EMFILE;
    return 0;
}

/* Adds a mapping at a place already known to be free. */
static int dart_add(struct mvf_dart *d, uint64_t iova, uint64_t length,
                    void *cookie)
{
    struct dart_node *n = node_alloc(d);

    if (!n)
        return -ENOMEM;
    n->map.iova = iova;
    n->map.length = length;
    n->map.cookie = cookie;
    n->left = n->right = NULL;
    node_update(n);
    d->root = tree_insert(d->root, n);
    d->mapped += length;
    d->live++;
    return 0;
}

int mvf_dart_map(struct mvf_dart *d, uint64_t length, void *cookie,
                 uint64_t *iova_out)
{
    uint64_t iova;
    int ret = mvf_dart_room(d, length);

    if (ret)
        return ret;
    if (!dart_find_fit(d, length, &iova))
        return -ENOMEM;
    ret = dart_add(d, iova, length, cookie);
    if (ret)
        return ret;
    if (iova_out)
        *iova_out = iova;
    return 0;
}

/* The live mapping with the highest start below `limit`, or NULL. */
static const struct dart_node *tree_last_below(const struct dart_node *n,
                                               uint64_t limit)
{
    const struct dart_node *best = NULL;

    while (n) {
        if (n->map.iova < limit) {
            best = n;
            n = n->right;
        } else {
            n = n->left;
        }
    }
    return best;
}

int mvf_dart_insert(struct mvf_dart *d, uint64_t iova, uint64_t length,
                    void *cookie)
{
    const struct dart_node *prev;
    int ret = mvf_dart_room(d, length);

    if (ret)
        return ret;
    if (iova & (d->cfg.granule - 1))
        return -EINVAL;
    if (iova < d->cfg.base || iova > d->end || length > d->end - iova)
        return -ERANGE;
    /* Mappings never overlap, so only the last one starting below the
     * new range's end can reach into it. */
    prev = tree_last_below(d->root, iova + length);
    if (prev && node_end(prev) > iova)
        return -EEXIST;
    return dart_add(d, iova, length, cookie);
}

int mvf_dart_unmap(struct mvf_dart *d, uint64_t iova, uint64_t length,
                   void **cookie_out)
{
    struct dart_node *n = tree_find_start(d->root, iova);

    if (!n)
        return -ENOENT;
    if (n->map.length != length)
        return -EINVAL;
    d->root = tree_remove(d->root, n);
    d->mapped -= length;
    d->live--;
    if (cookie_out)
        *cookie_out = n->map.cookie;
    node_free(d, n);
    return 0;
}

const struct mvf_dart_mapping *mvf_dart_lookup(const struct mvf_dart *d,
                                               uint64_t iova)
{
    const struct dart_node *n = d->root;

    while (n) {
        if (iova < n->map.iova)
            n = n->left;
        else if (iova - n->map.iova >= n->map.length)
            n = n->right;
        else
            return &n->map;
    }
    return NULL;
}

/* fn must not map or unmap on d; it may look up. */
void mvf_dart_unmap_all(struct mvf_dart *d,
                        void (*fn)(const struct mvf_dart_mapping *m, void *ctx),
                        void *ctx)
{
    if (fn)
        tree_visit(d->root, fn, ctx);
    tree_release(d, d->root);
    d->root = NULL;
    d->mapped = 0;
    d->live = 0;
}

uint64_t mvf_dart_mapped_bytes(const struct mvf_dart *d)
{
    return d->mapped;
}

uint32_t mvf_dart_live_mappings(const struct mvf_dart *d)
{
    return d->live;
}

const struct mvf_dart_config *mvf_dart_get_config(const struct mvf_dart *d)
{
    return &d->cfg;
}

/* ---- consistency check ------------------------------------------------ */

/* What check_subtree() derives from the mappings themselves, to compare
 * against what the nodes cache. */
struct dart_summary {
    uint64_t lo, hi, gap;
    int height;
};

struct dart_walk {
    const struct mvf_dart *d;
    uint64_t prev_end; /* end of the previous mapping in IOVA order */
    uint64_t bytes;
    uint64_t count;
};

static bool check_mapping(struct dart_walk *w, const struct dart_node *n)
{
    const struct mvf_dart_config *cfg = &w->d->cfg;
    uint64_t mask = cfg->granule - 1;
    const struct mvf_dart_mapping *m = &n->map;

    if (m->length == 0 || (m->length & mask) || (m->iova & mask))
        return false;
    /* In order, not overlapping the previous one, inside the aperture. */
    if (m->iova < w->prev_end || m->iova < cfg->base)
        return false;
    if (m->iova >= w->d->end || m->length > w->d->end - m->iova)
        return false;
    w->prev_end = m->iova + m->length;
    w->bytes += m->length;
    w->count++;
    return true;
}

static bool check_subtree(struct dart_walk *w, const struct dart_node *n,
                          struct dart_summary *out)
{
    /* An absent child summarises as height 0 and contributes no hole. */
    struct dart_summary l = { 0 }, r = { 0 };
    uint64_t gap = 0;

    if (n->left && !check_subtree(w, n->left, &l))
        return false;
    if (!check_mapping(w, n))
        return false;
    if (n->right && !check_subtree(w, n->right, &r))
        return false;

    if (l.height - r.height > 1 || r.height - l.height > 1)
        return false;
    if (n->left)
        gap = max_u64(l.gap, n->map.iova - l.hi);
    if (n->right)
        gap = max_u64(gap, max_u64(r.gap, r.lo - node_end(n)));

    out->height = 1 + (l.height > r.height ? l.height : r.height);
    out->lo = n->left ? l.lo : n->map.iova;
    out->hi = n->right ? r.hi : node_end(n);
    out->gap = gap;
    return n->height == out->height && n->lo == out->lo &&
           n->hi == out->hi && n->gap == out->gap;
}

bool mvf_dart_check(const struct mvf_dart *d)
{
    struct dart_walk w = { .d = d, .prev_end = d->cfg.base };
    struct dart_summary s;
    const struct dart_node *f;
    size_t free_count = 0;

    if (!config_valid(&d->cfg) || d->end != d->cfg.base + d->cfg.size)
        return false;
    if (d->root && !check_subtree(&w, d->root, &s))
        return false;
    if (w.count != d->live || w.bytes != d->mapped)
        return false;
    if (d->mapped > d->cfg.budget_bytes || d->live > d->cfg.max_mappings)
        return false;

    /* Every slab node is either live or on the free list. */
    for (f = d->free_nodes; f && free_count <= d->capacity; f = f->left)
        free_count++;
    return free_count + d->live == d->capacity &&
           d->capacity <= d->cfg.max_mappings;
}
