// SPDX-License-Identifier: GPL-2.0
/*
 * macvfio guest module: DMA address translation for a PCI function passed
 * through by QEMU's vfio-apple-pci, driven by its companion apple-dma-pci
 * (1b36:00e1).
 *
 * The companion tells which function it manages (PCI_ADDR) and how DMA
 * addresses are obtained (STRATEGY); the strategy= parameter overrides
 * it.  This file binds the companion, sets the chosen strategy up
 * (mvf_window.c, mvf_pool.c, mvf_ondemand.c) and installs it on the
 * managed function before its driver binds.
 *
 * The managed function's driver may bind before or after this module.  If
 * one is bound at probe time it is unbound, the strategy installed, and
 * the device attached again so that the driver allocates its DMA memory
 * with the translation.  A bus notifier installs it before any later bind.
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

#include "mvf.h"

static char *mvf_strategy_param = "auto";
module_param_named(strategy, mvf_strategy_param, charp, 0444);
MODULE_PARM_DESC(strategy,
		 "DMA strategy: auto (the companion's choice), window, pool or ondemand");
unsigned int mvf_pool_mb = 16;
module_param_named(pool_mb, mvf_pool_mb, uint, 0444);
MODULE_PARM_DESC(pool_mb, "pool strategy: MiB of bounce pool per device");
unsigned int mvf_lazy_unmap_ms = 10000;
module_param_named(lazy_unmap_ms, mvf_lazy_unmap_ms, uint, 0644);
MODULE_PARM_DESC(lazy_unmap_ms,
		 "on-demand: an unused mapping not reused for this long goes back to the host (0: unmap at once); room is made by LRU eviction regardless");
unsigned int mvf_idle_max;
module_param_named(idle_max, mvf_idle_max, uint, 0644);
MODULE_PARM_DESC(idle_max, "on-demand: unused mappings kept before unmapping the oldest (0: as many as the host's budget and cap allow)");
unsigned int mvf_map_chunk_kb = 64;
module_param_named(map_chunk_kb, mvf_map_chunk_kb, uint, 0644);
MODULE_PARM_DESC(map_chunk_kb, "on-demand: while the cache uses under half the budget, a miss maps the aligned chunk of this size around it (0: the granule span only)");

/* Companions bound; changed under mvf_lock, read under RCU by mvf_from_dev. */
static LIST_HEAD(mvf_devices);
static DEFINE_MUTEX(mvf_lock);
static struct dentry *mvf_dbg_root;

/* Never NULL: the protocol's name, or "unknown" for a value it lacks. */
static const char *mvf_strategy_name(u32 s)
{
	const char *name = mvf_gp_strategy_name(s);

	return name ? name : "unknown";
}

u64 mvf_read64(struct mvf_gp *gp, u32 off)
{
	u64 lo = ioread32(gp->regs + off);
	u64 hi = ioread32(gp->regs + off + 4);

	return lo | hi << 32;
}

/*
 * The state of the managed device @dev, for the static dma_map_ops of the
 * pool and on-demand strategies; NULL if no companion manages it (then
 * the ops fail the call).  A short RCU walk: a guest has a few managed
 * devices at most.  Any context.
 */
struct mvf_gp *mvf_from_dev(struct device *dev)
{
	struct mvf_gp *gp, *found = NULL;

	rcu_read_lock();
	list_for_each_entry_rcu(gp, &mvf_devices, node)
		if (&gp->managed->dev == dev) {
			found = gp;
			break;
		}
	rcu_read_unlock();
	return found;
}

/*
 * Whether [iova, iova + len) that the host gave is usable: granule
 * aligned, not wrapping, inside the aperture (if the companion has one).
 */
bool mvf_iova_ok(struct mvf_gp *gp, u64 iova, u64 len)
{
	if ((iova | len) & (gp->granule - 1) || !len || iova + len < iova)
		return false;
	if (!gp->aperture_size)
		return true;
	return iova >= gp->aperture_base &&
	       iova + len - gp->aperture_base <= gp->aperture_size;
}

/* Whether two ranges that do not wrap share a byte. */
bool mvf_ranges_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

static bool mvf_uses_ops(struct mvf_gp *gp)
{
	return gp->strategy == MVF_GP_STRATEGY_POOL ||
	       gp->strategy == MVF_GP_STRATEGY_ONDEMAND;
}

static bool mvf_installed(struct mvf_gp *gp)
{
	struct device *dev = &gp->managed->dev;

	if (mvf_uses_ops(gp))
		return get_dma_ops(dev) == gp->ops;
	return gp->cur && READ_ONCE(dev->dma_range_map) == gp->cur;
}

/*
 * Whether the managed device has DMA translation from elsewhere (firmware's
 * dma-ranges, an IOMMU's ops) that installing ours would overwrite; if so
 * says which, and the strategy is refused rather than composed with it.
 * The ops strategies leave a dma_range_map alone (dma-direct, its only
 * user, no longer runs), so only the window strategy conflicts with one.
 */
static bool mvf_foreign_translation(struct mvf_gp *gp)
{
	struct device *dev = &gp->managed->dev;
	const struct dma_map_ops *ops = get_dma_ops(dev);

	if (ops && ops != gp->ops) {
		dev_err(&gp->pdev->dev, "%s: has DMA ops not ours (%ps): refusing the %s strategy\n",
			pci_name(gp->managed), ops,
			mvf_strategy_name(gp->strategy));
		return true;
	}
	if (!mvf_uses_ops(gp) && dev->dma_range_map &&
	    dev->dma_range_map != gp->cur) {
		dev_err(&gp->pdev->dev, "%s: firmware set a DMA range map: refusing the window strategy, which would replace it\n",
			pci_name(gp->managed));
		return true;
	}
	return false;
}

/* Caller holds the managed device's lock and mvf_lock. */
static int mvf_install(struct mvf_gp *gp)
{
	struct device *dev = &gp->managed->dev;
	struct bus_dma_region *copy;

	if (mvf_installed(gp))
		return 0;
	if (mvf_foreign_translation(gp))
		return -EBUSY;
	if (mvf_uses_ops(gp)) {
		set_dma_ops(dev, gp->ops);
		/* a kernel built without per-device DMA ops ignores it */
		if (get_dma_ops(dev) != gp->ops)
			return -EOPNOTSUPP;
		gp->installs++;
		return 0;
	}
	copy = kmemdup(gp->map, (gp->nwin + 1) * sizeof(*gp->map), GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	dev->dma_range_map = copy;
	gp->cur = copy;
	gp->installs++;
	return 0;
}

/* The managed device has no driver: take the translation away. */
static void mvf_uninstall(struct mvf_gp *gp)
{
	struct device *mdev = &gp->managed->dev;

	device_lock(mdev);
	if (!mdev->driver) {
		if (mvf_uses_ops(gp) && get_dma_ops(mdev) == gp->ops)
			set_dma_ops(mdev, NULL);
		if (gp->cur && mdev->dma_range_map == gp->cur) {
			mdev->dma_range_map = NULL;
			kfree(gp->cur);
		}
	}
	gp->cur = NULL;
	device_unlock(mdev);
}

static int mvf_bus_notify(struct notifier_block *nb, unsigned long action,
			  void *data)
{
	struct device *dev = data;
	struct mvf_gp *gp;
	int ret = NOTIFY_DONE;

	/* the driver core holds the device's lock for these */
	switch (action) {
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
		ret = NOTIFY_OK;
		if (action == BUS_NOTIFY_UNBOUND_DRIVER ||
		    action == BUS_NOTIFY_DRIVER_NOT_BOUND)
			gp->cur = NULL;	/* freed by the driver core */
		else if (mvf_install(gp))
			dev_err(&gp->pdev->dev, "%s: cannot install the %s strategy\n",
				pci_name(gp->managed),
				mvf_strategy_name(gp->strategy));
		break;
	}
	mutex_unlock(&mvf_lock);
	return ret;	/* NOTIFY_DONE: not a device of ours */
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

	seq_printf(s, "strategy: %s (host: %s)\n", mvf_strategy_name(gp->strategy),
		   mvf_strategy_name(gp->host_strategy));
	seq_printf(s, "installed: %d\n", mvf_installed(gp));
	seq_printf(s, "driver: %s\n", dev->driver ? dev->driver->name : "-");
	seq_printf(s, "companion: %s\n", pci_name(gp->pdev));
	seq_printf(s, "rings: %u of %u entries\n", gp->nrings,
		   gp->ring_max);
	seq_printf(s, "host live mappings: %u\n",
		   ioread32(gp->regs + MVF_GP_REG_LIVE_MAPPINGS));
	if (gp->strategy == MVF_GP_STRATEGY_ONDEMAND)
		mvf_ondemand_show(gp, s);
	if (gp->strategy == MVF_GP_STRATEGY_POOL)
		mvf_pool_show(gp, s);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mvf_state);

static int mvf_counter_get(void *data, u64 *val)
{
	*val = atomic64_read(data);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(mvf_counter_fops, mvf_counter_get, NULL, "%llu\n");

static int mvf_irqoff_get(void *data, u64 *val)
{
	*val = mvf_rings_irqoff_max_ns(data);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(mvf_irqoff_fops, mvf_irqoff_get, NULL, "%llu\n");

static void mvf_debugfs_add(struct mvf_gp *gp)
{
	static const struct {
		const char *name;
		size_t off;
	} counters[] = {
#define C(f) { #f, offsetof(struct mvf_counters, f) }
		C(maps), C(unmaps), C(batches), C(doorbells), C(failures),
		C(cache_hits), C(cache_misses), C(evictions), C(refusals),
		C(coalesced), C(bytes_bounced), C(dma_maps), C(dma_unmaps),
#undef C
	};
	u32 i;

	gp->dbg = debugfs_create_dir(pci_name(gp->managed), mvf_dbg_root);
	debugfs_create_file("strategy", 0444, gp->dbg, gp, &mvf_strategy_fops);
	if (gp->strategy == MVF_GP_STRATEGY_WINDOW)
		debugfs_create_file("windows", 0444, gp->dbg, gp,
				    &mvf_windows_fops);
	debugfs_create_file("state", 0444, gp->dbg, gp, &mvf_state_fops);
	debugfs_create_u64("rebinds", 0444, gp->dbg, &gp->rebinds);
	debugfs_create_u64("attaches", 0444, gp->dbg, &gp->attaches);
	debugfs_create_u64("installs", 0444, gp->dbg, &gp->installs);
	debugfs_create_file_unsafe("irqoff_max_ns", 0444, gp->dbg, gp,
				   &mvf_irqoff_fops);
	for (i = 0; i < ARRAY_SIZE(counters); i++)
		debugfs_create_file_unsafe(counters[i].name, 0444, gp->dbg,
					   (char *)&gp->cnt + counters[i].off,
					   &mvf_counter_fops);
}

static int mvf_parse_strategy(const char *s, u32 *out)
{
	u32 i;

	if (!s || sysfs_streq(s, "auto") || !*s) {
		*out = MVF_GP_STRATEGY_NONE;	/* the companion's */
		return 0;
	}
	for (i = MVF_GP_STRATEGY_WINDOW; i < MVF_GP_STRATEGY_COUNT; i++)
		if (sysfs_streq(s, mvf_gp_strategy_name(i))) {
			*out = i;
			return 0;
		}
	return -EINVAL;
}

/* The strategy to use: the parameter's or the companion's, if offered. */
static int mvf_choose_strategy(struct mvf_gp *gp)
{
	struct device *d = &gp->pdev->dev;
	u32 want, need;
	s32 st;

	if (mvf_parse_strategy(mvf_strategy_param, &want)) {
		dev_err(d, "strategy=%s: not auto, window, pool or ondemand\n",
			mvf_strategy_param);
		return -EINVAL;
	}
	gp->host_strategy = ioread32(gp->regs + MVF_GP_REG_STRATEGY);
	if (want == MVF_GP_STRATEGY_NONE)
		want = gp->host_strategy;
	switch (want) {
	case MVF_GP_STRATEGY_WINDOW:
		need = MVF_GP_FEAT_WINDOW;
		break;
	case MVF_GP_STRATEGY_POOL:
		need = MVF_GP_FEAT_POOL;
		break;
	case MVF_GP_STRATEGY_ONDEMAND:
		need = MVF_GP_FEAT_ONDEMAND;
		break;
	default:
		dev_err(d, "%s: the host offers no DMA strategy (%u)\n",
			pci_name(gp->managed), want);
		return -EOPNOTSUPP;
	}
	if (!(gp->features & need)) {
		dev_err(d, "%s: strategy %s is not offered by the host (features 0x%x)\n",
			pci_name(gp->managed), mvf_strategy_name(want),
			gp->features);
		return -EOPNOTSUPP;
	}
	/* Tell the host, so it can report what the guest uses. */
	if (want != gp->host_strategy &&
	    (gp->features & MVF_GP_FEAT_STRATEGY_SELECT)) {
		iowrite32(want, gp->regs + MVF_GP_REG_STRATEGY);
		st = ioread32(gp->regs + MVF_GP_REG_DEV_STATUS);
		if (st)
			dev_warn(d, "%s: the host did not take strategy %s: %d\n",
				 pci_name(gp->managed), mvf_strategy_name(want),
				 st);
	}
	gp->strategy = want;
	return 0;
}

/* Sets the strategy up; returns the IOVA width in bits. */
static int mvf_strategy_init(struct mvf_gp *gp)
{
	u64 end = gp->aperture_base + gp->aperture_size - 1;
	int ret;

	switch (gp->strategy) {
	case MVF_GP_STRATEGY_WINDOW:
		return mvf_window_init(gp);
	case MVF_GP_STRATEGY_POOL:
		ret = mvf_pool_init(gp);
		break;
	default:
		ret = mvf_ondemand_init(gp);
		break;
	}
	if (ret)
		return ret;
	return gp->aperture_size ? fls64(end) : 64;
}

/*
 * The host unmaps every ring mapping and forgets every ring, and STRATEGY
 * returns to QEMU's choice (protocol §8).  Only once the managed device
 * has stopped DMA, and before ring or pool memory goes back to the kernel.
 */
void mvf_companion_reset(struct mvf_gp *gp)
{
	iowrite32(MVF_GP_RESET_VALUE, gp->regs + MVF_GP_REG_RESET);
}

/* The managed device has no driver: nothing it mapped is in use. */
static void mvf_strategy_fini(struct mvf_gp *gp)
{
	mvf_companion_reset(gp);
	switch (gp->strategy) {
	case MVF_GP_STRATEGY_WINDOW:
		mvf_window_fini(gp);
		break;
	case MVF_GP_STRATEGY_POOL:
		mvf_pool_fini(gp);
		break;
	default:
		mvf_ondemand_fini(gp);
		break;
	}
}

/*
 * PCI_ADDR is the host's word: the function it names must be one this
 * companion can serve, an endpoint under the same host bridge, and
 * neither the companion itself nor another companion.
 */
static int mvf_check_managed(struct mvf_gp *gp)
{
	struct pci_dev *m = gp->managed;
	const char *why = NULL;

	if (m == gp->pdev)
		why = "is the companion itself";
	else if (m->vendor == MVF_GP_PCI_VENDOR && m->device == MVF_GP_PCI_DEVICE)
		why = "is another companion";
	else if (pci_find_host_bridge(m->bus) != pci_find_host_bridge(gp->pdev->bus))
		why = "is under another host bridge";
	else if (m->hdr_type != PCI_HEADER_TYPE_NORMAL)
		why = "is a bridge, not a function to pass through";
	if (!why)
		return 0;
	dev_err(&gp->pdev->dev, "PCI_ADDR names %s, which %s: refusing it\n",
		pci_name(m), why);
	return -ENODEV;
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
	/* The companion reads its rings by DMA (guest-protocol.md, 2) */
	pci_set_master(pdev);
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
	gp->features = ioread32(gp->regs + MVF_GP_REG_FEATURES);
	gp->granule = ioread32(gp->regs + MVF_GP_REG_GRANULE);
	gp->aperture_base = mvf_read64(gp, MVF_GP_REG_APERTURE_BASE_LO);
	gp->aperture_size = mvf_read64(gp, MVF_GP_REG_APERTURE_SIZE_LO);
	gp->budget = mvf_read64(gp, MVF_GP_REG_BUDGET_LO);
	gp->max_mappings = ioread32(gp->regs + MVF_GP_REG_MAX_MAPPINGS);
	if (!is_power_of_2(gp->granule) || gp->granule < PAGE_SIZE) {
		dev_err(d, "granule %llu: not a power of two >= the page size\n",
			gp->granule);
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
	ret = mvf_check_managed(gp);
	if (ret)
		goto err_put;

	ret = mvf_choose_strategy(gp);
	if (ret)
		goto err_put;
	/* before unbinding anything: a firmware map is there while bound */
	device_lock(mdev);
	ret = mvf_foreign_translation(gp) ? -EBUSY : 0;
	device_unlock(mdev);
	if (ret)
		goto err_put;

	/* Unbind a driver that allocated DMA memory without the translation:
	 * before the strategy is set up, since a pool or rings need memory
	 * the old driver may hold. */
	bound = mdev->driver != NULL;
	if (bound) {
		dev_info(d, "%s: unbinding %s to install the %s strategy\n",
			 pci_name(gp->managed), mdev->driver->name,
			 mvf_strategy_name(gp->strategy));
		device_release_driver(mdev);
	}

	bits = mvf_strategy_init(gp);
	if (bits < 0) {
		ret = bits;
		goto err_rebind;
	}

	/* on the list first: the ops find their state through it */
	device_lock(mdev);
	mutex_lock(&mvf_lock);
	list_add_tail_rcu(&gp->node, &mvf_devices);
	ret = mvf_install(gp);
	if (ret)
		list_del_rcu(&gp->node);
	mutex_unlock(&mvf_lock);
	device_unlock(mdev);
	if (ret) {
		synchronize_rcu();
		dev_err(d, "%s: cannot install the %s strategy: %d\n",
			pci_name(gp->managed), mvf_strategy_name(gp->strategy),
			ret);
		mvf_uninstall(gp);
		goto err_fini;
	}

	/* A mask covering the IOVAs; the driver sets its own on bind. */
	ret = dma_set_mask_and_coherent(mdev, DMA_BIT_MASK(bits));
	if (ret)
		dev_warn(d, "%s: cannot set a %d-bit DMA mask: %d\n",
			 pci_name(gp->managed), bits, ret);

	pci_set_drvdata(pdev, gp);
	mvf_debugfs_add(gp);

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

	dev_info(d, "%s: %s strategy (host: %s), %d-bit IOVAs, %u ring(s), driver %s\n",
		 pci_name(gp->managed), mvf_strategy_name(gp->strategy),
		 mvf_strategy_name(gp->host_strategy), bits, gp->nrings,
		 mdev->driver ? mdev->driver->name : "-");
	return 0;

err_fini:
	mvf_strategy_fini(gp);
err_rebind:
	/* give back the driver unbound above, as it was: without us */
	if (bound && device_attach(mdev) > 0)
		dev_warn(d, "%s: %s bound again without DMA translation\n",
			 pci_name(gp->managed), mdev->driver->name);
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
	 * The driver's DMA memory was allocated through the translation:
	 * unbind it with the translation in place.  The device stays
	 * unbound: without it its DMA would fault.
	 */
	if (mdev->driver) {
		dev_info(&pdev->dev, "%s: unbinding %s before removing the %s strategy\n",
			 pci_name(gp->managed), mdev->driver->name,
			 mvf_strategy_name(gp->strategy));
		device_release_driver(mdev);
	}
	mvf_uninstall(gp);
	mutex_lock(&mvf_lock);
	list_del_rcu(&gp->node);
	mutex_unlock(&mvf_lock);
	synchronize_rcu();	/* gp is freed with the companion's devres */
	mvf_strategy_fini(gp);
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

MODULE_DESCRIPTION("macvfio: host-assigned DMA addresses for PCI functions passed through by vfio-apple-pci");
MODULE_LICENSE("GPL");
