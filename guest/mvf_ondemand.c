// SPDX-License-Identifier: GPL-2.0
/*
 * On-demand strategy: per-device dma_map_ops that obtain IOVAs from the
 * host through the companion's rings (docs/guest-protocol.md §6).
 *
 * The host maps in granules (16 KiB on Apple Silicon).  A buffer
 * [p, p + n) is mapped as the granule-aligned span around it, and the
 * mapping ("extent") is refcounted: another buffer in the same span reuses
 * it without an exit.  Extents whose last user unmapped them go on an idle
 * list and stay mapped for up to lazy_unmap_ms, so that the buffers a
 * driver reuses (queues, PRP lists, page-cache pages) cost nothing the
 * second time; idle extents are unmapped in batches, one doorbell each:
 * from a delayed work, when more than idle_max are idle, or when the host
 * says the budget or the mapping count is spent.  lazy_unmap_ms=0 unmaps
 * at once (strict).
 *
 * Every path runs with a spinlock and GFP_ATOMIC allocations, so DMA may be
 * mapped from any context; every failure is DMA_MAPPING_ERROR or a negative
 * errno for the driver to handle.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/jiffies.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "mvf.h"

struct mvf_ext {
	struct hlist_node by_gpa;
	struct hlist_node by_iova;
	struct list_head idle;		/* on od->idle while refs == 0 */
	u64 gpa, len, iova;
	unsigned long idle_since;	/* jiffies */
	u32 refs;
	u16 flags;
};

/* A buffer to map: in phys/size/flags, out ext and dma. */
struct mvf_od_item {
	u64 phys, size;
	u16 flags;
	struct mvf_ext *ext;	/* the live extent serving it */
	struct mvf_ext *fresh;	/* allocated for a MAP, if it needs one */
	dma_addr_t dma;
};

#define MVF_OD_STACK_REQS 8

static u64 mvf_span_start(struct mvf_gp *gp, u64 phys)
{
	return phys & ~(gp->granule - 1);
}

static u64 mvf_span_len(struct mvf_gp *gp, u64 phys, u64 size)
{
	return ALIGN(phys + size, gp->granule) - mvf_span_start(gp, phys);
}

/* Caller holds od->lock: a live extent covering the span, referenced. */
static struct mvf_ext *mvf_ext_get(struct mvf_od *od, u64 span, u64 len,
				   u16 flags)
{
	struct mvf_ext *e;

	hash_for_each_possible(od->by_gpa, e, by_gpa, span) {
		if (e->gpa != span || e->len < len || (e->flags & flags) != flags)
			continue;
		if (!e->refs++) {
			list_del(&e->idle);
			od->nidle--;
		}
		return e;
	}
	return NULL;
}

/* Caller holds od->lock: the extent a DMA handle belongs to. */
static struct mvf_ext *mvf_ext_find_dma(struct mvf_gp *gp, dma_addr_t dma)
{
	u64 key = dma & ~(gp->granule - 1);
	struct mvf_ext *e;

	hash_for_each_possible(gp->od.by_iova, e, by_iova, key)
		if (e->iova == key)
			return e;
	return NULL;
}

/*
 * Unmap the extents on @list (unhashed, linked by ->idle) and free them,
 * ring_max entries per doorbell.  Those the host refuses are forgotten
 * too: the companion reset at unbind releases whatever is left.
 */
static void mvf_ext_unmap_list(struct mvf_gp *gp, struct list_head *list)
{
	struct mvf_req stack[MVF_OD_STACK_REQS], *req = NULL;
	struct mvf_ext *e, *next;
	u32 n = 0, max, k, i;

	list_for_each_entry(e, list, idle)
		n++;
	if (!n)
		return;
	if (n > MVF_OD_STACK_REQS)
		req = kmalloc_array(n, sizeof(*req), GFP_ATOMIC | __GFP_NOWARN);
	max = req ? n : MVF_OD_STACK_REQS;
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
			if (req[i].status)
				dev_err_ratelimited(&gp->pdev->dev,
					"%s: unmap iova 0x%llx len 0x%llx: %d\n",
					pci_name(gp->managed), e->iova, e->len,
					req[i].status);
			list_del(&e->idle);
			kfree(e);
			i++;
		}
	}
	if (req != stack)
		kfree(req);
}

/*
 * Caller holds od->lock: move idle extents to @out for unmapping, oldest
 * first.  @all: every idle one; otherwise those idle for longer than
 * lazy_unmap_ms, and the oldest beyond idle_max.
 */
static void mvf_take_idle(struct mvf_gp *gp, struct list_head *out, bool all)
{
	struct mvf_od *od = &gp->od;
	unsigned long age = msecs_to_jiffies(READ_ONCE(mvf_lazy_unmap_ms));
	u32 keep = READ_ONCE(mvf_idle_max);
	struct mvf_ext *e, *next;

	list_for_each_entry_safe(e, next, &od->idle, idle) {
		if (!all && od->nidle <= keep &&
		    time_before(jiffies, e->idle_since + age))
			break;
		hash_del(&e->by_gpa);
		hash_del(&e->by_iova);
		list_move_tail(&e->idle, out);
		od->nidle--;
		od->nlive--;
	}
}

/* Unmap every idle extent now; returns how many. */
u32 mvf_ondemand_flush(struct mvf_gp *gp)
{
	LIST_HEAD(victims);
	unsigned long flags;
	struct mvf_ext *e;
	u32 n = 0;

	spin_lock_irqsave(&gp->od.lock, flags);
	mvf_take_idle(gp, &victims, true);
	spin_unlock_irqrestore(&gp->od.lock, flags);
	list_for_each_entry(e, &victims, idle)
		n++;
	mvf_ext_unmap_list(gp, &victims);
	return n;
}

static void mvf_od_flush_work(struct work_struct *work)
{
	struct mvf_gp *gp = container_of(to_delayed_work(work), struct mvf_gp,
					 od.flush);
	LIST_HEAD(victims);
	unsigned long flags;
	bool more;

	spin_lock_irqsave(&gp->od.lock, flags);
	mvf_take_idle(gp, &victims, false);
	more = gp->od.nidle != 0;
	spin_unlock_irqrestore(&gp->od.lock, flags);
	mvf_ext_unmap_list(gp, &victims);
	if (more)
		schedule_delayed_work(&gp->od.flush,
				      msecs_to_jiffies(mvf_lazy_unmap_ms) + 1);
}

/* Caller holds od->lock: drop one reference; the last one makes it idle. */
static void mvf_ext_put(struct mvf_gp *gp, struct mvf_ext *e)
{
	if (--e->refs)
		return;
	e->idle_since = jiffies;
	list_add_tail(&e->idle, &gp->od.idle);
	gp->od.nidle++;
}

/* After puts: unmap what must go now, or make sure the work runs. */
static void mvf_od_after_put(struct mvf_gp *gp)
{
	LIST_HEAD(victims);
	unsigned long flags;
	bool idle;

	spin_lock_irqsave(&gp->od.lock, flags);
	if (!READ_ONCE(mvf_lazy_unmap_ms) || gp->od.nidle > READ_ONCE(mvf_idle_max))
		mvf_take_idle(gp, &victims, !READ_ONCE(mvf_lazy_unmap_ms));
	idle = gp->od.nidle != 0;
	spin_unlock_irqrestore(&gp->od.lock, flags);
	mvf_ext_unmap_list(gp, &victims);
	if (idle)
		schedule_delayed_work(&gp->od.flush,
				      msecs_to_jiffies(mvf_lazy_unmap_ms) + 1);
}

/* Returns the number of items still without an extent. */
static u32 mvf_od_submit_maps(struct mvf_gp *gp, struct mvf_od_item *it,
			      u32 n, struct mvf_req *req, bool *spent)
{
	struct mvf_od *od = &gp->od;
	unsigned long flags;
	u32 i, k = 0, left = 0;

	for (i = 0; i < n; i++) {
		if (it[i].ext)
			continue;
		req[k++] = (struct mvf_req){
			.op = MVF_GP_OP_MAP,
			.gpa = mvf_span_start(gp, it[i].phys),
			.len = mvf_span_len(gp, it[i].phys, it[i].size),
			.flags = it[i].flags,
		};
	}
	if (!k)
		return 0;
	mvf_ring_submit(gp, req, k);

	*spent = false;
	k = 0;
	spin_lock_irqsave(&od->lock, flags);
	for (i = 0; i < n; i++) {
		struct mvf_req *r;
		struct mvf_ext *e;

		if (it[i].ext)
			continue;
		r = &req[k++];
		if (r->status) {
			*spent |= r->status == -ENOSPC || r->status == -EMFILE;
			left++;
			dev_err_ratelimited(&gp->pdev->dev,
				"%s: map gpa 0x%llx len 0x%llx: %d\n",
				pci_name(gp->managed), r->gpa, r->len,
				r->status);
			continue;
		}
		e = it[i].fresh;
		it[i].fresh = NULL;
		e->gpa = r->gpa;
		e->len = r->len;
		e->iova = r->iova;
		e->flags = r->flags;
		e->refs = 1;
		hash_add(od->by_gpa, &e->by_gpa, e->gpa);
		hash_add(od->by_iova, &e->by_iova, e->iova);
		od->nlive++;
		od->last_gpa = e->gpa;
		od->last_iova = e->iova;
		it[i].ext = e;
	}
	spin_unlock_irqrestore(&od->lock, flags);
	return left;
}

/*
 * Map @n items: reuse live extents, MAP the rest in one submission (one
 * doorbell for up to ring_max entries), after unmapping the idle extents
 * whose time is up.  On -ENOSPC/-EMFILE every idle extent is unmapped and
 * the failed MAPs are tried once more.  All or nothing: returns 0 with
 * every item's dma set, or a negative errno with nothing referenced.
 */
static int mvf_od_map_items(struct mvf_gp *gp, struct mvf_od_item *it, u32 n)
{
	struct mvf_req stack[MVF_OD_STACK_REQS], *req = stack;
	struct mvf_od *od = &gp->od;
	LIST_HEAD(victims);
	unsigned long flags;
	u32 i, misses = 0, left;
	bool spent = false;
	int ret = 0;

	spin_lock_irqsave(&od->lock, flags);
	for (i = 0; i < n; i++) {
		it[i].fresh = NULL;
		it[i].ext = mvf_ext_get(od, mvf_span_start(gp, it[i].phys),
					mvf_span_len(gp, it[i].phys, it[i].size),
					it[i].flags);
		if (it[i].ext)
			atomic64_inc(&gp->cnt.cache_hits);
		else
			misses++;
	}
	if (misses)
		mvf_take_idle(gp, &victims, false);
	spin_unlock_irqrestore(&od->lock, flags);
	mvf_ext_unmap_list(gp, &victims);

	if (misses) {
		if (misses > MVF_OD_STACK_REQS)
			req = kmalloc_array(misses, sizeof(*req),
					    GFP_ATOMIC | __GFP_NOWARN);
		for (i = 0; req && i < n; i++) {
			if (it[i].ext)
				continue;
			it[i].fresh = kmalloc(sizeof(*it[i].fresh),
					      GFP_ATOMIC | __GFP_NOWARN);
			if (!it[i].fresh)
				break;
		}
		if (!req || i < n) {
			ret = -ENOMEM;
			goto out;
		}
		left = mvf_od_submit_maps(gp, it, n, req, &spent);
		if (left && spent && mvf_ondemand_flush(gp))
			left = mvf_od_submit_maps(gp, it, n, req, &spent);
		if (left)
			ret = spent ? -ENOSPC : -EIO;
	}
out:
	spin_lock_irqsave(&od->lock, flags);
	for (i = 0; i < n; i++) {
		kfree(it[i].fresh);
		if (!it[i].ext)
			continue;
		if (ret)
			mvf_ext_put(gp, it[i].ext);
		else
			it[i].dma = it[i].ext->iova + (it[i].phys - it[i].ext->gpa);
	}
	spin_unlock_irqrestore(&od->lock, flags);
	if (req != stack)
		kfree(req);
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
	struct mvf_ext *e = mvf_ext_find_dma(gp, h);

	atomic64_inc(&gp->cnt.dma_unmaps);
	if (!e || !e->refs) {
		atomic64_inc(&gp->cnt.failures);
		dev_err_ratelimited(&gp->pdev->dev,
			"%s: unmap of DMA address 0x%llx that is not mapped\n",
			pci_name(gp->managed), (u64)h);
		return;
	}
	mvf_ext_put(gp, e);
}

/* ---- dma_map_ops ---------------------------------------------------- */

static dma_addr_t mvf_od_map_phys(struct device *dev, phys_addr_t phys,
				  size_t size, enum dma_data_direction dir,
				  unsigned long attrs)
{
	struct mvf_gp *gp = mvf_from_dev(dev);
	struct mvf_od_item it = { .phys = phys, .size = size,
				  .flags = mvf_dir_flags(dir) };

	if (!size || mvf_od_map_items(gp, &it, 1))
		return DMA_MAPPING_ERROR;
	return it.dma;
}

static void mvf_od_unmap_phys(struct device *dev, dma_addr_t dma, size_t size,
			      enum dma_data_direction dir, unsigned long attrs)
{
	struct mvf_gp *gp = mvf_from_dev(dev);
	unsigned long flags;

	spin_lock_irqsave(&gp->od.lock, flags);
	mvf_od_put_handle(gp, dma);
	spin_unlock_irqrestore(&gp->od.lock, flags);
	mvf_od_after_put(gp);
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

	if (nents <= 0)
		return -EINVAL;
	it = kmalloc_array(nents, sizeof(*it), GFP_ATOMIC | __GFP_NOWARN);
	if (!it)
		return -ENOMEM;
	for_each_sg(sgl, sg, nents, i)
		it[i] = (struct mvf_od_item){ .phys = sg_phys(sg),
					      .size = sg->length,
					      .flags = mvf_dir_flags(dir) };
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
	unsigned long flags;
	int i;

	/* one lock and at most one unmap submission for the whole list */
	spin_lock_irqsave(&gp->od.lock, flags);
	for_each_sg(sgl, sg, nents, i)
		mvf_od_put_handle(gp, sg_dma_address(sg));
	spin_unlock_irqrestore(&gp->od.lock, flags);
	mvf_od_after_put(gp);
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
	h = mvf_od_map_phys(dev, page_to_phys(page), size, dir, 0);
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

	return !gp->aperture_size ||
	       mask >= gp->aperture_base + gp->aperture_size - 1;
}

static u64 mvf_od_required_mask(struct device *dev)
{
	struct mvf_gp *gp = mvf_from_dev(dev);

	if (!gp->aperture_size)
		return DMA_BIT_MASK(64);
	return DMA_BIT_MASK(fls64(gp->aperture_base + gp->aperture_size - 1));
}

/*
 * Keep one request well inside the budget, so that a small budget slows
 * I/O down (requests wait for others to unmap) instead of making a
 * request that can never be mapped, which a driver would retry forever.
 */
static size_t mvf_od_max_mapping_size(struct device *dev)
{
	struct mvf_gp *gp = mvf_from_dev(dev);
	u64 quarter = round_down(gp->budget / 4, gp->granule);

	if (!gp->budget)
		return SIZE_MAX;
	/* a buffer may straddle granules: leave room for both ends */
	return quarter > 2 * gp->granule ? quarter - 2 * gp->granule :
					   gp->granule;
}

void mvf_ondemand_show(struct mvf_gp *gp, struct seq_file *s)
{
	unsigned long flags;
	u32 live, idle;
	u64 gpa, iova;

	spin_lock_irqsave(&gp->od.lock, flags);
	live = gp->od.nlive;
	idle = gp->od.nidle;
	gpa = gp->od.last_gpa;
	iova = gp->od.last_iova;
	spin_unlock_irqrestore(&gp->od.lock, flags);
	seq_printf(s, "granule: %llu\nlive: %u\nidle: %u\n", gp->granule, live,
		   idle);
	seq_printf(s, "lazy_unmap_ms: %u\nidle_max: %u\nbudget: %llu\n",
		   mvf_lazy_unmap_ms, mvf_idle_max, gp->budget);
	if (iova)
		seq_printf(s, "last map: gpa 0x%llx -> iova 0x%llx\n", gpa, iova);
}

int mvf_ondemand_init(struct mvf_gp *gp)
{
	struct dma_map_ops *ops = &gp->ops;
	int ret;

	spin_lock_init(&gp->od.lock);
	hash_init(gp->od.by_gpa);
	hash_init(gp->od.by_iova);
	INIT_LIST_HEAD(&gp->od.idle);
	INIT_DELAYED_WORK(&gp->od.flush, mvf_od_flush_work);

	ret = mvf_rings_init(gp);
	if (ret)
		return ret;
	memset(ops, 0, sizeof(*ops));
	ops->alloc = mvf_od_alloc;
	ops->free = mvf_od_free;
#ifdef MVF_HAVE_ALLOC_PAGES_OP
	ops->alloc_pages_op = mvf_od_alloc_pages;
#else
	ops->alloc_pages = mvf_od_alloc_pages;
#endif
	ops->free_pages = mvf_od_free_pages;
#ifdef MVF_HAVE_MAP_PHYS
	ops->map_phys = mvf_od_map_phys;
	ops->unmap_phys = mvf_od_unmap_phys;
#else
	ops->map_page = mvf_od_map_page;
	ops->unmap_page = mvf_od_unmap_phys;
#endif
	ops->map_sg = mvf_od_map_sg;
	ops->unmap_sg = mvf_od_unmap_sg;
	ops->dma_supported = mvf_od_dma_supported;
	ops->get_required_mask = mvf_od_required_mask;
	ops->max_mapping_size = mvf_od_max_mapping_size;
	return 0;
}

/*
 * The managed device's driver is gone, the ops removed and the companion
 * reset, which unmapped every extent on the host: only the bookkeeping is
 * left to free.
 */
void mvf_ondemand_fini(struct mvf_gp *gp)
{
	struct hlist_node *tmp;
	struct mvf_ext *e;
	u32 leaked = 0;
	int bkt;

	cancel_delayed_work_sync(&gp->od.flush);
	hash_for_each_safe(gp->od.by_gpa, bkt, tmp, e, by_gpa) {
		leaked += e->refs != 0;
		hash_del(&e->by_gpa);
		hash_del(&e->by_iova);
		kfree(e);
	}
	INIT_LIST_HEAD(&gp->od.idle);
	gp->od.nidle = 0;
	gp->od.nlive = 0;
	if (leaked)
		dev_warn(&gp->pdev->dev, "%s: the driver left %u DMA mapping(s) behind\n",
			 pci_name(gp->managed), leaked);
	mvf_rings_fini(gp);
}
