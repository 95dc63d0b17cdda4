// SPDX-License-Identifier: GPL-2.0
/*
 * macvfio guest module: DMA address translation for a PCI function passed
 * through by QEMU's vfio-apple-pci, driven by its companion apple-dma-pci
 * (1b36:00e1).
 *
 * The companion tells which function it manages (PCI_ADDR) and how DMA
 * addresses are obtained (STRATEGY).  With the window strategy the host
 * mapped all of guest RAM once; the window table gives, per range of guest
 * RAM, the IOVA the device must use.  This module turns the table into a
 * dev->dma_range_map on the managed function, so that the kernel's own
 * dma-direct translates every mapping with no exit per I/O.
 *
 * The managed function's driver may bind before or after this module.  If
 * one is bound at probe time it is unbound, the map installed, and the
 * device attached again so that the driver allocates its DMA memory with
 * the translation.  A bus notifier installs the map before any later bind.
 *
 * Pool and on-demand strategies are not implemented: probe refuses them.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include <macvfio/guest_proto.h>

#define MVF_DRV_NAME "macvfio"

struct mvf_gp {
	struct pci_dev *pdev;		/* the companion */
	void __iomem *regs;
	struct pci_dev *managed;	/* reference held */
	u32 strategy;
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
	u64 installs;
	u64 rebinds;
	u64 attaches;
	struct dentry *dbg;
	struct list_head node;
};

static LIST_HEAD(mvf_devices);
static DEFINE_MUTEX(mvf_lock);
static struct dentry *mvf_dbg_root;

static const char *mvf_strategy_name(u32 s)
{
	switch (s) {
	case MVF_GP_STRATEGY_NONE:
		return "none";
	case MVF_GP_STRATEGY_WINDOW:
		return "window";
	case MVF_GP_STRATEGY_POOL:
		return "pool";
	case MVF_GP_STRATEGY_ONDEMAND:
		return "ondemand";
	}
	return "unknown";
}

static u64 mvf_read64(struct mvf_gp *gp, u32 off)
{
	u64 lo = ioread32(gp->regs + off);
	u64 hi = ioread32(gp->regs + off + 4);

	return lo | hi << 32;
}

/* Caller holds mvf_lock. */
static int mvf_install(struct mvf_gp *gp)
{
	struct device *dev = &gp->managed->dev;
	struct bus_dma_region *copy;

	if (gp->cur && dev->dma_range_map == gp->cur)
		return 0;
	if (dev->dma_range_map)
		dev_warn(&gp->pdev->dev, "%s: replacing a DMA range map not ours\n",
			 pci_name(gp->managed));
	copy = kmemdup(gp->map, (gp->nwin + 1) * sizeof(*gp->map), GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	dev->dma_range_map = copy;
	gp->cur = copy;
	gp->installs++;
	return 0;
}

static int mvf_bus_notify(struct notifier_block *nb, unsigned long action,
			  void *data)
{
	struct device *dev = data;
	struct mvf_gp *gp;

	switch (action) {
	case BUS_NOTIFY_ADD_DEVICE:
	case BUS_NOTIFY_BIND_DRIVER:
	case BUS_NOTIFY_UNBOUND_DRIVER:
	case BUS_NOTIFY_DRIVER_NOT_BOUND:
		break;
	default:
		return NOTIFY_DONE;
	}
	mutex_lock(&mvf_lock);
	list_for_each_entry(gp, &mvf_devices, node) {
		if (&gp->managed->dev != dev)
			continue;
		if (action == BUS_NOTIFY_UNBOUND_DRIVER ||
		    action == BUS_NOTIFY_DRIVER_NOT_BOUND)
			gp->cur = NULL;	/* freed by the driver core */
		else if (mvf_install(gp))
			dev_err(&gp->pdev->dev, "%s: cannot install the DMA windows\n",
				pci_name(gp->managed));
		break;
	}
	mutex_unlock(&mvf_lock);
	return NOTIFY_OK;
}

static struct notifier_block mvf_nb = {
	.notifier_call = mvf_bus_notify,
};

static int mvf_windows_show(struct seq_file *s, void *unused)
{
	struct mvf_gp *gp = s->private;
	u32 i;

	for (i = 0; i < gp->nwin; i++)
		seq_printf(s, "%u gpa 0x%llx size 0x%llx iova 0x%llx flags 0x%x\n",
			   i, gp->win[i].gpa, gp->win[i].size, gp->win[i].iova,
			   gp->win[i].flags);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mvf_windows);

static int mvf_strategy_show(struct seq_file *s, void *unused)
{
	struct mvf_gp *gp = s->private;

	seq_printf(s, "%s\n", mvf_strategy_name(gp->strategy));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mvf_strategy);

static int mvf_state_show(struct seq_file *s, void *unused)
{
	struct mvf_gp *gp = s->private;
	struct device *dev = &gp->managed->dev;

	seq_printf(s, "installed: %d\n",
		   gp->cur && READ_ONCE(dev->dma_range_map) == gp->cur);
	seq_printf(s, "driver: %s\n", dev->driver ? dev->driver->name : "-");
	seq_printf(s, "companion: %s\n", pci_name(gp->pdev));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mvf_state);

static void mvf_debugfs_add(struct mvf_gp *gp)
{
	gp->dbg = debugfs_create_dir(pci_name(gp->managed), mvf_dbg_root);
	debugfs_create_file("strategy", 0444, gp->dbg, gp, &mvf_strategy_fops);
	debugfs_create_file("windows", 0444, gp->dbg, gp, &mvf_windows_fops);
	debugfs_create_file("state", 0444, gp->dbg, gp, &mvf_state_fops);
	debugfs_create_u64("rebinds", 0444, gp->dbg, &gp->rebinds);
	debugfs_create_u64("attaches", 0444, gp->dbg, &gp->attaches);
	debugfs_create_u64("installs", 0444, gp->dbg, &gp->installs);
}

static int mvf_read_windows(struct mvf_gp *gp)
{
	struct device *d = &gp->pdev->dev;
	u64 max_iova = 0;
	u32 i;

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
		    w->iova + w->size < w->iova) {
			dev_err(d, "window %u: bad entry gpa 0x%llx size 0x%llx iova 0x%llx\n",
				i, w->gpa, w->size, w->iova);
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

static int mvf_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *d = &pdev->dev;
	struct device *mdev;
	struct mvf_gp *gp;
	u32 magic, version, addr;
	int bits, ret;
	bool bound;

	gp = devm_kzalloc(d, sizeof(*gp), GFP_KERNEL);
	if (!gp)
		return -ENOMEM;
	gp->pdev = pdev;
	INIT_LIST_HEAD(&gp->node);

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, BIT(0), MVF_DRV_NAME);
	if (ret)
		return ret;
	gp->regs = pcim_iomap_table(pdev)[0];

	magic = ioread32(gp->regs + MVF_GP_REG_MAGIC);
	version = ioread32(gp->regs + MVF_GP_REG_VERSION);
	if (magic != MVF_GP_MAGIC) {
		dev_err(d, "MAGIC reads 0x%08x, expected 0x%08x\n", magic,
			MVF_GP_MAGIC);
		return -ENODEV;
	}
	if (version >> 16 != MVF_GP_VERSION_MAJOR) {
		dev_err(d, "protocol version %u.%u, this module speaks %u.x\n",
			version >> 16, version & 0xffff, MVF_GP_VERSION_MAJOR);
		return -ENODEV;
	}

	addr = ioread32(gp->regs + MVF_GP_REG_PCI_ADDR);
	gp->managed = pci_get_domain_bus_and_slot(addr >> 16, (addr >> 8) & 0xff,
						  addr & 0xff);
	if (!gp->managed) {
		dev_err(d, "managed device %04x:%02x:%02x.%u not found\n",
			addr >> 16, (addr >> 8) & 0xff, PCI_SLOT(addr & 0xff),
			PCI_FUNC(addr & 0xff));
		return -ENODEV;
	}
	mdev = &gp->managed->dev;

	gp->strategy = ioread32(gp->regs + MVF_GP_REG_STRATEGY);
	if (gp->strategy != MVF_GP_STRATEGY_WINDOW) {
		dev_err(d, "%s: DMA strategy %u (%s) is not supported by this module (only window)\n",
			pci_name(gp->managed), gp->strategy,
			mvf_strategy_name(gp->strategy));
		ret = -EOPNOTSUPP;
		goto err_put;
	}
	bits = mvf_read_windows(gp);
	if (bits < 0) {
		ret = bits;
		goto err_free;
	}

	/* Unbind a driver that allocated DMA memory without the translation. */
	bound = mdev->driver != NULL;
	if (bound) {
		dev_info(d, "%s: unbinding %s to install the DMA windows\n",
			 pci_name(gp->managed), mdev->driver->name);
		device_release_driver(mdev);
	}

	mutex_lock(&mvf_lock);
	ret = mvf_install(gp);
	if (!ret)
		list_add_tail(&gp->node, &mvf_devices);
	mutex_unlock(&mvf_lock);
	if (ret)
		goto err_free;

	/* A mask covering the IOVAs; the driver sets its own on bind. */
	ret = dma_set_mask_and_coherent(mdev, DMA_BIT_MASK(bits));
	if (ret)
		dev_warn(d, "%s: cannot set a %d-bit DMA mask: %d\n",
			 pci_name(gp->managed), bits, ret);

	/*
	 * Attach a driver now: the one just unbound, or one that bound
	 * earlier without the translation and gave up (nvme removes itself
	 * when its first admin command times out).
	 */
	ret = device_attach(mdev);
	if (ret < 0)
		dev_warn(d, "%s: attaching a driver failed: %d\n",
			 pci_name(gp->managed), ret);
	else if (ret > 0 && bound)
		gp->rebinds++;
	else if (ret > 0)
		gp->attaches++;

	pci_set_drvdata(pdev, gp);
	mvf_debugfs_add(gp);
	dev_info(d, "%s: window strategy, %u window(s), %d-bit IOVAs, driver %s\n",
		 pci_name(gp->managed), gp->nwin, bits,
		 mdev->driver ? mdev->driver->name : "-");
	return 0;

err_free:
	kfree(gp->map);
	gp->map = NULL;
err_put:
	pci_dev_put(gp->managed);
	return ret;
}

static void mvf_remove(struct pci_dev *pdev)
{
	struct mvf_gp *gp = pci_get_drvdata(pdev);
	struct device *mdev = &gp->managed->dev;

	debugfs_remove_recursive(gp->dbg);

	/*
	 * The driver's DMA memory was allocated through the windows: unbind
	 * it with them in place (the driver core then frees the installed
	 * copy).  The device stays unbound: without the translation its DMA
	 * would fault.
	 */
	if (mdev->driver) {
		dev_info(&pdev->dev, "%s: unbinding %s before removing the DMA windows\n",
			 pci_name(gp->managed), mdev->driver->name);
		device_release_driver(mdev);
	}
	mutex_lock(&mvf_lock);
	list_del(&gp->node);
	mutex_unlock(&mvf_lock);
	device_lock(mdev);
	if (gp->cur && mdev->dma_range_map == gp->cur && !mdev->driver) {
		mdev->dma_range_map = NULL;
		kfree(gp->cur);
	}
	gp->cur = NULL;
	device_unlock(mdev);
	kfree(gp->map);
	gp->map = NULL;
	pci_dev_put(gp->managed);
}

static const struct pci_device_id mvf_ids[] = {
	{ PCI_DEVICE(MVF_GP_PCI_VENDOR, MVF_GP_PCI_DEVICE) },
	{ }
};
MODULE_DEVICE_TABLE(pci, mvf_ids);

static struct pci_driver mvf_driver = {
	.name = MVF_DRV_NAME,
	.id_table = mvf_ids,
	.probe = mvf_probe,
	.remove = mvf_remove,
};

static int __init mvf_init(void)
{
	int ret;

	mvf_dbg_root = debugfs_create_dir(MVF_DRV_NAME, NULL);
	ret = bus_register_notifier(&pci_bus_type, &mvf_nb);
	if (ret)
		goto err_dbg;
	ret = pci_register_driver(&mvf_driver);
	if (ret)
		goto err_nb;
	return 0;

err_nb:
	bus_unregister_notifier(&pci_bus_type, &mvf_nb);
err_dbg:
	debugfs_remove_recursive(mvf_dbg_root);
	return ret;
}

static void __exit mvf_exit(void)
{
	pci_unregister_driver(&mvf_driver);
	bus_unregister_notifier(&pci_bus_type, &mvf_nb);
	debugfs_remove_recursive(mvf_dbg_root);
}

module_init(mvf_init);
module_exit(mvf_exit);

MODULE_DESCRIPTION("macvfio: DMA windows for PCI functions passed through by vfio-apple-pci");
MODULE_LICENSE("GPL");
