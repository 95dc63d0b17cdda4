// SPDX-License-Identifier: GPL-2.0
/*
 * dma_mmap_coherent() and dma_get_sgtable() for the pool and on-demand
 * strategies.  Both allocate coherent memory as physically contiguous
 * pages of the kernel's linear map (a pool slot, or alloc_pages), so a
 * buffer is one run of pages: the user mapping is one remap_pfn_range and
 * the table one entry.  Devices behind the companion are cache coherent
 * (x86, and arm64 "virt" PCIe), so the pages keep the caller's protection
 * as they keep their kernel one.  The callers check that @cpu_addr and
 * @size are one of their allocations before calling.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/scatterlist.h>

#include "mvf.h"

int mvf_coherent_mmap(struct vm_area_struct *vma, void *cpu_addr, size_t size)
{
	unsigned long count = PAGE_ALIGN(size) >> PAGE_SHIFT;
	unsigned long want = vma_pages(vma);

	if (!virt_addr_valid(cpu_addr))
		return -ENXIO;
	if (vma->vm_pgoff >= count || want > count - vma->vm_pgoff)
		return -ENXIO;
	return remap_pfn_range(vma, vma->vm_start,
			       page_to_pfn(virt_to_page(cpu_addr)) + vma->vm_pgoff,
			       want << PAGE_SHIFT, vma->vm_page_prot);
}

int mvf_coherent_sgtable(struct sg_table *sgt, void *cpu_addr, size_t size)
{
	int ret;

	if (!virt_addr_valid(cpu_addr) || PAGE_ALIGN(size) > UINT_MAX)
		return -ENXIO;
	ret = sg_alloc_table(sgt, 1, GFP_KERNEL);
	if (ret)
		return ret;
	sg_set_page(sgt->sgl, virt_to_page(cpu_addr), PAGE_ALIGN(size), 0);
	return 0;
}
