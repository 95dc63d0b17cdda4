// SPDX-License-Identifier: GPL-2.0
/*
 * Pool strategy: a pool of guest memory is mapped once at probe (one MAP
 * per physically contiguous chunk, all in one doorbell), and every DMA
 * buffer of the managed device lives in it.  Streaming mappings are
 * bounced (copied in on map for DMA_TO_DEVICE, out on unmap for
 * DMA_FROM_DEVICE); coherent allocations come straight from the pool.  No
 * exit per I/O, at the cost of a copy, and the device can reach nothing
 * but the pool.
 *
 * The allocator is a genalloc pool whose "physical" address of each chunk
 * is its IOVA; genalloc is lock-free, so every path is safe in atomic
 * context.  Bounce slots are page aligned and keep the buffer's offset in
 * its page, which drivers that build page lists (NVMe PRPs) rely on.
 *
 * Coherent memory is in the pool already: a streaming mapping of it (a
 * dma-buf importer mapping dma_get_sgtable()'s table) gets its own IOVA,
 * without a bounce.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/genalloc.h>
#include <linux/gfp.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "mvf.h"

#define MVF_POOL_CHUNK_ORDER 10		/* 4 MiB with 4 KiB pages */
#define MVF_POOL_MAX_MAPPING (512 * 1024)
/* chunk->orig of a coherent page: never a page address (those are aligned) */
#define MVF_POOL_COHERENT ((phys_addr_t)1)

static struct mvf_pool_chunk *mvf_pool_chunk_of(struct mvf_gp *gp, u64 iova)
{
	u32 i;

	for (i = 0; i < gp->pool.nchunks; i++) {
		struct mvf_pool_chunk *c = &gp->pool.chunk[i];

		if (iova >= c->iova && iova - c->iova < c->size)
			return c;
	}
	return NULL;
}

/* The chunk holding guest-physical [phys, phys + size), or NULL. */
static struct mvf_pool_chunk *mvf_pool_chunk_of_phys(struct mvf_gp *gp,
						     phys_addr_t phys,
						     size_t size)
{
	u32 i;

	for (i = 0; i < gp->pool.nchunks; i++) {
		struct mvf_pool_chunk *c = &gp->pool.chunk[i];

		if (phys >= c->gpa && phys - c->gpa < c->size &&
		    size <= c->size - (phys - c->gpa))
			return c;
	}
	return NULL;
}

/* Whether [off, off + size) of @c lies in coherent pages only. */
static bool mvf_pool_is_coherent(struct mvf_pool_chunk *c, u64 off, u64 size)
{
	u64 p;

	for (p = off >> PAGE_SHIFT; p <= (off + size - 1) >> PAGE_SHIFT; p++)
		if (c->orig[p] != MVF_POOL_COHERENT)
			return false;
	return true;
}

static bool mvf_pool_copy_in(enum dma_data_direction dir, unsigned long attrs)
{
	return !(attrs & DMA_ATTR_SKIP_CPU_SYNC) &&
	       (dir == DMA_TO_DEVICE || dir == DMA_BIDIRECTIONAL);
}

static bool mvf_pool_copy_out(enum dma_data_direction dir, unsigned long attrs)
{
	return !(attrs & DMA_ATTR_SKIP_CPU_SYNC) &&
	       (dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL);
}

/* Copy between a bounce buffer and the original memory of @dma. */
static void mvf_pool_copy(struct mvf_gp *gp, dma_addr_t dma, size_t size,
			  bool to_pool)
{
	struct mvf_pool_chunk *c = mvf_pool_chunk_of(gp, dma);
	u64 off, page;
	phys_addr_t orig;
	void *bounce;

	if (!c || size > c->size - (dma - c->iova))
		return;
	off = dma - c->iova;
	page = off >> PAGE_SHIFT;
	orig = c->orig[page];
	if (!orig || orig == MVF_POOL_COHERENT)
		return;		/* coherent memory: nothing to copy */
	orig += offset_in_page(off);
	bounce = c->vaddr + off;
	if (to_pool)
		memcpy(bounce, phys_to_virt(orig), size);
	else
		memcpy(phys_to_virt(orig), bounce, size);
	atomic64_add(size, &gp->cnt.bytes_bounced);
}

/* A page-aligned slot of @bytes; returns its IOVA or 0. */
static u64 mvf_pool_alloc_slot(struct mvf_gp *gp, size_t bytes, void **vaddr,
			       struct mvf_pool_chunk **chunk)
{
	unsigned long va;
	u64 iova;

	va = gen_pool_alloc(gp->pool.gp, PAGE_ALIGN(bytes));
	if (!va) {
		atomic64_inc(&gp->cnt.failures);
		return 0;
	}
	iova = gen_pool_virt_to_phys(gp->pool.gp, va);
	*chunk = mvf_pool_chunk_of(gp, iova);
	*vaddr = (void *)va;
	return iova;
}

static void mvf_pool_set_slot(struct mvf_pool_chunk *c, u64 iova, u32 npages,
			      phys_addr_t orig_page)
{
	u64 first = (iova - c->iova) >> PAGE_SHIFT;
	u32 i;

	c->npages[first] = npages;
	for (i = 0; i < npages; i++)
		c->orig[first + i] = orig_page ? orig_page + i * PAGE_SIZE :
						 MVF_POOL_COHERENT;
}

static dma_addr_t mvf_pool_map_phys(struct device *dev, phys_addr_t phys,
				    size_t size, enum dma_data_direction dir,
				    unsigned long attrs)
{
	struct mvf_gp *gp = mvf_from_dev(dev);
	size_t off = offset_in_page(phys);
	struct mvf_pool_chunk *c;
	void *va;
	u64 iova;

	if (!gp)
		return DMA_MAPPING_ERROR;
	if (!size || phys + size < phys)
		goto fail;
	/* coherent memory of the pool: the device reaches it already */
	c = mvf_pool_chunk_of_phys(gp, phys, size);
	if (c && mvf_pool_is_coherent(c, phys - c->gpa, size)) {
		atomic64_inc(&gp->cnt.dma_maps);
		return c->iova + (phys - c->gpa);
	}
	if (size > MVF_POOL_MAX_MAPPING)
		goto fail;
	iova = mvf_pool_alloc_slot(gp, off + size, &va, &c);
	if (!iova || !c)
		goto fail;
	mvf_pool_set_slot(c, iova, PAGE_ALIGN(off + size) >> PAGE_SHIFT,
			  phys - off);
	atomic64_inc(&gp->cnt.dma_maps);
	if (mvf_pool_copy_in(dir, attrs))
		mvf_pool_copy(gp, iova + off, size, true);
	return iova + off;
fail:
	atomic64_inc(&gp->cnt.failures);
	return DMA_MAPPING_ERROR;
}

static void mvf_pool_unmap_phys(struct device *dev, dma_addr_t dma,
				size_t size, enum dma_data_direction dir,
				unsigned long attrs)
{
	struct mvf_gp *gp = mvf_from_dev(dev);
	struct mvf_pool_chunk *c;
	u64 slot = dma & PAGE_MASK, first;
	u32 npages;

	if (!gp)
		return;
	c = mvf_pool_chunk_of(gp, dma);
	if (!c) {
		atomic64_inc(&gp->cnt.failures);
		dev_err_ratelimited(&gp->pdev->dev,
			"%s: unmap of DMA address 0x%llx outside the pool\n",
			pci_name(gp->managed), (u64)dma);
		return;
	}
	first = (slot - c->iova) >> PAGE_SHIFT;
	if (c->orig[first] == MVF_POOL_COHERENT) {
		/* a mapping of coherent memory: nothing was allocated */
		atomic64_inc(&gp->cnt.dma_unmaps);
		return;
	}
	npages = c->npages[first];
	if (!npages || !c->orig[first]) {
		atomic64_inc(&gp->cnt.failures);
		dev_err_ratelimited(&gp->pdev->dev,
			"%s: unmap of DMA address 0x%llx that is not mapped\n",
			pci_name(gp->managed), (u64)dma);
		return;
	}
	if (mvf_pool_copy_out(dir, attrs))
		mvf_pool_copy(gp, dma, size, false);
	c->npages[first] = 0;
	c->orig[first] = 0;
	gen_pool_free(gp->pool.gp, (unsigned long)c->vaddr + (slot - c->iova),
		      (size_t)npages << PAGE_SHIFT);
	atomic64_inc(&gp->cnt.dma_unmaps);
}

MVF_DEFINE_MAP_PAGE(mvf_pool_map_page, mvf_pool_map_phys)

static void mvf_pool_unmap_sg(struct device *dev, struct scatterlist *sgl,
			      int nents, enum dma_data_direction dir,
			      unsigned long attrs)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i)
		mvf_pool_unmap_phys(dev, sg_dma_address(sg), sg_dma_len(sg),
				    dir, attrs);
}

static int mvf_pool_map_sg(struct device *dev, struct scatterlist *sgl,
			   int nents, enum dma_data_direction dir,
			   unsigned long attrs)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) {
		sg_dma_address(sg) = mvf_pool_map_phys(dev, sg_phys(sg),
						       sg->length, dir, attrs);
		if (sg_dma_address(sg) == DMA_MAPPING_ERROR) {
			/* the pool is full for now: the driver retries */
			if (i)
				mvf_pool_unmap_sg(dev, sgl, i, dir,
						  attrs | DMA_ATTR_SKIP_CPU_SYNC);
			return -ENOMEM;
		}
		sg_dma_len(sg) = sg->length;
	}
	return nents;
}

static void mvf_pool_sync_for_cpu(struct device *dev, dma_addr_t dma,
				  size_t size, enum dma_data_direction dir)
{
	struct mvf_gp *gp = mvf_from_dev(dev);

	if (gp && mvf_pool_copy_out(dir, 0))
		mvf_pool_copy(gp, dma, size, false);
}

static void mvf_pool_sync_for_device(struct device *dev, dma_addr_t dma,
				     size_t size, enum dma_data_direction dir)
{
	struct mvf_gp *gp = mvf_from_dev(dev);

	if (gp && mvf_pool_copy_in(dir, 0))
		mvf_pool_copy(gp, dma, size, true);
}

static void mvf_pool_sync_sg(struct device *dev, struct scatterlist *sgl,
			     int nents, enum dma_data_direction dir,
			     bool for_device)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) {
		if (for_device)
			mvf_pool_sync_for_device(dev, sg_dma_address(sg),
						 sg_dma_len(sg), dir);
		else
			mvf_pool_sync_for_cpu(dev, sg_dma_address(sg),
					      sg_dma_len(sg), dir);
	}
}

static void mvf_pool_sync_sg_for_cpu(struct device *dev,
				     struct scatterlist *sgl, int nents,
				     enum dma_data_direction dir)
{
	mvf_pool_sync_sg(dev, sgl, nents, dir, false);
}

static void mvf_pool_sync_sg_for_device(struct device *dev,
					struct scatterlist *sgl, int nents,
					enum dma_data_direction dir)
{
	mvf_pool_sync_sg(dev, sgl, nents, dir, true);
}

static void *mvf_pool_alloc(struct device *dev, size_t size, dma_addr_t *dma,
			    gfp_t gfp, unsigned long attrs)
{
	struct mvf_gp *gp = mvf_from_dev(dev);
	struct mvf_pool_chunk *c;
	void *va;
	u64 iova;

	if (!gp || !size)
		return NULL;
	iova = mvf_pool_alloc_slot(gp, size, &va, &c);
	if (!iova || !c)
		return NULL;
	mvf_pool_set_slot(c, iova, PAGE_ALIGN(size) >> PAGE_SHIFT, 0);
	memset(va, 0, size);
	atomic64_inc(&gp->cnt.dma_maps);
	*dma = iova;
	return va;
}

/*
 * The chunk of a coherent allocation (@vaddr, @dma, @size) that the pool
 * made, or NULL (with a message) if it is not one.
 */
static struct mvf_pool_chunk *mvf_pool_coherent_of(struct mvf_gp *gp,
						   void *vaddr, dma_addr_t dma,
						   size_t size, const char *what)
{
	struct mvf_pool_chunk *c = mvf_pool_chunk_of(gp, dma);
	u64 off = c ? dma - c->iova : 0;

	if (!c || !size || dma & ~PAGE_MASK ||
	    PAGE_ALIGN(size) > c->size - off ||
	    vaddr != c->vaddr + off ||
	    !mvf_pool_is_coherent(c, off, size)) {
		atomic64_inc(&gp->cnt.failures);
		dev_err_ratelimited(&gp->pdev->dev,
			"%s: %s of coherent memory not from the pool (0x%llx)\n",
			pci_name(gp->managed), what, (u64)dma);
		return NULL;
	}
	return c;
}

static void mvf_pool_free(struct device *dev, size_t size, void *vaddr,
			  dma_addr_t dma, unsigned long attrs)
{
	struct mvf_gp *gp = mvf_from_dev(dev);
	struct mvf_pool_chunk *c;

	if (!gp)
		return;
	c = mvf_pool_coherent_of(gp, vaddr, dma, size, "free");
	if (!c)
		return;
	memset(&c->orig[(dma - c->iova) >> PAGE_SHIFT], 0,
	       (PAGE_ALIGN(size) >> PAGE_SHIFT) * sizeof(*c->orig));
	c->npages[(dma - c->iova) >> PAGE_SHIFT] = 0;
	gen_pool_free(gp->pool.gp, (unsigned long)vaddr, PAGE_ALIGN(size));
	atomic64_inc(&gp->cnt.dma_unmaps);
}

static int mvf_pool_mmap(struct device *dev, struct vm_area_struct *vma,
			 void *vaddr, dma_addr_t dma, size_t size,
			 unsigned long attrs)
{
	struct mvf_gp *gp = mvf_from_dev(dev);

	if (!gp || !mvf_pool_coherent_of(gp, vaddr, dma, size, "mmap"))
		return -ENXIO;
	return mvf_coherent_mmap(vma, vaddr, size);
}

static int mvf_pool_get_sgtable(struct device *dev, struct sg_table *sgt,
				void *vaddr, dma_addr_t dma, size_t size,
				unsigned long attrs)
{
	struct mvf_gp *gp = mvf_from_dev(dev);

	if (!gp || !mvf_pool_coherent_of(gp, vaddr, dma, size, "sgtable"))
		return -ENXIO;
	return mvf_coherent_sgtable(sgt, vaddr, size);
}

static int mvf_pool_dma_supported(struct device *dev, u64 mask)
{
	struct mvf_gp *gp = mvf_from_dev(dev);
	u32 i;

	if (!gp)
		return 0;
	for (i = 0; i < gp->pool.nchunks; i++)
		if (gp->pool.chunk[i].iova + gp->pool.chunk[i].size - 1 > mask)
			return 0;
	return 1;
}

static size_t mvf_pool_max_mapping_size(struct device *dev)
{
	return MVF_POOL_MAX_MAPPING;
}

const struct dma_map_ops mvf_pool_ops = {
	.alloc = mvf_pool_alloc,
	.free = mvf_pool_free,
	.mmap = mvf_pool_mmap,
	.get_sgtable = mvf_pool_get_sgtable,
#ifdef MVF_HAVE_MAP_PHYS
	.map_phys = mvf_pool_map_phys,
	.unmap_phys = mvf_pool_unmap_phys,
#else
	.map_page = mvf_pool_map_page,
	.unmap_page = mvf_pool_unmap_phys,
#endif
	.map_sg = mvf_pool_map_sg,
	.unmap_sg = mvf_pool_unmap_sg,
	.sync_single_for_cpu = mvf_pool_sync_for_cpu,
	.sync_single_for_device = mvf_pool_sync_for_device,
	.sync_sg_for_cpu = mvf_pool_sync_sg_for_cpu,
	.sync_sg_for_device = mvf_pool_sync_sg_for_device,
	.dma_supported = mvf_pool_dma_supported,
	.max_mapping_size = mvf_pool_max_mapping_size,
};

void mvf_pool_show(struct mvf_gp *gp, struct seq_file *s)
{
	u32 i;

	seq_printf(s, "size: %llu\navailable: %zu\n", gp->pool.size,
		   gp->pool.gp ? gen_pool_avail(gp->pool.gp) : 0);
	for (i = 0; i < gp->pool.nchunks; i++)
		seq_printf(s, "chunk %u: gpa 0x%llx size 0x%llx -> iova 0x%llx\n",
			   i, gp->pool.chunk[i].gpa, gp->pool.chunk[i].size,
			   gp->pool.chunk[i].iova);
}

static void mvf_pool_free_chunks(struct mvf_gp *gp)
{
	u32 i;

	for (i = 0; i < MVF_POOL_MAX_CHUNKS; i++) {
		struct mvf_pool_chunk *c = &gp->pool.chunk[i];

		if (c->pages)
			__free_pages(c->pages, c->order);
		kvfree(c->orig);
		kvfree(c->npages);
		memset(c, 0, sizeof(*c));
	}
	gp->pool.nchunks = 0;
}

/* Allocate the chunks, as large as the page allocator gives, granule
 * aligned (a buddy block of order k is aligned to its size). */
static int mvf_pool_alloc_chunks(struct mvf_gp *gp, u64 want)
{
	unsigned int order = MVF_POOL_CHUNK_ORDER, min_order;
	u64 got = 0;

	min_order = get_order(gp->granule);
	while (got < want && gp->pool.nchunks < MVF_POOL_MAX_CHUNKS) {
		struct mvf_pool_chunk *c = &gp->pool.chunk[gp->pool.nchunks];
		u64 pages;

		c->pages = alloc_pages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN,
				       order);
		if (!c->pages) {
			if (order == min_order)
				break;
			order--;
			continue;
		}
		c->order = order;
		c->size = PAGE_SIZE << order;
		c->vaddr = page_address(c->pages);
		c->gpa = page_to_phys(c->pages);
		pages = c->size >> PAGE_SHIFT;
		c->orig = kvcalloc(pages, sizeof(*c->orig), GFP_KERNEL);
		c->npages = kvcalloc(pages, sizeof(*c->npages), GFP_KERNEL);
		gp->pool.nchunks++;
		if (!c->orig || !c->npages)
			return -ENOMEM;
		got += c->size;
	}
	gp->pool.size = got;
	return got ? 0 : -ENOMEM;
}

/* The host's IOVAs for the chunks: usable, and no two overlapping. */
static int mvf_pool_check_iovas(struct mvf_gp *gp)
{
	u32 i, j;

	for (i = 0; i < gp->pool.nchunks; i++) {
		struct mvf_pool_chunk *c = &gp->pool.chunk[i];

		if (!mvf_iova_ok(gp, c->iova, c->size)) {
			dev_err(&gp->pdev->dev, "pool chunk %u: the host gave iova 0x%llx for 0x%llx bytes: unaligned or outside the aperture\n",
				i, c->iova, c->size);
			return -EIO;
		}
		for (j = 0; j < i; j++)
			if (mvf_ranges_overlap(c->iova, c->size,
					       gp->pool.chunk[j].iova,
					       gp->pool.chunk[j].size)) {
				dev_err(&gp->pdev->dev, "pool chunks %u and %u: the host gave overlapping iovas 0x%llx and 0x%llx\n",
					j, i, gp->pool.chunk[j].iova, c->iova);
				return -EIO;
			}
	}
	return 0;
}

int mvf_pool_init(struct mvf_gp *gp)
{
	struct mvf_req *req = NULL;
	u64 want = (u64)mvf_pool_mb << 20;
	u32 i;
	int ret;

	if (!want || gp->granule > (PAGE_SIZE << MVF_POOL_CHUNK_ORDER)) {
		dev_err(&gp->pdev->dev, "pool of %u MiB with a %llu-byte granule is not possible\n",
			mvf_pool_mb, gp->granule);
		return -EINVAL;
	}
	ret = mvf_rings_init(gp);
	if (ret)
		return ret;
	ret = mvf_pool_alloc_chunks(gp, want);
	if (ret) {
		dev_err(&gp->pdev->dev, "cannot allocate a %u MiB pool\n",
			mvf_pool_mb);
		goto err;
	}
	req = kcalloc(gp->pool.nchunks, sizeof(*req), GFP_KERNEL);
	if (!req) {
		ret = -ENOMEM;
		goto err;
	}
	for (i = 0; i < gp->pool.nchunks; i++)
		req[i] = (struct mvf_req){
			.op = MVF_GP_OP_MAP, .gpa = gp->pool.chunk[i].gpa,
			.len = gp->pool.chunk[i].size,
			.flags = MVF_GP_F_READ | MVF_GP_F_WRITE,
		};
	ret = mvf_ring_submit(gp, req, gp->pool.nchunks);
	for (i = 0; i < gp->pool.nchunks; i++) {
		if (req[i].status) {
			dev_err(&gp->pdev->dev, "mapping pool chunk %u (%llu KiB): %d\n",
				i, gp->pool.chunk[i].size >> 10, req[i].status);
			ret = req[i].status;
			continue;
		}
		gp->pool.chunk[i].iova = req[i].iova;
	}
	kfree(req);
	if (!ret)
		ret = mvf_pool_check_iovas(gp);
	if (ret)
		goto err;

	gp->pool.gp = gen_pool_create(PAGE_SHIFT, NUMA_NO_NODE);
	if (!gp->pool.gp) {
		ret = -ENOMEM;
		goto err;
	}
	for (i = 0; i < gp->pool.nchunks; i++) {
		struct mvf_pool_chunk *c = &gp->pool.chunk[i];

		ret = gen_pool_add_virt(gp->pool.gp, (unsigned long)c->vaddr,
					c->iova, c->size, NUMA_NO_NODE);
		if (ret)
			goto err;
	}

	gp->ops = &mvf_pool_ops;
	dev_info(&gp->pdev->dev, "%s: pool of %llu MiB in %u chunk(s), first at gpa 0x%llx -> iova 0x%llx\n",
		 pci_name(gp->managed), gp->pool.size >> 20, gp->pool.nchunks,
		 gp->pool.chunk[0].gpa, gp->pool.chunk[0].iova);
	return 0;
err:
	mvf_companion_reset(gp);	/* unmaps the chunks that did map */
	mvf_pool_fini(gp);
	return ret;
}

/*
 * The managed device's driver is gone and the ops removed; the companion
 * has been reset (which unmapped the pool on the host), so the memory can
 * go back to the kernel.
 */
void mvf_pool_fini(struct mvf_gp *gp)
{
	if (gp->pool.gp) {
		size_t used = gp->pool.size - gen_pool_avail(gp->pool.gp);

		if (used)
			dev_warn(&gp->pdev->dev, "%s: %zu bytes of the pool still in use at unbind\n",
				 pci_name(gp->managed), used);
		/* gen_pool_destroy BUGs on allocations left: free the chunks'
		 * bookkeeping by hand instead when something leaked */
		if (!used)
			gen_pool_destroy(gp->pool.gp);
		gp->pool.gp = NULL;
	}
	mvf_rings_fini(gp);
	mvf_pool_free_chunks(gp);
}
