// SPDX-License-Identifier: GPL-2.0
/*
 * Smallest out-of-tree module: proves that tests/e2e can build a module
 * against the guest's exact kernel (guest-headers.sh), ship it
 * (build-guest.sh --module) and load it at boot, on x86_64 and arm64.
 * It also pulls one symbol from nvme-core so that build-guest.sh has to
 * resolve a dependency of an extra module from the kernel's modules.
 */
#include <linux/module.h>
#include <linux/blk-mq.h>

extern struct workqueue_struct *nvme_wq;

static int __init e2e_hello_init(void)
{
	pr_info("e2e_hello: loaded, nvme_wq %s\n", nvme_wq ? "present" : "absent");
	return 0;
}

static void __exit e2e_hello_exit(void)
{
}

module_init(e2e_hello_init);
module_exit(e2e_hello_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("macvfio e2e: out-of-tree module smoke test");
