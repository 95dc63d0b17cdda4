// SPDX-License-Identifier: GPL-2.0
/*
 * On-demand strategy: dma_map_ops (one static table; mvf_from_dev() finds
 * the device's state) that obtain IOVAs from the host through the
 * companion's rings (docs/guest-protocol.md §6).
 *
 * The host maps in granules (16 KiB on Apple Silicon).  A buffer
 * [p, p + n) is served by a host mapping ("extent") that covers the
 * granule-aligned span around it.  Extents form a cache:
 *
 * - lookup: an interval tree over guest-physical ranges finds a live
 *   extent covering the span with the directions needed; a hit costs no
 *   exit.  Extents are refcounted; the last unmap makes one idle, at the
 *   tail of an LRU list, and it stays mapped.
 * - room: the module accounts the bytes and mappings it has live, against
 *   the BUDGET and MAX_MAPPINGS the companion reports.  A miss that needs
 *   room evicts the least recently used idle extents, and their UNMAPs go
 *   in the same ring submission as the MAPs (one doorbell).  If the host
 *   still refuses a MAP (-ENOSPC, -EMFILE: its limits are device-wide),
 *   the module lowers its idea of the limit to what it had mapped, evicts
 *   more and retries, again UNMAPs and MAPs in one doorbell.
 * - coalescing: the misses of one scatterlist whose spans touch become one
 *   MAP; while the cache uses less than half of the limit, a streaming
 *   miss maps the whole aligned map_chunk_kb chunk around it, so
 *   neighbouring buffers hit (if the host refuses the chunk, -EFAULT at
 *   the end of a RAM range, the span alone is mapped).
 * - expiry: none needed; idle extents not reused for lazy_unmap_ms are
 *   returned to the host by a work item (hygiene, not speed), and
 *   lazy_unmap_ms=0 unmaps at once (strict).
 *
 * The host's answers are checked: a MAP whose IOVA is not granule aligned,
 * wraps, lies outside the aperture or overlaps a live extent is unmapped
 * again and treated as failed.
 *
 * Every path runs with a spinlock and GFP_ATOMIC allocations, so DMA may be
 * mapped from any context; every failure is DMA_MAPPING_ERROR or a negative
 * errno for the driver to handle.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/interval_tree_generic.h>
#include <linux/jiffies.h>
#include <linux/log2.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "mvf.h"

struct mvf_ext {
	struct rb_node gpa_node;	/* od->by_gpa (interval tree) */
	u64 subtree_last;
	struct rb_node iova_node;	/* od->by_iova */
	struct list_head idle;		/* on od->idle while refs == 0 */
	u64 gpa, len, iova;
	unsigned long idle_since;	/* jiffies */
	u32 refs;
	u16 flags;
};

#define MVF_EXT_START(e) ((e)->gpa)
#define MVF_EXT_LAST(e) ((e)->gpa + (e)->len - 1)

INTERVAL_TREE_DEFINE(struct mvf_ext, gpa_node, u64, subtree_last,
		     MVF_EXT_START, MVF_EXT_LAST, static, mvf_gpa_it)

/* A buffer to map: in phys/size/flags, out ext and dma. */
struct mvf_od_item {
	u64 phys, size;
	u16 flags;
	u16 other;		/* a miss: directions of extents covering it */
	bool tight;		/* long-lived (coherent): never a whole chunk */
	u32 map;		/* a miss: index of the MAP serving it */
	struct mvf_ext *ext;	/* the live extent serving it */
	dma_addr_t dma;
};

/* One MAP of a map call, serving one or more (touching) misses. */
struct mvf_od_map {
	u64 gpa, len;		/* what the MAP asks for */
	u64 tgpa, tlen;		/* the spans of its buffers alone */
	u16 flags;
	bool tight;		/* map the spans only */
	u32 users;		/* items it serves */
	int status;		/* MVF_OD_PENDING, 0 (mapped) or an errno */
	struct mvf_ext *ext;	/* allocated up front; live once mapped */
};

#define MVF_OD_PENDING 1
#define MVF_OD_STACK 4		/* maps and items kept on the stack */
#define MVF_OD_VICTIMS 64	/* evictions per submission */
#define MVF_OD_ROUNDS 6		/* submissions per map call at most */

static u64 mvf_span_start(struct mvf_gp *gp, u64 phys)
{
	return phys & ~(gp->granule - 1);
}

static u64 mvf_span_end(struct mvf_gp *gp, u64 phys, u64 size)
{
	return ALIGN(phys + size, gp->granule);
}

/* The chunk a miss may map whole: a power of two >= the granule. */
static u64 mvf_chunk(struct mvf_gp *gp)
{
	u64 c = (u64)READ_ONCE(mvf_map_chunk_kb) << 10;

	if (c <= gp->granule)
		return gp->granule;
	return rounddown_pow_of_two(c);
}

/*
 * Caller holds od->lock: a live extent covering [start, end) with @flags,
 * or NULL; *@other collects the directions of extents covering it that
 * lack some of @flags (a new mapping then serves both).
 */
static struct mvf_ext *mvf_ext_lookup(struct mvf_od *od, u64 start, u64 end,
				      u16 flags, u16 *other)
{
	struct mvf_ext *e;

	for (e = mvf_gpa_it_iter_first(&od->by_gpa, start, end - 1); e;
	     e = mvf_gpa_it_iter_next(e, start, end - 1)) {
		if (e->gpa > start || e->gpa + e->len < end)
			continue;
		if ((e->flags & flags) == flags)
			return e;
		*other |= e->flags;
	}
	return NULL;
}

/* Caller holds od->lock. */
static void mvf_ext_get(struct mvf_od *od, struct mvf_ext *e)
{
	if (!e->refs++) {
		list_del(&e->idle);
		od->nidle--;
	}
}

/* Caller holds od->lock: drop one reference; the last one makes it idle. */
static void mvf_ext_put(struct mvf_od *od, struct mvf_ext *e)
{
	if (--e->refs)
		return;
	e->idle_since = jiffies;
	list_add_tail(&e->idle, &od->idle);
	od->nidle++;
}

/* Caller holds od->lock: the extent whose IOVA range holds @h. */
static struct mvf_ext *mvf_ext_find_dma(struct mvf_od *od, u64 h)
{
	struct rb_node *n = od->by_iova.rb_node;

	while (n) {
		struct mvf_ext *e = rb_entry(n, struct mvf_ext, iova_node);

		if (h < e->iova)
			n = n->rb_left;
		else if (h - e->iova >= e->len)
			n = n->rb_right;
		else
			return e;
	}
	return NULL;
}

/* Caller holds od->lock: index @x by IOVA; false if it overlaps another. */
static bool mvf_iova_insert(struct mvf_od *od, struct mvf_ext *x)
{
	struct rb_node **p = &od->by_iova.rb_node, *parent = NULL;

	while (*p) {
		struct mvf_ext *e = rb_entry(*p, struct mvf_ext, iova_node);

		parent = *p;
		if (x->iova + x->len <= e->iova)
			p = &(*p)->rb_left;
		else if (x->iova >= e->iova + e->len)
			p = &(*p)->rb_right;
		else
			return false;
	}
	rb_link_node(&x->iova_node, parent, p);
	rb_insert_color(&x->iova_node, &od->by_iova);
	return true;
}

/* Caller holds od->lock: forget an idle extent, move it to @out. */
static void mvf_ext_take(struct mvf_od *od, struct mvf_ext *e,
			 struct list_head *out)
{
	mvf_gpa_it_remove(e, &od->by_gpa);
	rb_erase(&e->iova_node, &od->by_iova);
	list_move_tail(&e->idle, out);
	od->nidle--;
	od->nlive--;
	od->mapped -= e->len;
}

/*
 * Unmap the extents on @list (forgotten already, linked by ->idle) and
 * free them, as few doorbells as the ring allows.  Those the host refuses
 * are forgotten too (counted in od->lost): the companion reset at unbind
 * releases whatever is left.
 */
static void mvf_ext_unmap_list(struct mvf_gp *gp, struct list_head *list)
{
	struct mvf_req stack[MVF_OD_STACK * 2], *req = NULL;
	struct mvf_ext *e, *next;
	unsigned long flags;
	u32 n = 0, max, k, i, lost = 0;

	list_for_each_entry(e, list, idle)
		n++;
	if (!n)
		return;
	if (n > ARRAY_SIZE(stack))
		req = kmalloc_array(n, sizeof(*req), GFP_ATOMIC | __GFP_NOWARN);
	max = req ? n : ARRAY_SIZE(stack);
	if (!req)
		req = stack;

	while (!list_empty(list)) {
		k = 0;
		list_for_each_entry(e, list, idle) {
			if (k == max)
				break;
			req[k++] = (struct mvf_req){ .op = MVF_GP_OP_UNMAP,
						     .len = e->len,
						     .iova = e->iova };
		}
		mvf_ring_submit(gp, req, k);
		i = 0;
		list_for_each_entry_safe(e, next, list, idle) {
			if (i == k)
				break;
			if (req[i].status) {
				lost++;
				dev_err_ratelimited(&gp->pdev->dev,
					"%s: unmap iova 0x%llx len 0x%llx: %d\n",
					pci_name(gp->managed), e->iova, e->len,
					req[i].status);
			}
			list_del(&e->idle);
			kfree(e);
			i++;
		}
	}
	if (req != stack)
		kfree(req);
	if (lost) {
		spin_lock_irqsave(&gp->od.lock, flags);
		gp->od.lost += lost;
		spin_unlock_irqrestore(&gp->od.lock, flags);
	}
}

/*
 * Caller holds od->lock: move idle extents to @out, least recently used
 * first: @all every one; otherwise those idle for longer than
 * lazy_unmap_ms and the oldest beyond idle_max (if set).
 */
static void mvf_take_idle(struct mvf_gp *gp, struct list_head *out, bool all)
{
	struct mvf_od *od = &gp->od;
	unsigned long age = msecs_to_jiffies(READ_ONCE(mvf_lazy_unmap_ms));
	u32 keep = READ_ONCE(mvf_idle_max);
	struct mvf_ext *e, *next;

	list_for_each_entry_safe(e, next, &od->idle, idle) {
		if (!all && (!keep || od->nidle <= keep) &&
		    time_before(jiffies, e->idle_since + age))
			break;
		mvf_ext_take(od, e, out);
	}
}

/* Caller holds od->lock: when the oldest idle extent expires. */
static unsigned long mvf_od_next_expiry(struct mvf_gp *gp)
{
	unsigned long age = msecs_to_jiffies(READ_ONCE(mvf_lazy_unmap_ms));
	struct mvf_ext *e;

	e = list_first_entry_or_null(&gp->od.idle, struct mvf_ext, idle);
	if (!e || time_after_eq(jiffies, e->idle_since + age))
		return 1;
	return e->idle_since + age - jiffies + 1;
}

static void mvf_od_flush_work(struct work_struct *work)
{
	struct mvf_gp *gp = container_of(to_delayed_work(work), struct mvf_gp,
					 od.flush);
	struct mvf_od *od = &gp->od;
	LIST_HEAD(victims);
	unsigned long flags, delay = 0;

	spin_lock_irqsave(&od->lock, flags);
	mvf_take_idle(gp, &victims, !READ_ONCE(mvf_lazy_unmap_ms));
	/* what the host refused once may fit again: relearn from the top */
	od->limit = gp->budget ? gp->budget : U64_MAX;
	od->max_maps = gp->max_mappings ? gp->max_mappings : U32_MAX;
	if (od->nidle)
		delay = mvf_od_next_expiry(gp);
	spin_unlock_irqrestore(&od->lock, flags);
	mvf_ext_unmap_list(gp, &victims);
	if (delay)
		schedule_delayed_work(&od->flush, delay);
}

/*
 * After puts, caller holds od->lock: moves what must be unmapped now to
 * @victims and returns the delay for the expiry work (0: none to start).
 * Callers that put under the lock call this in the same hold, so an unmap
 * takes od->lock once: all vCPUs share it, and a vCPU preempted by its
 * host while holding it stalls the others.
 */
static unsigned long mvf_od_settle(struct mvf_gp *gp,
				   struct list_head *victims)
{
	struct mvf_od *od = &gp->od;
	bool strict = !READ_ONCE(mvf_lazy_unmap_ms);
	u32 keep = READ_ONCE(mvf_idle_max);

	if (strict || (keep && od->nidle > keep))
		mvf_take_idle(gp, victims, strict);
	if (od->nidle && !delayed_work_pending(&od->flush))
		return mvf_od_next_expiry(gp);
	return 0;
}

/* After mvf_od_settle, without od->lock: the unmaps and the expiry. */
static void mvf_od_settled(struct mvf_gp *gp, struct list_head *victims,
			   unsigned long delay)
{
	mvf_ext_unmap_list(gp, victims);
	if (delay)
		schedule_delayed_work(&gp->od.flush, delay);
}

/* After puts: unmap what must go now, or make sure the expiry runs. */
static void mvf_od_after_put(struct mvf_gp *gp)
{
	LIST_HEAD(victims);
	unsigned long flags, delay;

	spin_lock_irqsave(&gp->od.lock, flags);
	delay = mvf_od_settle(gp, &victims);
	spin_unlock_irqrestore(&gp->od.lock, flags);
	mvf_od_settled(gp, &victims, delay);
}

/*
 * One submission of a map call: caller holds od->lock, which this drops
 * around the doorbell.  Evicts idle LRU extents until the pending MAPs fit
 * the limits (at most MVF_OD_VICTIMS; all idle ones if @all), sends their
 * UNMAPs and the pending MAPs together, and settles each MAP: 0, still
 * pending (refused for room, or a chunk to retry as the span alone), or a
 * final errno.  Returns whether the host refused any MAP for room.
 */
static bool mvf_od_round(struct mvf_gp *gp, struct mvf_od_map *m, u32 nm,
			 struct mvf_req *req, bool all, unsigned long *flags)
{
	struct mvf_od *od = &gp->od;
	struct mvf_ext *e, *next;
	LIST_HEAD(victims);
	u64 need = 0;
	u32 i, k = 0, nv = 0, cnt = 0, nbad = 0, lost = 0;
	bool refused = false;

	for (i = 0; i < nm; i++) {
		if (m[i].status != MVF_OD_PENDING)
			continue;
		need += m[i].len;
		cnt++;
	}
	list_for_each_entry_safe(e, next, &od->idle, idle) {
		if (nv == MVF_OD_VICTIMS)
			break;
		if (!all && od->mapped + need <= od->limit &&
		    od->nlive + od->inflight + cnt <= od->max_maps)
			break;
		mvf_ext_take(od, e, &victims);
		nv++;
	}
	od->mapped += need;
	od->inflight += cnt;
	od->inflight_bytes += need;
	spin_unlock_irqrestore(&od->lock, *flags);

	list_for_each_entry(e, &victims, idle)
		req[k++] = (struct mvf_req){ .op = MVF_GP_OP_UNMAP,
					     .len = e->len, .iova = e->iova };
	for (i = 0; i < nm; i++) {
		if (m[i].status != MVF_OD_PENDING)
			continue;
		req[k++] = (struct mvf_req){ .op = MVF_GP_OP_MAP,
					     .gpa = m[i].gpa, .len = m[i].len,
					     .flags = m[i].flags };
	}
	mvf_ring_submit(gp, req, k);
	atomic64_add(nv, &gp->cnt.evictions);

	k = 0;
	list_for_each_entry_safe(e, next, &victims, idle) {
		if (req[k].status) {
			lost++;
			dev_err_ratelimited(&gp->pdev->dev,
				"%s: unmap iova 0x%llx len 0x%llx: %d\n",
				pci_name(gp->managed), e->iova, e->len,
				req[k].status);
		}
		list_del(&e->idle);
		kfree(e);
		k++;
	}

	spin_lock_irqsave(&od->lock, *flags);
	od->lost += lost;
	for (i = 0; i < nm; i++) {
		struct mvf_req *r;
		int st;

		if (m[i].status != MVF_OD_PENDING)
			continue;
		r = &req[k++];
		st = r->status;
		od->mapped -= m[i].len;
		od->inflight--;
		od->inflight_bytes -= m[i].len;
		if (!st && !mvf_iova_ok(gp, r->iova, r->len))
			st = -EIO;
		if (!st) {
			e = m[i].ext;
			e->gpa = m[i].gpa;
			e->len = m[i].len;
			e->iova = r->iova;
			e->flags = m[i].flags;
			e->refs = m[i].users;
			if (!mvf_iova_insert(od, e))
				st = -EIO;
		}
		if (!st) {
			m[i].status = 0;
			mvf_gpa_it_insert(e, &od->by_gpa);
			od->nlive++;
			od->mapped += e->len;
			/* what is mapped, not what others still ask for */
			od->peak = max(od->peak,
				       od->mapped - od->inflight_bytes);
			od->limit = max(od->limit, od->mapped);
			od->last_gpa = e->gpa;
			od->last_iova = e->iova;
			continue;	/* m[i].ext is live now */
		}
		if (r->status == 0) {
			/* the host's IOVA is unusable: give it back */
			dev_err_ratelimited(&gp->pdev->dev,
				"%s: map gpa 0x%llx len 0x%llx: unusable iova 0x%llx\n",
				pci_name(gp->managed), r->gpa, r->len, r->iova);
			req[nm + MVF_OD_VICTIMS + nbad++] = (struct mvf_req){
				.op = MVF_GP_OP_UNMAP, .len = r->len,
				.iova = r->iova };
			m[i].status = -EIO;
			continue;
		}
		if (st == -ENOSPC || st == -EMFILE) {
			atomic64_inc(&gp->cnt.refusals);
			refused = true;
			if (st == -ENOSPC)
				od->limit = max(od->mapped, gp->granule);
			else
				od->max_maps = max(od->nlive, 1U);
			continue;	/* still pending: evict and retry */
		}
		if (st == -EFAULT && m[i].len != m[i].tlen) {
			/* a chunk beyond one RAM range: the span alone */
			m[i].gpa = m[i].tgpa;
			m[i].len = m[i].tlen;
			continue;
		}
		m[i].status = st;
		dev_err_ratelimited(&gp->pdev->dev,
			"%s: map gpa 0x%llx len 0x%llx: %d\n",
			pci_name(gp->managed), r->gpa, r->len, st);
	}
	if (nbad) {
		spin_unlock_irqrestore(&od->lock, *flags);
		mvf_ring_submit(gp, req + nm + MVF_OD_VICTIMS, nbad);
		spin_lock_irqsave(&od->lock, *flags);
	}
	return refused;
}

/*
 * Map @n items: reuse live extents; map the misses (touching spans
 * coalesced, chunks while there is room) in one submission together with
 * the evictions that make room for them; on a refusal evict more and retry.
 * All or nothing: returns 0 with every item's dma set, or a negative errno
 * with nothing referenced (the extents mapped meanwhile stay cached).
 */
static int mvf_od_map_items(struct mvf_gp *gp, struct mvf_od_item *it, u32 n)
{
	struct mvf_od_map mstack[MVF_OD_STACK], *m = mstack;
	struct mvf_req *req = NULL;
	struct mvf_od *od = &gp->od;
	unsigned long flags;
	u64 chunk = mvf_chunk(gp);
	u64 most = gp->budget ? max(gp->budget / 4, gp->granule) : U64_MAX;
	u32 i, misses = 0, nm = 0, round;
	bool refused = false, more;
	int ret = 0;

	spin_lock_irqsave(&od->lock, flags);
	for (i = 0; i < n; i++) {
		u64 s = mvf_span_start(gp, it[i].phys);
		u64 e = mvf_span_end(gp, it[i].phys, it[i].size);
		struct mvf_ext *x;

		it[i].other = 0;
		x = mvf_ext_lookup(od, s, e, it[i].flags, &it[i].other);
		it[i].ext = x;
		if (x) {
			mvf_ext_get(od, x);
			it[i].dma = x->iova + (it[i].phys - x->gpa);
		} else {
			misses++;
		}
	}
	spin_unlock_irqrestore(&od->lock, flags);
	atomic64_add(n - misses, &gp->cnt.cache_hits);
	if (!misses) {
		/* all hits, the common case: done in one hold of od->lock */
		atomic64_add(n, &gp->cnt.dma_maps);
		return 0;
	}
	atomic64_add(misses, &gp->cnt.cache_misses);

	if (misses > MVF_OD_STACK) {
		m = kcalloc(misses, sizeof(*m), GFP_ATOMIC | __GFP_NOWARN);
		if (!m) {
			m = mstack;
			ret = -ENOMEM;
			goto out;
		}
	}
	/* touching spans of consecutive misses with the same directions:
	 * one MAP, no larger than a single request may be */
	for (i = 0; i < n; i++) {
		u64 s, e, lo, hi;
		u16 f;

		if (it[i].ext)
			continue;
		s = mvf_span_start(gp, it[i].phys);
		e = mvf_span_end(gp, it[i].phys, it[i].size);
		f = it[i].flags | it[i].other;
		if (nm) {
			struct mvf_od_map *p = &m[nm - 1];

			lo = min(p->tgpa, s);
			hi = max(p->tgpa + p->tlen, e);
			if (p->flags == f && p->tight == it[i].tight &&
			    s <= p->tgpa + p->tlen &&
			    e >= p->tgpa && hi - lo <= most) {
				p->tgpa = lo;
				p->tlen = hi - lo;
				p->users++;
				it[i].map = nm - 1;
				atomic64_inc(&gp->cnt.coalesced);
				continue;
			}
		}
		m[nm] = (struct mvf_od_map){ .tgpa = s, .tlen = e - s,
					     .flags = f, .users = 1,
					     .tight = it[i].tight,
					     .status = MVF_OD_PENDING };
		it[i].map = nm++;
	}
	for (i = 0; i < nm; i++) {
		m[i].ext = kmalloc(sizeof(*m[i].ext), GFP_ATOMIC | __GFP_NOWARN);
		if (!m[i].ext) {
			ret = -ENOMEM;
			goto out;
		}
	}
	/* victims' UNMAPs, the MAPs, and room for giving back bad IOVAs */
	req = kmalloc_array(MVF_OD_VICTIMS + 2 * nm, sizeof(*req),
			    GFP_ATOMIC | __GFP_NOWARN);
	if (!req) {
		ret = -ENOMEM;
		goto out;
	}

	spin_lock_irqsave(&od->lock, flags);
	/*
	 * While the cache is roomy, a streaming miss maps its whole chunk;
	 * not under a small budget (a chunk above 1/64 of it), and never for
	 * coherent memory, which would pin the chunk for as long as it lives.
	 */
	if (chunk > od->limit / 64)
		chunk = gp->granule;
	for (i = 0; i < nm; i++) {
		u64 lo = round_down(m[i].tgpa, chunk);
		u64 hi = round_up(m[i].tgpa + m[i].tlen, chunk);

		m[i].gpa = m[i].tgpa;
		m[i].len = m[i].tlen;
		if (chunk > gp->granule && !m[i].tight && hi > lo &&
		    od->mapped + (hi - lo) <= od->limit / 2 &&
		    od->nlive + od->inflight < od->max_maps / 2) {
			m[i].gpa = lo;
			m[i].len = hi - lo;
		}
	}
	for (round = 0; round < MVF_OD_ROUNDS; round++) {
		u32 nidle = od->nidle;

		/* the last rounds leave nothing idle mapped */
		refused = mvf_od_round(gp, m, nm, req,
				       round >= MVF_OD_ROUNDS - 2, &flags);
		more = false;
		for (i = 0; i < nm; i++)
			more |= m[i].status == MVF_OD_PENDING;
		if (!more)
			break;
		/* refused with nothing left to evict: no point in asking again */
		if (refused && !nidle && !od->nidle)
			break;
	}
	spin_unlock_irqrestore(&od->lock, flags);
	for (i = 0; i < nm; i++) {
		if (m[i].status == MVF_OD_PENDING)
			m[i].status = refused ? -ENOSPC : -EIO;
		if (m[i].status && !ret)
			ret = m[i].status == -ENOSPC || m[i].status == -EMFILE ?
			      -ENOSPC : -EIO;
	}
out:
	spin_lock_irqsave(&od->lock, flags);
	for (i = 0; i < n; i++) {
		struct mvf_ext *e = it[i].ext;

		if (!e && nm && it[i].map < nm && !m[it[i].map].status)
			e = m[it[i].map].ext;
		if (!e)
			continue;
		if (ret) {
			mvf_ext_put(od, e);
			it[i].ext = NULL;
		} else {
			it[i].ext = e;
			it[i].dma = e->iova + (it[i].phys - e->gpa);
		}
	}
	spin_unlock_irqrestore(&od->lock, flags);
	for (i = 0; i < nm; i++)
		if (m[i].status)
			kfree(m[i].ext);
	kfree(req);
	if (m != mstack)
		kfree(m);
	if (ret) {
		atomic64_inc(&gp->cnt.failures);
		mvf_od_after_put(gp);
	} else {
		atomic64_add(n, &gp->cnt.dma_maps);
	}
	return ret;
}

/* Caller holds od->lock: release the reference a DMA handle holds. */
static void mvf_od_put_handle(struct mvf_gp *gp, dma_addr_t h)
{
	struct mvf_ext *e = mvf_ext_find_dma(&gp->od, h);

	atomic64_inc(&gp->cnt.dma_unmaps);
	if (!e || !e->refs) {
		atomic64_inc(&gp->cnt.failures);
		dev_err_ratelimited(&gp->pdev->dev,
			"%s: unmap of DMA address 0x%llx that is not mapped\n",
			pci_name(gp->managed), (u64)h);
		return;
	}
	mvf_ext_put(&gp->od, e);
}

/* ---- dma_map_ops ---------------------------------------------------- */

static dma_addr_t mvf_od_map_one(struct device *dev, phys_addr_t phys,
				 size_t size, enum dma_data_direction dir,
				 bool tight)
{
	struct mvf_gp *gp = mvf_from_dev(dev);
	struct mvf_od_item it = { .phys = phys, .size = size,
				  .flags = mvf_dir_flags(dir), .tight = tight };

	if (!gp || !size || phys + size < phys || mvf_od_map_items(gp, &it, 1))
		return DMA_MAPPING_ERROR;
	return it.dma;
}

static dma_addr_t mvf_od_map_phys(struct device *dev, phys_addr_t phys,
				  size_t size, enum dma_data_direction dir,
				  unsigned long attrs)
{
	return mvf_od_map_one(dev, phys, size, dir, false);
}

static void mvf_od_unmap_phys(struct device *dev, dma_addr_t dma, size_t size,
			      enum dma_data_direction dir, unsigned long attrs)
{
	struct mvf_gp *gp = mvf_from_dev(dev);
	LIST_HEAD(victims);
	unsigned long flags, delay;

	if (!gp)
		return;
	spin_lock_irqsave(&gp->od.lock, flags);
	mvf_od_put_handle(gp, dma);
	delay = mvf_od_settle(gp, &victims);
	spin_unlock_irqrestore(&gp->od.lock, flags);
	mvf_od_settled(gp, &victims, delay);
}

MVF_DEFINE_MAP_PAGE(mvf_od_map_page, mvf_od_map_phys)

static int mvf_od_map_sg(struct device *dev, struct scatterlist *sgl,
			 int nents, enum dma_data_direction dir,
			 unsigned long attrs)
{
	struct mvf_gp *gp = mvf_from_dev(dev);
	struct mvf_od_item *it;
	struct scatterlist *sg;
	int i, ret;

	if (!gp)
		return -EIO;
	if (nents <= 0)
		return -EINVAL;
	it = kmalloc_array(nents, sizeof(*it), GFP_ATOMIC | __GFP_NOWARN);
	if (!it)
		return -ENOMEM;
	for_each_sg(sgl, sg, nents, i) {
		it[i] = (struct mvf_od_item){ .phys = sg_phys(sg),
					      .size = sg->length,
					      .flags = mvf_dir_flags(dir) };
		if (!sg->length) {
			kfree(it);
			return -EINVAL;
		}
	}
	ret = mvf_od_map_items(gp, it, nents);
	if (!ret) {
		for_each_sg(sgl, sg, nents, i) {
			sg_dma_address(sg) = it[i].dma;
			sg_dma_len(sg) = sg->length;
		}
		ret = nents;
	} else if (ret != -ENOMEM) {
		ret = -EIO;	/* the errnos map_sg may return are fixed */
	}
	kfree(it);
	return ret;
}

static void mvf_od_unmap_sg(struct device *dev, struct scatterlist *sgl,
			    int nents, enum dma_data_direction dir,
			    unsigned long attrs)
{
	struct mvf_gp *gp = mvf_from_dev(dev);
	struct scatterlist *sg;
	LIST_HEAD(victims);
	unsigned long flags, delay;
	int i;

	if (!gp)
		return;
	/* one lock and at most one unmap submission for the whole list */
	spin_lock_irqsave(&gp->od.lock, flags);
	for_each_sg(sgl, sg, nents, i)
		mvf_od_put_handle(gp, sg_dma_address(sg));
	delay = mvf_od_settle(gp, &victims);
	spin_unlock_irqrestore(&gp->od.lock, flags);
	mvf_od_settled(gp, &victims, delay);
}

static gfp_t mvf_od_gfp(gfp_t gfp)
{
	/* the IOVA is the host's: zone restrictions mean nothing here */
	return (gfp & ~(__GFP_DMA | __GFP_DMA32 | __GFP_HIGHMEM)) | __GFP_ZERO;
}

/* dma_map_ops.alloc_pages: pages mapped for @dir; also serves alloc */
static struct page *mvf_od_alloc_pages(struct device *dev, size_t size,
				       dma_addr_t *dma,
				       enum dma_data_direction dir, gfp_t gfp)
{
	unsigned int order = get_order(size);
	struct page *page;
	dma_addr_t h;

	page = alloc_pages(mvf_od_gfp(gfp), order);
	if (!page)
		return NULL;
	h = mvf_od_map_one(dev, page_to_phys(page), size, dir, true);
	if (h == DMA_MAPPING_ERROR) {
		__free_pages(page, order);
		return NULL;
	}
	*dma = h;
	return page;
}

static void mvf_od_free_pages(struct device *dev, size_t size,
			      struct page *page, dma_addr_t dma,
			      enum dma_data_direction dir)
{
	mvf_od_unmap_phys(dev, dma, size, dir, 0);
	__free_pages(page, get_order(size));
}

static void *mvf_od_alloc(struct device *dev, size_t size, dma_addr_t *dma,
			  gfp_t gfp, unsigned long attrs)
{
	struct page *page = mvf_od_alloc_pages(dev, size, dma,
					       DMA_BIDIRECTIONAL, gfp);

	return page ? page_address(page) : NULL;
}

static void mvf_od_free(struct device *dev, size_t size, void *vaddr,
			dma_addr_t dma, unsigned long attrs)
{
	mvf_od_free_pages(dev, size, virt_to_page(vaddr), dma,
			  DMA_BIDIRECTIONAL);
}

static int mvf_od_dma_supported(struct device *dev, u64 mask)
{
	struct mvf_gp *gp = mvf_from_dev(dev);

	if (!gp)
		return 0;
	return !gp->aperture_size ||
	       mask >= gp->aperture_base + gp->aperture_size - 1;
}

static u64 mvf_od_required_mask(struct device *dev)
{
	struct mvf_gp *gp = mvf_from_dev(dev);

	if (!gp || !gp->aperture_size)
		return DMA_BIT_MASK(64);
	return DMA_BIT_MASK(fls64(gp->aperture_base + gp->aperture_size - 1));
}

/*
 * Keep one request well inside the budget, so that a small budget slows
 * I/O down (requests wait for others' extents to be evicted) instead of
 * making a request that can never be mapped, which a driver would retry
 * forever.  A request of S bytes in pages that are not contiguous needs up
 * to one granule per page (plus one for a straddling end): a quarter of
 * the budget must hold that worst case.
 */
static size_t mvf_od_max_mapping_size(struct device *dev)
{
	struct mvf_gp *gp = mvf_from_dev(dev);
	u64 granules;

	if (!gp)
		return PAGE_SIZE;
	if (!gp->budget)
		return SIZE_MAX;
	granules = gp->budget / 4 / gp->granule;
	if (granules < 2)
		return PAGE_SIZE;
	if (gp->granule > PAGE_SIZE)
		return (granules - 1) * PAGE_SIZE;
	return (granules - 2) * gp->granule;
}

/*
 * Whether (@vaddr, @dma, @size) is a live coherent allocation of ours: the
 * extent holding @dma is referenced and maps @vaddr's memory at @dma for
 * all @size bytes.
 */
static bool mvf_od_is_coherent(struct mvf_gp *gp, void *vaddr, dma_addr_t dma,
			       size_t size, const char *what)
{
	struct mvf_od *od = &gp->od;
	unsigned long flags;
	struct mvf_ext *e;
	bool ok = false;

	if (size && virt_addr_valid(vaddr) && !offset_in_page(vaddr)) {
		spin_lock_irqsave(&od->lock, flags);
		e = mvf_ext_find_dma(od, dma);
		ok = e && e->refs &&
		     e->gpa + (dma - e->iova) == virt_to_phys(vaddr) &&
		     PAGE_ALIGN(size) <= e->len - (dma - e->iova);
		spin_unlock_irqrestore(&od->lock, flags);
	}
	if (!ok) {
		atomic64_inc(&gp->cnt.failures);
		dev_err_ratelimited(&gp->pdev->dev,
			"%s: %s of coherent memory not mapped by us (0x%llx)\n",
			pci_name(gp->managed), what, (u64)dma);
	}
	return ok;
}

static int mvf_od_mmap(struct device *dev, struct vm_area_struct *vma,
		       void *vaddr, dma_addr_t dma, size_t size,
		       unsigned long attrs)
{
	struct mvf_gp *gp = mvf_from_dev(dev);

	if (!gp || !mvf_od_is_coherent(gp, vaddr, dma, size, "mmap"))
		return -ENXIO;
	return mvf_coherent_mmap(vma, vaddr, size);
}

static int mvf_od_get_sgtable(struct device *dev, struct sg_table *sgt,
			      void *vaddr, dma_addr_t dma, size_t size,
			      unsigned long attrs)
{
	struct mvf_gp *gp = mvf_from_dev(dev);

	if (!gp || !mvf_od_is_coherent(gp, vaddr, dma, size, "sgtable"))
		return -ENXIO;
	return mvf_coherent_sgtable(sgt, vaddr, size);
}

const struct dma_map_ops mvf_od_ops = {
	.alloc = mvf_od_alloc,
	.free = mvf_od_free,
	.mmap = mvf_od_mmap,
	.get_sgtable = mvf_od_get_sgtable,
#ifdef MVF_HAVE_ALLOC_PAGES_OP
	.alloc_pages_op = mvf_od_alloc_pages,
#else
	.alloc_pages = mvf_od_alloc_pages,
#endif
	.free_pages = mvf_od_free_pages,
#ifdef MVF_HAVE_MAP_PHYS
	.map_phys = mvf_od_map_phys,
	.unmap_phys = mvf_od_unmap_phys,
#else
	.map_page = mvf_od_map_page,
	.unmap_page = mvf_od_unmap_phys,
#endif
	.map_sg = mvf_od_map_sg,
	.unmap_sg = mvf_od_unmap_sg,
	.dma_supported = mvf_od_dma_supported,
	.get_required_mask = mvf_od_required_mask,
	.max_mapping_size = mvf_od_max_mapping_size,
};

void mvf_ondemand_show(struct mvf_gp *gp, struct seq_file *s)
{
	struct mvf_od *od = &gp->od;
	unsigned long flags;
	u32 live, idle, maxm;
	u64 gpa, iova, mapped, peak, limit, lost;

	spin_lock_irqsave(&od->lock, flags);
	live = od->nlive;
	idle = od->nidle;
	mapped = od->mapped;
	peak = od->peak;
	limit = od->limit;
	maxm = od->max_maps;
	lost = od->lost;
	gpa = od->last_gpa;
	iova = od->last_iova;
	spin_unlock_irqrestore(&od->lock, flags);
	seq_printf(s, "granule: %llu\nlive: %u\nidle: %u\n", gp->granule, live,
		   idle);
	seq_printf(s, "mapped: %llu\npeak mapped: %llu\nbudget: %llu\n",
		   mapped, peak, gp->budget);
	seq_printf(s, "limit: %llu\nmax mappings: %u (limit %u)\nlost: %llu\n",
		   limit, gp->max_mappings, maxm, lost);
	seq_printf(s, "lazy_unmap_ms: %u\nidle_max: %u\nmap_chunk_kb: %u\n",
		   mvf_lazy_unmap_ms, mvf_idle_max, mvf_map_chunk_kb);
	if (iova)
		seq_printf(s, "last map: gpa 0x%llx -> iova 0x%llx\n", gpa, iova);
}

int mvf_ondemand_init(struct mvf_gp *gp)
{
	struct mvf_od *od = &gp->od;
	int ret;

	spin_lock_init(&od->lock);
	od->by_gpa = RB_ROOT_CACHED;
	od->by_iova = RB_ROOT;
	INIT_LIST_HEAD(&od->idle);
	od->nidle = 0;
	od->nlive = 0;
	od->mapped = 0;
	od->inflight = 0;
	od->inflight_bytes = 0;
	od->peak = 0;
	od->lost = 0;
	od->limit = gp->budget ? gp->budget : U64_MAX;
	od->max_maps = gp->max_mappings ? gp->max_mappings : U32_MAX;
	INIT_DELAYED_WORK(&od->flush, mvf_od_flush_work);

	ret = mvf_rings_init(gp);
	if (ret)
		return ret;
	gp->ops = &mvf_od_ops;
	return 0;
}

/*
 * The managed device's driver is gone, the ops removed and the companion
 * reset, which unmapped every extent on the host: only the bookkeeping is
 * left to free.
 */
void mvf_ondemand_fini(struct mvf_gp *gp)
{
	struct mvf_od *od = &gp->od;
	struct rb_node *node;
	struct mvf_ext *e;
	u32 leaked = 0;

	cancel_delayed_work_sync(&od->flush);
	while ((node = rb_first(&od->by_iova))) {
		e = rb_entry(node, struct mvf_ext, iova_node);
		leaked += e->refs != 0;
		rb_erase(node, &od->by_iova);
		mvf_gpa_it_remove(e, &od->by_gpa);
		kfree(e);
	}
	INIT_LIST_HEAD(&od->idle);
	od->nidle = 0;
	od->nlive = 0;
	od->mapped = 0;
	if (leaked)
		dev_warn(&gp->pdev->dev, "%s: the driver left %u DMA mapping(s) behind\n",
			 pci_name(gp->managed), leaked);
	mvf_rings_fini(gp);
}
