// SPDX-License-Identifier: GPL-2.0
/*
 * The companion's request rings (docs/guest-protocol.md §6).
 *
 * A submission is: fill entries from index 0, ring the doorbell, read
 * PROCESSED back, read the results.  The read-back is what confirms
 * completion: an MMIO read is not answered before the writes ahead of it
 * are done, so this holds whether the trapped doorbell write waits for the
 * host or is posted.  Nothing sleeps; a ring is held with a spinlock
 * (interrupts off) for one doorbell at a time, so the DMA paths may call
 * this from any context and interrupts stay off for at most one doorbell
 * of ring_max entries (the longest time is in debugfs, irqoff_max_ns).
 * CPUs use different rings when the companion offers several.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/ktime.h>
#include <linux/slab.h>
#include <linux/smp.h>

#include "mvf.h"

#define MVF_RING_ORDER 1	/* 8 KiB: 256 entries per ring */

static void mvf_ring_disable(struct mvf_gp *gp, struct mvf_ring *r)
{
	iowrite32(0, gp->regs + MVF_GP_RING_REG(r->index, MVF_GP_RING_CTRL));
}

static int mvf_ring_enable(struct mvf_gp *gp, struct mvf_ring *r)
{
	u64 addr = page_to_phys(r->pages);
	void __iomem *blk = gp->regs + MVF_GP_RING_REG(r->index, 0);
	s32 st;

	iowrite32(lower_32_bits(addr), blk + MVF_GP_RING_ADDR_LO);
	iowrite32(upper_32_bits(addr), blk + MVF_GP_RING_ADDR_HI);
	iowrite32(r->size, blk + MVF_GP_RING_SIZE);
	iowrite32(MVF_GP_RING_CTRL_ENABLE, blk + MVF_GP_RING_CTRL);
	st = ioread32(blk + MVF_GP_RING_STATUS);
	if (st || !(ioread32(blk + MVF_GP_RING_CTRL) & MVF_GP_RING_CTRL_ENABLE)) {
		dev_err(&gp->pdev->dev, "ring %u at 0x%llx: enable failed: %d\n",
			r->index, addr, st);
		return st ? st : -EIO;
	}
	return 0;
}

int mvf_rings_init(struct mvf_gp *gp)
{
	u32 nr = ioread32(gp->regs + MVF_GP_REG_NUM_RINGS);
	u32 dbmax = ioread32(gp->regs + MVF_GP_REG_DOORBELL_MAX);
	u32 emax = ioread32(gp->regs + MVF_GP_REG_RING_MAX_ENTRIES);
	u32 i, size;
	int ret;

	if (nr == 0 || nr > MVF_GP_MAX_RINGS) {
		dev_err(&gp->pdev->dev, "the companion offers %u rings (1..%u needed)\n",
			nr, MVF_GP_MAX_RINGS);
		return -ENODEV;
	}
	size = min_t(u32, (PAGE_SIZE << MVF_RING_ORDER) / MVF_GP_ENTRY_SIZE,
		     emax ? emax : 1);
	gp->ring_max = min_t(u32, size, dbmax ? dbmax : 1);
	gp->nrings = min_t(u32, nr, nr_cpu_ids);
	gp->rings = kcalloc(gp->nrings, sizeof(*gp->rings), GFP_KERNEL);
	if (!gp->rings)
		return -ENOMEM;
	for (i = 0; i < gp->nrings; i++) {
		struct mvf_ring *r = &gp->rings[i];

		spin_lock_init(&r->lock);
		r->index = i;
		r->size = size;
		r->order = get_order(size * MVF_GP_ENTRY_SIZE);
		r->pages = alloc_pages(GFP_KERNEL | __GFP_ZERO, r->order);
		if (!r->pages) {
			ret = -ENOMEM;
			goto err;
		}
		r->ent = page_address(r->pages);
		ret = mvf_ring_enable(gp, r);
		if (ret) {
			__free_pages(r->pages, r->order);
			r->pages = NULL;
			goto err;
		}
	}
	return 0;
err:
	mvf_rings_fini(gp);
	return ret;
}

/* The companion must be reset (or the rings disabled) before the memory
 * goes back to the kernel: the host may read a ring on a doorbell only,
 * but a disabled ring is forgotten for certain. */
void mvf_rings_fini(struct mvf_gp *gp)
{
	u32 i;

	if (!gp->rings)
		return;
	for (i = 0; i < gp->nrings; i++) {
		struct mvf_ring *r = &gp->rings[i];

		if (!r->pages)
			continue;
		mvf_ring_disable(gp, r);
		__free_pages(r->pages, r->order);
	}
	kfree(gp->rings);
	gp->rings = NULL;
	gp->nrings = 0;
}

/* One doorbell: req[0..n) in ring r from index 0, n <= gp->ring_max. */
static void mvf_ring_one(struct mvf_gp *gp, struct mvf_ring *r,
			 struct mvf_req *req, u32 n)
{
	void __iomem *blk = gp->regs + MVF_GP_RING_REG(r->index, 0);
	s32 ring_status = 0;
	u32 i, processed;

	for (i = 0; i < n; i++) {
		struct mvf_gp_entry *e = &r->ent[i];

		e->gpa = cpu_to_le64(req[i].gpa);
		e->len = cpu_to_le64(req[i].len);
		e->op = cpu_to_le16(req[i].op);
		e->flags = cpu_to_le16(req[i].flags);
		e->status = cpu_to_le32(MVF_GP_STATUS_PENDING);
		e->iova = cpu_to_le64(req[i].iova);
	}
	/* iowrite32 orders the entries before the doorbell */
	iowrite32(MVF_GP_DOORBELL(0, n), blk + MVF_GP_RING_DOORBELL);
	atomic64_inc(&gp->cnt.doorbells);
	/*
	 * Answered once the doorbell is done; ioread32 also orders the entry
	 * reads below after it.  Entries from PROCESSED on were not written
	 * back, whatever they hold.
	 */
	processed = ioread32(blk + MVF_GP_RING_PROCESSED);
	if (processed > n) {
		dev_err_ratelimited(&gp->pdev->dev,
			"ring %u: PROCESSED %u after a doorbell of %u\n",
			r->index, processed, n);
		processed = 0;
	}
	for (i = 0; i < n; i++) {
		struct mvf_gp_entry *e = &r->ent[i];
		s32 st = (s32)le32_to_cpu(READ_ONCE(e->status));

		if (i >= processed || st == MVF_GP_STATUS_PENDING) {
			if (!ring_status)
				ring_status = ioread32(blk + MVF_GP_RING_STATUS);
			st = ring_status < 0 ? ring_status : -EIO;
		} else if (st > 0) {
			st = -EIO;	/* not a value the protocol allows */
		}
		req[i].status = st;
		if (st) {
			atomic64_inc(&gp->cnt.failures);
			continue;
		}
		if (req[i].op == MVF_GP_OP_MAP) {
			req[i].iova = le64_to_cpu(READ_ONCE(e->iova));
			atomic64_inc(&gp->cnt.maps);
		} else {
			atomic64_inc(&gp->cnt.unmaps);
		}
	}
}

/*
 * Submit n requests: as few doorbells as the ring size allows (one for up
 * to gp->ring_max entries), the ring's lock taken for each doorbell alone.
 * Each request gets its own status; the return value is the number that
 * failed.
 */
int mvf_ring_submit(struct mvf_gp *gp, struct mvf_req *req, u32 n)
{
	struct mvf_ring *r;
	unsigned long flags;
	u32 done, chunk, i;
	u64 t0, dt;
	int failed = 0;

	if (!n)
		return 0;
	for (done = 0; done < n; done += chunk) {
		chunk = min(n - done, gp->ring_max);
		r = &gp->rings[raw_smp_processor_id() % gp->nrings];
		spin_lock_irqsave(&r->lock, flags);
		t0 = ktime_get_ns();
		mvf_ring_one(gp, r, req + done, chunk);
		dt = ktime_get_ns() - t0;
		if (dt > r->irqoff_max_ns)
			r->irqoff_max_ns = dt;
		spin_unlock_irqrestore(&r->lock, flags);
	}
	atomic64_inc(&gp->cnt.batches);
	for (i = 0; i < n; i++)
		failed += req[i].status != 0;
	return failed;
}

/* The longest time any ring was held with interrupts off, in ns. */
u64 mvf_rings_irqoff_max_ns(struct mvf_gp *gp)
{
	unsigned long flags;
	u64 most = 0;
	u32 i;

	for (i = 0; i < gp->nrings; i++) {
		struct mvf_ring *r = &gp->rings[i];

		spin_lock_irqsave(&r->lock, flags);
		most = max(most, r->irqoff_max_ns);
		spin_unlock_irqrestore(&r->lock, flags);
	}
	return most;
}
