/* SPDX-License-Identifier: GPL-2.0 */
/*
 * macvfio guest module: what its parts share.
 *
 * mvf_main.c     binds apple-dma-pci, picks the strategy, installs it on
 *                the managed function (before its driver binds), debugfs
 * mvf_window.c   window strategy: a constant-offset dma_range_map
 * mvf_ring.c     the companion's request rings: MAP/UNMAP batches, one
 *                doorbell (one VM exit) per batch, safe in atomic context
 * mvf_coherent.c mmap and get_sgtable of coherent memory, shared by the
 *                pool and on-demand dma_map_ops
 * mvf_ondemand.c on-demand strategy: dma_map_ops mapping granule spans on
 *                demand into a refcounted cache of host mappings, kept
 *                while the budget allows and evicted least recently used
 * mvf_pool.c     pool strategy: dma_map_ops bouncing through a pool that
 *                is mapped once at probe
 */
#ifndef MVF_H
#define MVF_H

#include <linux/atomic.h>
#include <linux/dma-map-ops.h>
#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/pci.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include <macvfio/guest_proto.h>

#define MVF_DRV_NAME "macvfio"

/* Per-device counters, exported in debugfs; atomic so that the DMA paths
 * of all CPUs update them without a shared lock. */
struct mvf_counters {
	atomic64_t maps;		/* MAP entries the host accepted */
	atomic64_t unmaps;		/* UNMAP entries the host accepted */
	atomic64_t batches;		/* ring submissions (one or more doorbells) */
	atomic64_t doorbells;		/* doorbell writes = VM exits for DMA */
	atomic64_t failures;		/* entries or requests that failed */
	atomic64_t cache_hits;		/* on-demand: served by a live mapping */
	atomic64_t cache_misses;	/* on-demand: needed a MAP */
	atomic64_t evictions;		/* on-demand: idle extents unmapped for room */
	atomic64_t refusals;		/* on-demand: MAPs refused for budget/cap */
	atomic64_t coalesced;		/* on-demand: buffers merged into another's MAP */
	atomic64_t bytes_bounced;	/* pool: bytes copied to or from the pool */
	atomic64_t dma_maps;		/* streaming/coherent map calls served */
	atomic64_t dma_unmaps;		/* streaming/coherent unmap calls served */
};

struct mvf_ring {
	spinlock_t lock;	/* the ring belongs to one CPU at a time */
	struct mvf_gp_entry *ent;
	struct page *pages;
	unsigned int order;
	u32 size;		/* entries */
	u32 index;		/* ring block number in the companion */
	u64 irqoff_max_ns;	/* longest hold of the lock (interrupts off) */
};

/* One request for mvf_ring_submit(). */
struct mvf_req {
	u64 gpa;		/* MAP */
	u64 len;
	u64 iova;		/* UNMAP in, MAP out */
	u16 op;			/* MVF_GP_OP_* */
	u16 flags;		/* MAP: MVF_GP_F_* */
	int status;		/* out: 0 or a negative errno */
};

/* On-demand state (mvf_ondemand.c). */
struct mvf_od {
	spinlock_t lock;	/* trees, idle list, accounting, extent fields */
	struct rb_root_cached by_gpa;	/* interval tree of guest ranges */
	struct rb_root by_iova;		/* IOVA ranges, never overlapping */
	struct list_head idle;	/* refs == 0, least recently used first */
	u32 nidle;
	u32 nlive;		/* extents mapped on the host */
	u64 mapped;		/* bytes of live extents plus MAPs in flight */
	u32 inflight;		/* MAP entries in flight */
	u64 inflight_bytes;	/* their bytes (part of mapped) */
	u64 peak;		/* the most bytes mapped at once */
	u64 limit;		/* bytes: the budget, or less if the host refused */
	u32 max_maps;		/* the mapping cap, or less if the host refused */
	u64 lost;		/* extents forgotten after a refused UNMAP */
	struct delayed_work flush;
	u64 last_gpa, last_iova;	/* for debugfs: an example */
};

struct mvf_pool_chunk {
	void *vaddr;
	struct page *pages;
	unsigned int order;
	u64 gpa, iova, size;
	/* per bounce page: the original address of its byte 0 (0: coherent) */
	phys_addr_t *orig;
	u32 *npages;		/* at a slot's first page: its length in pages */
};

#define MVF_POOL_MAX_CHUNKS 64

/* Pool state (mvf_pool.c). */
struct mvf_pool {
	struct gen_pool *gp;	/* "phys" of each chunk is its IOVA */
	struct mvf_pool_chunk chunk[MVF_POOL_MAX_CHUNKS];
	u32 nchunks;
	u64 size;
};

struct mvf_gp {
	struct pci_dev *pdev;		/* the companion */
	void __iomem *regs;
	struct pci_dev *managed;	/* reference held */
	u32 strategy;			/* in force (MVF_GP_STRATEGY_*) */
	u32 host_strategy;		/* what QEMU chose */
	u32 features;
	u64 granule;
	u64 aperture_base, aperture_size;
	u64 budget;			/* bytes the rings may map at once */
	u32 max_mappings;		/* ring mappings allowed at once */

	/* window */
	u32 nwin;
	struct mvf_gp_window win[MVF_GP_MAX_WINDOWS];
	struct bus_dma_region *map;	/* nwin + 1 entries, the template */
	/*
	 * The copy installed in the managed device.  The driver core frees
	 * dev->dma_range_map when a driver unbinds or fails to probe, so
	 * each install is a fresh copy, forgotten (not freed) on those
	 * events; only compared, never dereferenced.
	 */
	const struct bus_dma_region *cur;

	/* pool and on-demand: the strategy's static dma_map_ops; a callback
	 * finds this mvf_gp with mvf_from_dev() */
	const struct dma_map_ops *ops;
	struct mvf_ring *rings;
	u32 nrings;
	u32 ring_max;			/* entries per doorbell */
	struct mvf_od od;
	struct mvf_pool pool;

	struct mvf_counters cnt;
	u64 installs;
	u64 rebinds;
	u64 attaches;
	struct dentry *dbg;
	struct list_head node;		/* mvf_devices, RCU for the DMA paths */
};

/* Module parameters (mvf_main.c). */
extern unsigned int mvf_pool_mb;
extern unsigned int mvf_lazy_unmap_ms;
extern unsigned int mvf_idle_max;
extern unsigned int mvf_map_chunk_kb;

struct mvf_gp *mvf_from_dev(struct device *dev);

static inline u16 mvf_dir_flags(enum dma_data_direction dir)
{
	switch (dir) {
	case DMA_TO_DEVICE:
		return MVF_GP_F_READ;
	case DMA_FROM_DEVICE:
		return MVF_GP_F_WRITE;
	default:
		return MVF_GP_F_READ | MVF_GP_F_WRITE;
	}
}

/*
 * dma_map_ops.map_page in terms of a map_phys function; kernels whose ops
 * have map_phys (MVF_HAVE_MAP_PHYS) take the latter directly.
 */
#ifdef MVF_HAVE_MAP_PHYS
#define MVF_DEFINE_MAP_PAGE(name, map_phys)
#else
#define MVF_DEFINE_MAP_PAGE(name, map_phys)				\
static dma_addr_t name(struct device *dev, struct page *page,		\
		       unsigned long offset, size_t size,		\
		       enum dma_data_direction dir, unsigned long attrs)	\
{									\
	return map_phys(dev, page_to_phys(page) + offset, size, dir,	\
			attrs);						\
}
#endif

u64 mvf_read64(struct mvf_gp *gp, u32 off);
bool mvf_iova_ok(struct mvf_gp *gp, u64 iova, u64 len);
bool mvf_ranges_overlap(u64 a, u64 alen, u64 b, u64 blen);
void mvf_companion_reset(struct mvf_gp *gp);

/* mvf_coherent.c */
int mvf_coherent_mmap(struct vm_area_struct *vma, void *cpu_addr, size_t size);
int mvf_coherent_sgtable(struct sg_table *sgt, void *cpu_addr, size_t size);

/* mvf_window.c */
int mvf_window_init(struct mvf_gp *gp);
void mvf_window_fini(struct mvf_gp *gp);

/* mvf_ring.c */
int mvf_rings_init(struct mvf_gp *gp);
void mvf_rings_fini(struct mvf_gp *gp);
int mvf_ring_submit(struct mvf_gp *gp, struct mvf_req *req, u32 n);
u64 mvf_rings_irqoff_max_ns(struct mvf_gp *gp);

/* mvf_ondemand.c */
extern const struct dma_map_ops mvf_od_ops;
int mvf_ondemand_init(struct mvf_gp *gp);
void mvf_ondemand_fini(struct mvf_gp *gp);
void mvf_ondemand_show(struct mvf_gp *gp, struct seq_file *s);

/* mvf_pool.c */
extern const struct dma_map_ops mvf_pool_ops;
int mvf_pool_init(struct mvf_gp *gp);
void mvf_pool_fini(struct mvf_gp *gp);
void mvf_pool_show(struct mvf_gp *gp, struct seq_file *s);

#endif
