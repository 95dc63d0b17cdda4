// SPDX-License-Identifier: GPL-2.0
/*
 * mvf_dmacheck: a test-only driver for sim:dmatest (include/macvfio/dmatest.h)
 * that exercises the DMA API on a device the macvfio guest module manages,
 * whatever its strategy.  Every check has the device move the data: it
 * copies between the memory at an IOVA and its BAR2 window, and the module
 * compares both sides.  One debugfs file per check, in
 * /sys/kernel/debug/mvf_dmacheck/; writing anything runs it, and the write
 * fails (-EIO) if the check did, with the reason in the kernel log:
 *
 *   coherent   dma_alloc_coherent of 4 KiB, 8 KiB, ... up to 64 MiB, each
 *              allocation filled and copied both ways in window-sized
 *              pieces; the largest that could be allocated is logged and
 *              must be at least coherent_min_kb (sizes beyond it may fail,
 *              cleanly)
 *   sgtable    dma_get_sgtable of a coherent buffer: the table must name the
 *              buffer's pages; the table mapped again with dma_map_sgtable
 *              (as a dma-buf importer does), the device writes through it
 *              and the CPU sees the data in the buffer
 *   sg128      dma_map_sg of 128 separate pages, both directions
 *   atomic     a timer on every online CPU maps, DMAs and unmaps single
 *              buffers from softirq context, all CPUs at once
 *   mmap       a coherent buffer of MMAP_SIZE bytes that user space maps
 *              with mmap() (dma_mmap_coherent); writing "todev SEED" has the
 *              device read the buffer and compare it with pattern SEED,
 *              "fromdev SEED" has the device fill it with pattern SEED for
 *              user space to check (helpers/dmamap.c)
 */
#include <linux/cpu.h>
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/timer.h>
#include <linux/vmalloc.h>

#include <macvfio/dmatest.h>

#define MMAP_SIZE	(256 * 1024)
#define SG_SEGS		128
#define ATOMIC_ITERS	40
#define ATOMIC_LEN	8192
#define COHERENT_MAX	(64u << 20)

static unsigned int coherent_min_kb = 4096;
module_param(coherent_min_kb, uint, 0644);
MODULE_PARM_DESC(coherent_min_kb, "the largest coherent allocation must be at least this");

struct dmac {
	struct pci_dev *pdev;
	void __iomem *regs;
	void __iomem *win;
	u64 win_size;
	u32 xfer_max;			/* min(window, MAX_LEN) */
	spinlock_t lock;		/* the device's DMA registers */
	struct dentry *dir;
	struct mutex run;		/* one check at a time */
	void *mbuf;			/* the mmap buffer */
	dma_addr_t mdma;
	void *scratch;			/* xfer_max bytes */
};

static struct dmac *g_dc;

/* The byte at @i of pattern @seed: differs between neighbours and seeds. */
static u8 pat(u32 seed, u64 i)
{
	return (u8)(i * 131 + seed * 29 + (i >> 9) + 1);
}

static void pat_fill(u8 *p, size_t len, u32 seed, u64 base)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pat(seed, base + i);
}

/* The first index where @p differs from the pattern, or -1. */
static long pat_check(const u8 *p, size_t len, u32 seed, u64 base)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != pat(seed, base + i))
			return i;
	return -1;
}

/*
 * One device copy of @len bytes between @iova and window offset @off.
 * STATUS is read back to learn the result, so this does not depend on
 * the doorbell write waiting for the device.  Any context.
 */
static int dmac_xfer(struct dmac *dc, dma_addr_t iova, u32 off, u32 len,
		     u32 dir)
{
	unsigned long flags;
	u32 st = 0, code = 0;
	u64 fault = 0;
	int i;

	spin_lock_irqsave(&dc->lock, flags);
	iowrite32(lower_32_bits(iova), dc->regs + MVF_DMATEST_REG_DMA_IOVA_LO);
	iowrite32(upper_32_bits(iova), dc->regs + MVF_DMATEST_REG_DMA_IOVA_HI);
	iowrite32(off, dc->regs + MVF_DMATEST_REG_DMA_OFFSET);
	iowrite32(len, dc->regs + MVF_DMATEST_REG_DMA_LEN);
	iowrite32(dir, dc->regs + MVF_DMATEST_REG_DMA_DIR);
	iowrite32(0, dc->regs + MVF_DMATEST_REG_DMA_VECTOR);
	iowrite32(MVF_DMATEST_DOORBELL_GO, dc->regs + MVF_DMATEST_REG_DOORBELL);
	for (i = 0; i < 1000000; i++) {
		st = ioread32(dc->regs + MVF_DMATEST_REG_STATUS);
		if (st & (MVF_DMATEST_STATUS_DONE | MVF_DMATEST_STATUS_FAULT |
			  MVF_DMATEST_STATUS_ERROR))
			break;
		cpu_relax();
	}
	if (!(st & MVF_DMATEST_STATUS_DONE)) {
		code = ioread32(dc->regs + MVF_DMATEST_REG_ERROR_CODE);
		fault = ioread32(dc->regs + MVF_DMATEST_REG_FAULT_IOVA_LO) |
			(u64)ioread32(dc->regs + MVF_DMATEST_REG_FAULT_IOVA_HI) << 32;
	}
	spin_unlock_irqrestore(&dc->lock, flags);
	if (st & MVF_DMATEST_STATUS_DONE)
		return 0;
	dev_err_ratelimited(&dc->pdev->dev,
		"dma %s iova 0x%llx off 0x%x len 0x%x: status 0x%x error %u fault iova 0x%llx\n",
		dir == MVF_DMATEST_DIR_TO_DEVICE ? "to device" : "from device",
		(u64)iova, off, len, st, code, fault);
	return -EIO;
}

/* The device reads [iova, +len) into the window; it must be pattern @seed
 * from @base.  Process context (the window is compared through scratch). */
static int dmac_check_todev(struct dmac *dc, dma_addr_t iova, u32 len,
			    u32 seed, u64 base, const char *what)
{
	long bad;

	if (dmac_xfer(dc, iova, 0, len, MVF_DMATEST_DIR_TO_DEVICE))
		return -EIO;
	memcpy_fromio(dc->scratch, dc->win, len);
	bad = pat_check(dc->scratch, len, seed, base);
	if (bad < 0)
		return 0;
	dev_err(&dc->pdev->dev, "%s: the device read 0x%02x at byte %ld (+0x%llx), expected 0x%02x\n",
		what, ((u8 *)dc->scratch)[bad], bad, base, pat(seed, base + bad));
	return -EIO;
}

/* The window gets pattern @seed from @base, the device writes it to iova. */
static int dmac_fromdev(struct dmac *dc, dma_addr_t iova, u32 len, u32 seed,
			u64 base)
{
	pat_fill(dc->scratch, len, seed, base);
	memcpy_toio(dc->win, dc->scratch, len);
	return dmac_xfer(dc, iova, 0, len, MVF_DMATEST_DIR_FROM_DEVICE);
}

static int dmac_report(struct dmac *dc, const u8 *p, size_t len, u32 seed,
		       u64 base, const char *what)
{
	long bad = pat_check(p, len, seed, base);

	if (bad < 0)
		return 0;
	dev_err(&dc->pdev->dev, "%s: the CPU sees 0x%02x at byte %ld (+0x%llx), expected 0x%02x\n",
		what, p[bad], bad, base, pat(seed, base + bad));
	return -EIO;
}

/* Both directions over a coherent buffer, in window-sized pieces. */
static int dmac_coherent_both(struct dmac *dc, u8 *buf, dma_addr_t dma,
			      size_t size, u32 seed, const char *what)
{
	size_t off, n;

	pat_fill(buf, size, seed, 0);
	for (off = 0; off < size; off += n) {
		n = min_t(size_t, size - off, dc->xfer_max);
		if (dmac_check_todev(dc, dma + off, n, seed, off, what))
			return -EIO;
	}
	for (off = 0; off < size; off += n) {
		n = min_t(size_t, size - off, dc->xfer_max);
		if (dmac_fromdev(dc, dma + off, n, seed + 1, off))
			return -EIO;
	}
	return dmac_report(dc, buf, size, seed + 1, 0, what);
}

/* ---- coherent: 4 KiB .. 64 MiB ----------------------------------------- */

static int dmac_coherent(struct dmac *dc)
{
	struct device *dev = &dc->pdev->dev;
	size_t size, largest = 0;
	dma_addr_t dma;
	void *buf;
	int ret = 0;

	for (size = SZ_4K; size <= COHERENT_MAX; size <<= 1) {
		buf = dma_alloc_coherent(dev, size, &dma, GFP_KERNEL | __GFP_NOWARN);
		if (!buf) {
			dev_info(dev, "coherent: %zu KiB: not allocated\n", size >> 10);
			continue;
		}
		ret = dmac_coherent_both(dc, buf, dma, size, size >> 12,
					 "coherent");
		dma_free_coherent(dev, size, buf, dma);
		if (ret) {
			dev_err(dev, "coherent: %zu KiB at 0x%llx: data wrong\n",
				size >> 10, (u64)dma);
			return ret;
		}
		largest = size;
	}
	dev_info(dev, "coherent: largest allocation %zu KiB (of %u KiB tried)\n",
		 largest >> 10, COHERENT_MAX >> 10);
	if (largest < (size_t)coherent_min_kb << 10) {
		dev_err(dev, "coherent: largest allocation %zu KiB, below %u KiB\n",
			largest >> 10, coherent_min_kb);
		return -EIO;
	}
	return 0;
}

/* ---- sgtable ------------------------------------------------------------ */

static int dmac_sgtable(struct dmac *dc)
{
	struct device *dev = &dc->pdev->dev;
	size_t size = 128 * 1024, seen = 0;
	struct scatterlist *sg;
	struct sg_table sgt;
	dma_addr_t dma;
	u8 *buf;
	int ret, i;

	buf = dma_alloc_coherent(dev, size, &dma, GFP_KERNEL);
	if (!buf) {
		dev_err(dev, "sgtable: no coherent buffer\n");
		return -ENOMEM;
	}
	ret = dma_get_sgtable(dev, &sgt, buf, dma, size);
	if (ret) {
		dev_err(dev, "sgtable: dma_get_sgtable: %d\n", ret);
		goto out_free;
	}
	for_each_sgtable_sg(&sgt, sg, i) {
		if (page_address(sg_page(sg)) + sg->offset != buf + seen) {
			dev_err(dev, "sgtable: entry %d is not the buffer's memory at +0x%zx\n",
				i, seen);
			ret = -EIO;
			goto out_table;
		}
		seen += sg->length;
	}
	if (seen < size) {
		dev_err(dev, "sgtable: the table covers %zu of %zu bytes\n", seen,
			size);
		ret = -EIO;
		goto out_table;
	}
	ret = dma_map_sgtable(dev, &sgt, DMA_BIDIRECTIONAL, 0);
	if (ret) {
		dev_err(dev, "sgtable: dma_map_sgtable: %d\n", ret);
		goto out_table;
	}
	/* the device writes through the importer's mapping ... */
	seen = 0;
	for_each_sgtable_dma_sg(&sgt, sg, i) {
		size_t off, n;

		for (off = 0; off < sg_dma_len(sg) && !ret; off += n) {
			n = min_t(size_t, sg_dma_len(sg) - off, dc->xfer_max);
			ret = dmac_fromdev(dc, sg_dma_address(sg) + off, n, 7,
					   seen + off);
		}
		seen += sg_dma_len(sg);
	}
	dma_unmap_sgtable(dev, &sgt, DMA_BIDIRECTIONAL, 0);
	/* ... and the CPU sees it in the coherent buffer */
	if (!ret)
		ret = dmac_report(dc, buf, size, 7, 0, "sgtable");
out_table:
	sg_free_table(&sgt);
out_free:
	dma_free_coherent(dev, size, buf, dma);
	return ret;
}

/* ---- sg128: 128 separate pages ---------------------------------------- */

static int dmac_sg128(struct dmac *dc)
{
	struct device *dev = &dc->pdev->dev;
	struct scatterlist *sgl, *sg;
	struct page **pages;
	u64 pos = 0;
	int i, n, ret = -ENOMEM;

	pages = kcalloc(SG_SEGS, sizeof(*pages), GFP_KERNEL);
	sgl = kcalloc(SG_SEGS, sizeof(*sgl), GFP_KERNEL);
	if (!pages || !sgl)
		goto out;
	sg_init_table(sgl, SG_SEGS);
	for (i = 0; i < SG_SEGS; i++) {
		/* every other page skipped, so that neighbours are not adjacent */
		pages[i] = alloc_pages(GFP_KERNEL, 1);
		if (!pages[i])
			goto out;
		pat_fill(page_address(pages[i]), PAGE_SIZE, 3, (u64)i * PAGE_SIZE);
		sg_set_page(&sgl[i], pages[i], PAGE_SIZE, 0);
	}
	n = dma_map_sg(dev, sgl, SG_SEGS, DMA_BIDIRECTIONAL);
	if (n <= 0) {
		dev_err(dev, "sg128: dma_map_sg of %d segments: %d\n", SG_SEGS, n);
		ret = -EIO;
		goto out;
	}
	ret = 0;
	for_each_sg(sgl, sg, n, i) {
		if (sg_dma_len(sg) > dc->xfer_max) {
			dev_err(dev, "sg128: segment %d of %u bytes\n", i,
				sg_dma_len(sg));
			ret = -EIO;
			break;
		}
		ret = dmac_check_todev(dc, sg_dma_address(sg), sg_dma_len(sg), 3,
				       pos, "sg128 to device");
		if (ret)
			break;
		ret = dmac_fromdev(dc, sg_dma_address(sg), sg_dma_len(sg), 4,
				   pos);
		if (ret)
			break;
		pos += sg_dma_len(sg);
	}
	dma_unmap_sg(dev, sgl, SG_SEGS, DMA_BIDIRECTIONAL);
	for (i = 0; i < SG_SEGS && !ret; i++)
		ret = dmac_report(dc, page_address(pages[i]), PAGE_SIZE, 4,
				  (u64)i * PAGE_SIZE, "sg128 from device");
	if (!ret)
		dev_info(dev, "sg128: %d segments mapped as %d\n", SG_SEGS, n);
out:
	for (i = 0; pages && i < SG_SEGS; i++)
		if (pages[i])
			__free_pages(pages[i], 1);
	kfree(pages);
	kfree(sgl);
	return ret;
}

/* ---- atomic: timers on every CPU --------------------------------------- */

struct dmac_cpu {
	struct timer_list timer;
	struct dmac *dc;
	u8 *buf;
	int cpu, left, errors, not_atomic;
	struct completion done;
};

/* Map, DMA, unmap, both directions, in the timer's softirq. */
static int dmac_atomic_one(struct dmac_cpu *c)
{
	struct dmac *dc = c->dc;
	struct device *dev = &dc->pdev->dev;
	u32 off = c->cpu * ATOMIC_LEN, seed = c->cpu * 64 + c->left;
	dma_addr_t dma;
	int ret;

	if (!in_serving_softirq() || preemptible())
		c->not_atomic++;
	pat_fill(c->buf, ATOMIC_LEN, seed, 0);
	dma = dma_map_single(dev, c->buf, ATOMIC_LEN, DMA_TO_DEVICE);
	if (dma_mapping_error(dev, dma))
		return -ENOMEM;
	ret = dmac_xfer(dc, dma, off, ATOMIC_LEN, MVF_DMATEST_DIR_TO_DEVICE);
	dma_unmap_single(dev, dma, ATOMIC_LEN, DMA_TO_DEVICE);
	if (ret)
		return ret;
	/* the device copies its window slot back: the same pattern */
	memset(c->buf, 0, ATOMIC_LEN);
	dma = dma_map_single(dev, c->buf, ATOMIC_LEN, DMA_FROM_DEVICE);
	if (dma_mapping_error(dev, dma))
		return -ENOMEM;
	ret = dmac_xfer(dc, dma, off, ATOMIC_LEN, MVF_DMATEST_DIR_FROM_DEVICE);
	dma_unmap_single(dev, dma, ATOMIC_LEN, DMA_FROM_DEVICE);
	if (ret)
		return ret;
	return pat_check(c->buf, ATOMIC_LEN, seed, 0) < 0 ? 0 : -EIO;
}

static void dmac_atomic_timer(struct timer_list *t)
{
	struct dmac_cpu *c = from_timer(c, t, timer);

	if (dmac_atomic_one(c))
		c->errors++;
	if (--c->left > 0)
		mod_timer(&c->timer, jiffies + 1);
	else
		complete(&c->done);
}

static int dmac_atomic(struct dmac *dc)
{
	struct device *dev = &dc->pdev->dev;
	int n = num_online_cpus(), cpus = n, cpu, i = 0, errors = 0, bad = 0;
	struct dmac_cpu *c;
	int ret = 0;

	if ((u64)cpus * ATOMIC_LEN > dc->win_size) {
		dev_err(dev, "atomic: window too small for %d CPUs\n", cpus);
		return -EINVAL;
	}
	c = kcalloc(n, sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		if (i == n)
			break;
		c[i].dc = dc;
		c[i].cpu = i;
		c[i].left = ATOMIC_ITERS;
		c[i].buf = kmalloc(ATOMIC_LEN, GFP_KERNEL);
		init_completion(&c[i].done);
		timer_setup(&c[i].timer, dmac_atomic_timer, 0);
		if (!c[i].buf) {
			ret = -ENOMEM;
			break;
		}
		c[i].timer.expires = jiffies + 2;
		add_timer_on(&c[i].timer, cpu);
		i++;
	}
	cpus_read_unlock();
	cpus = i;
	for (i = 0; i < cpus; i++) {
		if (!wait_for_completion_timeout(&c[i].done, 120 * HZ)) {
			dev_err(dev, "atomic: CPU slot %d did not finish\n", i);
			ret = -ETIMEDOUT;
		}
		del_timer_sync(&c[i].timer);
		errors += c[i].errors;
		bad += c[i].not_atomic;
	}
	for (i = 0; i < n; i++)
		kfree(c[i].buf);
	kfree(c);
	dev_info(dev, "atomic: %d CPUs x %d map/DMA/unmap rounds from timers: %d failed, %d not in atomic context\n",
		 cpus, ATOMIC_ITERS, errors, bad);
	if (errors || bad)
		ret = -EIO;
	return ret;
}

/* ---- mmap: dma_mmap_coherent ------------------------------------------- */

static int dmac_mmap_mmap(struct file *f, struct vm_area_struct *vma)
{
	struct dmac *dc = f->private_data;

	return dma_mmap_coherent(&dc->pdev->dev, vma, dc->mbuf, dc->mdma,
				 MMAP_SIZE);
}

static ssize_t dmac_mmap_write(struct file *f, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	struct dmac *dc = f->private_data;
	char cmd[32], op[16];
	size_t off, n;
	u32 seed;
	int ret = 0;

	if (len >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, len))
		return -EFAULT;
	cmd[len] = 0;
	if (sscanf(cmd, "%15s %u", op, &seed) != 2)
		return -EINVAL;
	mutex_lock(&dc->run);
	for (off = 0; off < MMAP_SIZE && !ret; off += n) {
		n = min_t(size_t, MMAP_SIZE - off, dc->xfer_max);
		if (!strcmp(op, "todev"))
			ret = dmac_check_todev(dc, dc->mdma + off, n, seed, off,
					       "mmap");
		else if (!strcmp(op, "fromdev"))
			ret = dmac_fromdev(dc, dc->mdma + off, n, seed, off);
		else
			ret = -EINVAL;
	}
	mutex_unlock(&dc->run);
	return ret ? ret : len;
}

static const struct file_operations dmac_mmap_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.mmap = dmac_mmap_mmap,
	.write = dmac_mmap_write,
};

/* ---- the check files ----------------------------------------------------- */

static const struct {
	const char *name;
	int (*run)(struct dmac *dc);
} dmac_checks[] = {
	{ "coherent", dmac_coherent },
	{ "sgtable", dmac_sgtable },
	{ "sg128", dmac_sg128 },
	{ "atomic", dmac_atomic },
};

static ssize_t dmac_check_write(struct file *f, const char __user *ubuf,
				size_t len, loff_t *ppos)
{
	struct dmac *dc = g_dc;
	uintptr_t i = (uintptr_t)f->private_data;
	int ret;

	if (!dc || i >= ARRAY_SIZE(dmac_checks))
		return -ENODEV;
	mutex_lock(&dc->run);
	ret = dmac_checks[i].run(dc);
	mutex_unlock(&dc->run);
	dev_info(&dc->pdev->dev, "check %s: %s (%d)\n", dmac_checks[i].name,
		 ret ? "FAIL" : "PASS", ret);
	return ret ? -EIO : len;
}

static const struct file_operations dmac_check_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = dmac_check_write,
};

static int dmac_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct dmac *dc;
	uintptr_t i;
	int ret;

	if (g_dc)
		return -EBUSY;	/* one device: the check files are global */
	dc = devm_kzalloc(dev, sizeof(*dc), GFP_KERNEL);
	if (!dc)
		return -ENOMEM;
	dc->pdev = pdev;
	spin_lock_init(&dc->lock);
	mutex_init(&dc->run);
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	dc->regs = pcim_iomap(pdev, MVF_DMATEST_REG_BAR, 0);
	dc->win = pcim_iomap(pdev, MVF_DMATEST_WIN_BAR, 0);
	if (!dc->regs || !dc->win)
		return -ENOMEM;
	if (ioread32(dc->regs + MVF_DMATEST_REG_ID) != MVF_DMATEST_ID_VALUE)
		return -ENODEV;
	dc->win_size = pci_resource_len(pdev, MVF_DMATEST_WIN_BAR);
	dc->xfer_max = min_t(u64, dc->win_size,
			     ioread32(dc->regs + MVF_DMATEST_REG_MAX_LEN));
	if (dc->xfer_max < PAGE_SIZE)
		return -ENODEV;
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	pci_set_master(pdev);
	dc->scratch = devm_kmalloc(dev, dc->xfer_max, GFP_KERNEL);
	if (!dc->scratch)
		return -ENOMEM;
	dc->mbuf = dma_alloc_coherent(dev, MMAP_SIZE, &dc->mdma, GFP_KERNEL);
	if (!dc->mbuf)
		return -ENOMEM;
	dc->dir = debugfs_create_dir("mvf_dmacheck", NULL);
	for (i = 0; i < ARRAY_SIZE(dmac_checks); i++)
		debugfs_create_file(dmac_checks[i].name, 0200, dc->dir,
				    (void *)i, &dmac_check_fops);
	/* not the full proxy, which has no .mmap; removed only with the device */
	debugfs_create_file_unsafe("mmap", 0600, dc->dir, dc, &dmac_mmap_fops);
	pci_set_drvdata(pdev, dc);
	g_dc = dc;
	dev_info(dev, "window %llu KiB, transfers up to %u KiB, mmap buffer at 0x%llx\n",
		 dc->win_size >> 10, dc->xfer_max >> 10, (u64)dc->mdma);
	return 0;
}

static void dmac_remove(struct pci_dev *pdev)
{
	struct dmac *dc = pci_get_drvdata(pdev);

	debugfs_remove_recursive(dc->dir);
	g_dc = NULL;
	dma_free_coherent(&pdev->dev, MMAP_SIZE, dc->mbuf, dc->mdma);
	pci_clear_master(pdev);
}

static const struct pci_device_id dmac_ids[] = {
	{ PCI_DEVICE(MVF_DMATEST_VENDOR_ID, MVF_DMATEST_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, dmac_ids);

static struct pci_driver dmac_driver = {
	.name = "mvf_dmacheck",
	.id_table = dmac_ids,
	.probe = dmac_probe,
	.remove = dmac_remove,
};
module_pci_driver(dmac_driver);

MODULE_DESCRIPTION("test-only: the DMA API through the macvfio guest module on sim:dmatest");
MODULE_LICENSE("GPL");
