// SPDX-License-Identifier: GPL-2.0
/*
 * dmatest_irq: test-only driver for macvfio's simulated sim:dmatest
 * function (1b36:00e0) as a guest sees it through vfio-apple-pci.
 *
 * Probing enables the device, bus mastering and its 4 MSI-X vectors, each
 * with a handler named dmatest_irq<N> (find them in /proc/interrupts).
 * Then, through debugfs:
 *
 *   echo "V N" > /sys/kernel/debug/dmatest_irq/ring
 *       rings the DMA engine's doorbell N times with vector V and an IOVA
 *       that no mapping covers (0: macvfio's IOVAs start far above), so
 *       each transfer faults and raises vector V; waits for each interrupt
 *       before the next doorbell (an eventfd coalesces raises it has not
 *       delivered yet).  Fails with -EIO if the device did not report the
 *       fault, -ETIMEDOUT if the interrupt did not come.
 *   cat /sys/kernel/debug/dmatest_irq/counts
 *       "vector V: N" for each vector (interrupts handled), then the
 *       device's "faults: N" (FAULT_COUNT) and "doorbells: N" rung.
 *   cat /sys/kernel/debug/dmatest_irq/latency
 *       for the doorbells of the last "ring" write (at most 1000), the
 *       time from the doorbell write to the handler, from the doorbell
 *       write's return to the handler (delivery after the trapped write
 *       came back), and of the STATUS read that follows it: "min p50 p99
 *       max" in ns each, for make bench (bench/guest-irq.sh).
 *
 * Debian's kernel has no VFIO no-IOMMU mode, hence a module of our own.
 * It maps BAR0 without requesting the regions, so that sysfs resource
 * mappings of the test stay valid.
 */
#include <linux/debugfs.h>
#include <linux/interrupt.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/sort.h>
#include <linux/wait.h>

#define DMATEST_NVEC		4
#define REG_ID			0x000
#define REG_DMA_IOVA_LO		0x020
#define REG_DMA_IOVA_HI		0x024
#define REG_DMA_OFFSET		0x028
#define REG_DMA_LEN		0x02c
#define REG_DMA_DIR		0x030
#define REG_DMA_VECTOR		0x034
#define REG_DOORBELL		0x038
#define REG_STATUS		0x040
#define REG_ERROR_CODE		0x044
#define REG_FAULT_IOVA_LO	0x048
#define REG_FAULT_IOVA_HI	0x04c
#define REG_FAULT_COUNT		0x050
#define ID_VALUE		0x54414d44
#define DIR_FROM_DEVICE		1
#define STATUS_FAULT		(1u << 2)
#define FAULT_IOVA		0x0ull	/* below every macvfio IOVA */
#define MAX_RING		1000

struct dmatest {
	struct pci_dev *pdev;
	void __iomem *regs;
	struct dentry *dir;
	struct mutex lock;		/* one ring at a time */
	wait_queue_head_t wq;
	atomic_t count[DMATEST_NVEC];
	char names[DMATEST_NVEC][16];
	unsigned long doorbells;
	u64 irq_ns[DMATEST_NVEC];	/* ktime of each vector's last handler */
	/* the last ring's samples: doorbell->handler, return->handler,
	 * STATUS read */
	u64 lat_bell[MAX_RING], lat_ret[MAX_RING], lat_status[MAX_RING];
	unsigned int nlat;
};

static struct dmatest *the_dev;

static irqreturn_t dmatest_irq(int irq, void *data)
{
	atomic_t *count = data;
	unsigned int vec = count - the_dev->count;

	WRITE_ONCE(the_dev->irq_ns[vec], ktime_get_ns());
	atomic_inc(count);
	wake_up(&the_dev->wq);
	return IRQ_HANDLED;
}

static int dmatest_ring_one(struct dmatest *d, unsigned int vec)
{
	int before = atomic_read(&d->count[vec]);
	u64 t_bell, t_ret, t_status, t_irq;
	u32 status, fault_lo;

	iowrite32(lower_32_bits(FAULT_IOVA), d->regs + REG_DMA_IOVA_LO);
	iowrite32(upper_32_bits(FAULT_IOVA), d->regs + REG_DMA_IOVA_HI);
	iowrite32(0, d->regs + REG_DMA_OFFSET);
	iowrite32(4096, d->regs + REG_DMA_LEN);
	iowrite32(DIR_FROM_DEVICE, d->regs + REG_DMA_DIR);
	iowrite32(vec, d->regs + REG_DMA_VECTOR);
	t_bell = ktime_get_ns();
	iowrite32(1, d->regs + REG_DOORBELL);
	t_ret = ktime_get_ns();
	d->doorbells++;

	status = ioread32(d->regs + REG_STATUS);
	t_status = ktime_get_ns() - t_ret;
	fault_lo = ioread32(d->regs + REG_FAULT_IOVA_LO);
	if (!(status & STATUS_FAULT) || fault_lo != lower_32_bits(FAULT_IOVA)) {
		dev_err(&d->pdev->dev, "doorbell: status 0x%x error %u fault iova 0x%x: expected a fault\n",
			status, ioread32(d->regs + REG_ERROR_CODE), fault_lo);
		return -EIO;
	}
	if (!wait_event_timeout(d->wq, atomic_read(&d->count[vec]) != before,
				msecs_to_jiffies(5000))) {
		dev_err(&d->pdev->dev, "no interrupt on vector %u\n", vec);
		return -ETIMEDOUT;
	}
	t_irq = READ_ONCE(d->irq_ns[vec]);
	if (d->nlat < MAX_RING) {
		/* a handler that ran before the write returned counts as 0 */
		d->lat_bell[d->nlat] = t_irq - t_bell;
		d->lat_ret[d->nlat] = t_irq > t_ret ? t_irq - t_ret : 0;
		d->lat_status[d->nlat] = t_status;
		d->nlat++;
	}
	return 0;
}

static ssize_t ring_write(struct file *file, const char __user *ubuf,
			  size_t len, loff_t *ppos)
{
	struct dmatest *d = file->private_data;
	unsigned int vec, n, i;
	char buf[32];
	int ret = 0;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	if (sscanf(buf, "%u %u", &vec, &n) != 2 || vec >= DMATEST_NVEC ||
	    n > MAX_RING)
		return -EINVAL;

	mutex_lock(&d->lock);
	d->nlat = 0;
	for (i = 0; i < n && !ret; i++)
		ret = dmatest_ring_one(d, vec);
	mutex_unlock(&d->lock);
	if (ret)
		return ret;
	dev_info(&d->pdev->dev, "rang vector %u %u time(s)\n", vec, n);
	return len;
}

static int counts_show(struct seq_file *m, void *unused)
{
	struct dmatest *d = m->private;
	int i;

	for (i = 0; i < DMATEST_NVEC; i++)
		seq_printf(m, "vector %d: %d\n", i, atomic_read(&d->count[i]));
	seq_printf(m, "faults: %u\n", ioread32(d->regs + REG_FAULT_COUNT));
	seq_printf(m, "doorbells: %lu\n", d->doorbells);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(counts);

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static void show_lat(struct seq_file *m, const char *what, u64 *v,
		     unsigned int n)
{
	sort(v, n, sizeof(*v), cmp_u64, NULL);
	seq_printf(m, "%s: n %u min %llu p50 %llu p99 %llu max %llu\n", what, n,
		   v[0], v[n / 2], v[n * 99 / 100], v[n - 1]);
}

static int latency_show(struct seq_file *m, void *unused)
{
	struct dmatest *d = m->private;

	mutex_lock(&d->lock);
	if (d->nlat) {
		show_lat(m, "doorbell->handler", d->lat_bell, d->nlat);
		show_lat(m, "write-return->handler", d->lat_ret, d->nlat);
		show_lat(m, "status-read", d->lat_status, d->nlat);
	}
	mutex_unlock(&d->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(latency);

static const struct file_operations ring_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = ring_write,
	.llseek = no_llseek,
};

static int dmatest_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct dmatest *d;
	int ret, i, nvec;
	u32 ident;

	if (the_dev)
		return -EBUSY;
	d = devm_kzalloc(&pdev->dev, sizeof(*d), GFP_KERNEL);	/* ~24 KiB */
	if (!d)
		return -ENOMEM;
	d->pdev = pdev;
	mutex_init(&d->lock);
	init_waitqueue_head(&d->wq);

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	pci_set_master(pdev);
	d->regs = pcim_iomap(pdev, 0, 0);
	if (!d->regs)
		return -ENOMEM;
	ident = ioread32(d->regs + REG_ID);
	if (ident != ID_VALUE) {
		dev_err(&pdev->dev, "ID register 0x%08x, expected 0x%08x\n",
			ident, ID_VALUE);
		return -ENODEV;
	}

	nvec = pci_alloc_irq_vectors(pdev, DMATEST_NVEC, DMATEST_NVEC,
				     PCI_IRQ_MSIX);
	if (nvec < 0) {
		dev_err(&pdev->dev, "cannot enable %d MSI-X vectors: %d\n",
			DMATEST_NVEC, nvec);
		return nvec;
	}
	the_dev = d;
	for (i = 0; i < DMATEST_NVEC; i++) {
		snprintf(d->names[i], sizeof(d->names[i]), "dmatest_irq%d", i);
		ret = request_irq(pci_irq_vector(pdev, i), dmatest_irq, 0,
				  d->names[i], &d->count[i]);
		if (ret) {
			while (--i >= 0)
				free_irq(pci_irq_vector(pdev, i), &d->count[i]);
			pci_free_irq_vectors(pdev);
			the_dev = NULL;
			return ret;
		}
	}
	pci_set_drvdata(pdev, d);

	d->dir = debugfs_create_dir("dmatest_irq", NULL);
	debugfs_create_file("ring", 0200, d->dir, d, &ring_fops);
	debugfs_create_file("counts", 0444, d->dir, d, &counts_fops);
	debugfs_create_file("latency", 0444, d->dir, d, &latency_fops);
	dev_info(&pdev->dev, "dmatest_irq: %d MSI-X vectors, bus mastering on\n",
		 DMATEST_NVEC);
	return 0;
}

static void dmatest_remove(struct pci_dev *pdev)
{
	struct dmatest *d = pci_get_drvdata(pdev);
	int i;

	debugfs_remove_recursive(d->dir);
	for (i = 0; i < DMATEST_NVEC; i++)
		free_irq(pci_irq_vector(pdev, i), &d->count[i]);
	pci_free_irq_vectors(pdev);
	pci_clear_master(pdev);
	the_dev = NULL;
}

static const struct pci_device_id dmatest_ids[] = {
	{ PCI_DEVICE(0x1b36, 0x00e0) },
	{ }
};
MODULE_DEVICE_TABLE(pci, dmatest_ids);

static struct pci_driver dmatest_driver = {
	.name = "dmatest_irq",
	.id_table = dmatest_ids,
	.probe = dmatest_probe,
	.remove = dmatest_remove,
};
module_pci_driver(dmatest_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("macvfio e2e: MSI-X test driver for sim:dmatest");
