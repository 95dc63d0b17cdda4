// SPDX-License-Identifier: GPL-2.0
/*
 * Window strategy: the host mapped all of guest RAM once; the window table
 * gives, per RAM block, the IOVA of its first byte (docs/guest-protocol.md
 * §5).  The table becomes the managed function's dma_range_map, so the
 * kernel's own dma-direct translates every mapping (swiotlb and coherent
 * allocations included) with no exit per I/O.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-direct.h>
#include <linux/io.h>
#include <linux/slab.h>

#include "mvf.h"

/* Reads and checks the table; returns the IOVA width in bits. */
int mvf_window_init(struct mvf_gp *gp)
{
	struct device *d = &gp->pdev->dev;
	u64 max_iova = 0;
	u32 i, j;

	gp->nwin = ioread32(gp->regs + MVF_GP_REG_WINDOW_COUNT);
	if (gp->nwin == 0 || gp->nwin > MVF_GP_MAX_WINDOWS) {
		dev_err(d, "window strategy with %u windows (1..%u expected)\n",
			gp->nwin, MVF_GP_MAX_WINDOWS);
		return -EINVAL;
	}
	gp->map = kcalloc(gp->nwin + 1, sizeof(*gp->map), GFP_KERNEL);
	if (!gp->map)
		return -ENOMEM;
	for (i = 0; i < gp->nwin; i++) {
		struct mvf_gp_window *w = &gp->win[i];

		w->gpa = mvf_read64(gp, MVF_GP_WIN_REG(i, MVF_GP_WIN_GPA_LO));
		w->size = mvf_read64(gp, MVF_GP_WIN_REG(i, MVF_GP_WIN_SIZE_LO));
		w->iova = mvf_read64(gp, MVF_GP_WIN_REG(i, MVF_GP_WIN_IOVA_LO));
		w->flags = ioread32(gp->regs + MVF_GP_WIN_REG(i, MVF_GP_WIN_FLAGS));
		if (!w->size || w->gpa + w->size < w->gpa ||
		    w->gpa & (gp->granule - 1) ||
		    !mvf_iova_ok(gp, w->iova, w->size)) {
			dev_err(d, "window %u: bad entry gpa 0x%llx size 0x%llx iova 0x%llx (unaligned, wrapping or outside the aperture)\n",
				i, w->gpa, w->size, w->iova);
			mvf_window_fini(gp);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			struct mvf_gp_window *o = &gp->win[j];

			if (!mvf_ranges_overlap(w->iova, w->size, o->iova,
						o->size) &&
			    !mvf_ranges_overlap(w->gpa, w->size, o->gpa,
						o->size))
				continue;
			dev_err(d, "windows %u and %u overlap (iova 0x%llx and 0x%llx, gpa 0x%llx and 0x%llx)\n",
				j, i, o->iova, w->iova, o->gpa, w->gpa);
			mvf_window_fini(gp);
			return -EINVAL;
		}
		gp->map[i].cpu_start = w->gpa;
		gp->map[i].dma_start = w->iova;
		gp->map[i].size = w->size;
#ifdef MVF_BUS_DMA_REGION_HAS_OFFSET
		/* dma-direct: dma = phys - offset, phys = dma + offset */
		gp->map[i].offset = w->gpa - w->iova;
#endif
		max_iova = max(max_iova, w->iova + w->size - 1);
		dev_info(d, "window %u: gpa 0x%llx size 0x%llx -> iova 0x%llx\n",
			 i, w->gpa, w->size, w->iova);
	}
	/* gp->map[nwin] is zeroed: the terminator */
	return fls64(max_iova);
}

void mvf_window_fini(struct mvf_gp *gp)
{
	kfree(gp->map);
	gp->map = NULL;
}
