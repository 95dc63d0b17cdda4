/* SPDX-License-Identifier: MIT */
/*
 * libmacvfio: the client API a VMM links to drive a PCI function served
 * by the macvfio driver core (macvfiod over a UNIX socket on Linux; the
 * DriverKit extension through IOKit on macOS).
 *
 * One handle is one session with the server: it is bound to at most one
 * device (mvf_device_open), and a VMM that passes through several
 * devices opens one handle per device.
 *
 * Conventions:
 *   - Every function returning int gives 0 (or a count, where said) on
 *     success and a negative errno on failure.  mvf_last_error() then
 *     holds a message for the calling thread: the server's text when it
 *     sent one, otherwise a local explanation.
 *   - Handles are thread-safe: each call holds the handle's lock for its
 *     request/reply exchange.  Calls that split work into several
 *     exchanges (batches, long IRQ ranges) are not atomic as a whole.
 *   - Nothing the server sends is trusted: malformed replies fail with
 *     -EPROTO and make the handle unusable (-EPROTO from then on).
 *   - If the server dies, calls fail with -ECONNRESET or -EPIPE (never
 *     SIGPIPE, never a hang); close the handle and reconnect.
 *   - If the server is alive but does not answer (stopped, stuck), a
 *     call fails with -ETIMEDOUT once the handle's timeout has passed
 *     (mvf_set_timeout); the handle is then unusable: later calls fail at
 *     once with -ENOTCONN and mvf_connection_fd() turns readable.
 *   - Calls whose feature bit the server did not announce in HELLO fail
 *     locally with -EOPNOTSUPP.
 */
#ifndef MACVFIO_MACVFIO_H
#define MACVFIO_MACVFIO_H

#include <stddef.h>
#include <stdint.h>

#include "macvfio/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

struct mvf_handle;

/* Message of the calling thread's last failed call ("" if none). The
 * pointer stays valid until the thread's next libmacvfio call. */
const char *mvf_last_error(void);

/* ---- session ------------------------------------------------------- */

/* Connects to a server socket and performs HELLO.  A server speaking a
 * different ABI major version is refused with -EPROTO. */
int mvf_connect(const char *socket_path, struct mvf_handle **out);

/*
 * macOS: opens the macvfio driver extension's user client for the device
 * at bdf ("BB:DD.F" or "DDDD:BB:DD.F"; NULL: the only device the dext
 * serves, -EINVAL if there are several) and performs HELLO.  The dext
 * serves one device per service and lists it in DEVICE_LIST, so bind it as
 * with a socket: mvf_device_open_spec(h, bdf).  The process needs the
 * com.apple.developer.driverkit.userclient-access entitlement naming the
 * dext (or a dext built to allow any client).  Differences from the
 * socket: DMA memory is registered by address (mvf_dma_register_va),
 * per-vector interrupt fds are emulated on the state page (any fd that
 * takes an 8-byte write: a pipe's write end, as QEMU's EventNotifier on
 * macOS), and the call timeout is not enforced (IOKit calls have none; a
 * dead dext fails them).  -ENOTSUP where libmacvfio has no IOKit
 * transport (any system but macOS).
 */
int mvf_connect_iokit(const char *bdf, struct mvf_handle **out);

/* Closes the session; the server releases everything it owned.  Memory
 * mapped with mvf_map_memory stays mapped until mvf_unmap_memory on the
 * socket transport; on IOKit the mappings belong to the connection and
 * mvf_close unmaps what is left. */
void mvf_close(struct mvf_handle *h);

/* A file descriptor to watch for the end of the session, in an event loop
 * (poll for POLLIN; POLLHUP and POLLERR mean the same), instead of calling
 * the server periodically to find out whether it is still there.  The
 * server sends nothing unprompted, so between calls the fd becomes
 * readable only when the server has closed the session or died, or a
 * call timed out (which closes the session); during a call it is also
 * readable for that call's reply.  Treat a wake-up as a hint and confirm
 * it with a call (mvf_device_get_info, say), which fails with a
 * connection error (-ECONNRESET, -EPIPE, -ENOTCONN) once the session is over;
 * then stop watching, as the fd stays readable.  Never read, write or
 * close the fd: it belongs to the handle and is valid until mvf_close.
 * On IOKit the fd is a pipe that turns readable when the dext's service
 * terminates or a call finds the dext gone.
 * Returns the fd, -ENOTSUP if the transport has none, or -EINVAL for a
 * NULL handle. */
int mvf_connection_fd(const struct mvf_handle *h);

/* How long a call may wait for the server: sending its request and
 * receiving the reply together, in milliseconds.  The default is that of
 * QEMU's vfio-user client (x-msg-timeout), far above any healthy call
 * (microseconds) yet short enough that a stuck server is reported rather
 * than freezing the caller (a VMM's vCPU thread) forever. */
#define MVF_DEFAULT_TIMEOUT_MS 5000u

/*
 * Sets the handle's call timeout; 0 waits forever.  A new handle starts
 * with MVF_DEFAULT_TIMEOUT_MS, or with the environment variable
 * MACVFIO_TIMEOUT_MS (a decimal number of ms; anything else makes
 * mvf_connect fail with -EINVAL), which also bounds mvf_connect's HELLO.
 * A call that runs out of time returns -ETIMEDOUT and closes the session:
 * a late reply could no longer be told from the next call's, so every
 * later call fails at once with -ENOTCONN ("the server timed out
 * earlier"), mvf_connection_fd() becomes readable and hung up, and the
 * server cleans the session up when it runs again.  Reconnect to go on.
 * Returns 0, or -EINVAL for a NULL handle.
 */
int mvf_set_timeout(struct mvf_handle *h, uint32_t timeout_ms);
/* The handle's current timeout in ms (0: none; 0 for a NULL handle). */
uint32_t mvf_get_timeout(struct mvf_handle *h);

/* What HELLO reported.  Features are those the server offers and this
 * library's transport can carry. */
uint64_t mvf_features(const struct mvf_handle *h);      /* MVF_FEAT_* */
uint32_t mvf_server_version(const struct mvf_handle *h); /* major<<16|minor */
uint32_t mvf_server_max_struct(const struct mvf_handle *h);
uint32_t mvf_device_count(const struct mvf_handle *h);

/* ---- devices ------------------------------------------------------- */

/* Fills out[0..cap) with the server's devices; returns how many the
 * server has (which may exceed cap, like snprintf). */
int mvf_device_list(struct mvf_handle *h, struct mvf_device_info *out,
                    uint32_t cap);

/* Finds a device by "DDDD:BB:DD.F" or "BB:DD.F" (hex) or by its exact
 * provider name (which must then be unique); stores its index. */
int mvf_device_find(struct mvf_handle *h, const char *spec, uint32_t *index);

/* Binds this session to a device.  Binding again moves the session to
 * another device, which the server refuses while one is claimed. */
int mvf_device_open(struct mvf_handle *h, uint32_t index);
/* mvf_device_find + mvf_device_open. */
int mvf_device_open_spec(struct mvf_handle *h, const char *spec);

/* Identity and DMA limits of the opened device. */
int mvf_device_get_info(struct mvf_handle *h, struct mvf_device_info *out);

/* Writes "DDDD:BB:DD.F" into buf (at least MVF_BDF_STRLEN bytes). */
#define MVF_BDF_STRLEN 13
void mvf_bdf_format(const struct mvf_device_info *info,
                    char buf[MVF_BDF_STRLEN]);
/* Parses "DDDD:BB:DD.F" or "BB:DD.F" (domain 0); 0 or -EINVAL. */
int mvf_bdf_parse(const char *s, uint16_t *domain, uint8_t *bus,
                  uint8_t *devfn);

/* Exclusive ownership (-EBUSY if another session has it); releasing
 * makes the server clean up (bus mastering off, mappings gone, reset). */
int mvf_claim(struct mvf_handle *h);
int mvf_release(struct mvf_handle *h);
int mvf_reset(struct mvf_handle *h);

/* ---- config space and BARs ---------------------------------------- */

/* width 1, 2 or 4; offset naturally aligned, below MVF_CONFIG_SPACE. */
int mvf_config_read(struct mvf_handle *h, uint32_t offset, uint32_t width,
                    uint32_t *value);
int mvf_config_write(struct mvf_handle *h, uint32_t offset, uint32_t width,
                     uint32_t value);

/* bar 0..5 or MVF_ROM_INDEX; flags are MVF_BAR_*. */
int mvf_bar_info(struct mvf_handle *h, uint32_t bar, uint64_t *size,
                 uint32_t *flags);

/* Trapped BAR access; width 1, 2, 4 or 8, offset naturally aligned. */
int mvf_mmio_read(struct mvf_handle *h, uint32_t bar, uint64_t offset,
                  uint32_t width, uint64_t *value);
/* Returns once the server has carried the write out (or refused it). */
int mvf_mmio_write(struct mvf_handle *h, uint32_t bar, uint64_t offset,
                   uint32_t width, uint64_t value);
/* The same write, posted where the server announced MVF_FEAT_POSTED_WRITE
 * (macvfiod's socket, never IOKit; elsewhere it is mvf_mmio_write): it
 * returns once the request is sent, and 0 means only that.  The server
 * runs it before anything sent later, so a later trapped read sees it;
 * an access through a mapped BAR is not ordered after it (mvf_flush
 * first).  If it fails on the server, the next call that waits for a
 * reply (any call but a posted write) is not carried out and returns
 * -EIO, mvf_last_error() saying "... was not carried out: posted
 * MMIO_WRITE (seq S) of BAR B at 0xO failed (E): ..."; each failure is
 * reported once.  Checks made locally (width, alignment) still fail the
 * call itself.  See docs/abi.md, "Posted requests". */
int mvf_mmio_write_posted(struct mvf_handle *h, uint32_t bar, uint64_t offset,
                          uint32_t width, uint64_t value);
/* A barrier for posted writes: returns once the server has run every
 * write posted before it, with 0, or -EIO for a failed one (as above).
 * Nothing is sent when nothing was posted since the last reply.
 * mvf_close flushes first but cannot report a failure (STATS counts it). */
int mvf_flush(struct mvf_handle *h);

/* Maps a memory type (MVF_MEM_BAR(n), MVF_MEM_IRQ_STATE) read-write and
 * never executable.  flags (may be NULL) get the server's flags.  On
 * IOKit, BARs without MVF_BAR_PREFETCH are mapped uncached and
 * prefetchable ones with the mode of mvf_set_bar_cache. */
int mvf_map_memory(struct mvf_handle *h, uint64_t memory_type, void **ptr,
                   uint64_t *size, uint32_t *flags);
int mvf_unmap_memory(struct mvf_handle *h, void *ptr, uint64_t size);

/* Cache mode of prefetchable BARs (IOKit).  Whether HVF keeps it for a
 * BAR mapped into a guest is not known, hence the choice. */
#define MVF_BAR_CACHE_WC       0u  /* write-combining (the default) */
#define MVF_BAR_CACHE_PCR      1u  /* posted, combined, reordered (Device-GRE) */
#define MVF_BAR_CACHE_UNCACHED 2u  /* as register BARs (Device-nGnRnE) */
/* Sets it for BARs mapped from now on.  A new IOKit handle starts with
 * MACVFIO_BAR_CACHE (wc, pcr or uncached; anything else makes
 * mvf_connect_iokit fail with -EINVAL), else MVF_BAR_CACHE_WC.  -EINVAL
 * for an unknown mode, -ENOTSUP on the socket transport (an mmap'd fd has
 * no cache mode to choose). */
int mvf_set_bar_cache(struct mvf_handle *h, uint32_t mode);

/* ---- interrupts ---------------------------------------------------- */

int mvf_irq_info(struct mvf_handle *h, uint32_t irq_type, uint32_t *count,
                 uint32_t *flags);

/* Binds vectors [start, start+count) of irq_type to eventfds: fds[i]
 * for vector start+i, -1 to unbind that vector (fds NULL: unbind all).
 * The server dups what it keeps; the caller keeps owning fds.  On IOKit
 * libmacvfio does the delivery (MVF_FEAT_IRQ_EVENTFD is offered when the
 * dext has the state page): it keeps dups, writes 8 bytes to a vector's
 * fd when it fires, and skips the write when the fd has no room (its
 * reader is woken already). */
int mvf_irq_set_eventfds(struct mvf_handle *h, uint32_t irq_type,
                         uint32_t start, uint32_t count, const int *fds);
/* Disables the whole type. */
int mvf_irq_disable(struct mvf_handle *h, uint32_t irq_type);
int mvf_irq_mask(struct mvf_handle *h, uint32_t irq_type, uint32_t start,
                 uint32_t count);
/* A vector that was raised while masked fires now. */
int mvf_irq_unmask(struct mvf_handle *h, uint32_t irq_type, uint32_t start,
                   uint32_t count);
/* Delivers irq_type through the MVF_MEM_IRQ_STATE page; wake_fd (an
 * eventfd, or -1 for none) is signalled once per batch of raises.  On
 * IOKit any fd that takes an 8-byte write will do (a pipe's write end);
 * it is signalled per completion of the dext and once when set. */
int mvf_irq_set_state_page(struct mvf_handle *h, uint32_t irq_type,
                           int wake_fd);

/* ---- DMA ----------------------------------------------------------- */

/* Registers [fd_offset, fd_offset+length) of a memfd sealed at least
 * with F_SEAL_SHRINK; *handle names it in the calls below. */
int mvf_dma_register_fd(struct mvf_handle *h, int memfd, uint64_t fd_offset,
                        uint64_t length, uint64_t *handle);
/* Registers client virtual memory (IOKit transport, MVF_FEAT_DMA_VA). */
int mvf_dma_register_va(struct mvf_handle *h, void *va, uint64_t length,
                        uint64_t *handle);
int mvf_dma_unregister(struct mvf_handle *h, uint64_t handle);

/* Maps [offset, offset+length) of a registered region for the device;
 * flags MVF_DMA_READ|MVF_DMA_WRITE; the server picks *iova. */
int mvf_dma_map(struct mvf_handle *h, uint64_t handle, uint64_t offset,
                uint64_t length, uint32_t flags, uint64_t *iova);
int mvf_dma_unmap(struct mvf_handle *h, uint64_t iova, uint64_t length);

/* Batches of any length, split into calls of at most MVF_MAX_BATCH
 * entries that fit the server's max_struct.  Returns 0 when every call
 * went through (each entry then has its own status), or the error of
 * the first failed call: that call's entries and all later ones get
 * that error as their status, earlier ones keep their results (maps
 * that succeeded stay mapped). */
int mvf_dma_map_batch(struct mvf_handle *h, const struct mvf_dma_map_req *reqs,
                      struct mvf_dma_map_res *res, uint32_t n);
int mvf_dma_unmap_batch(struct mvf_handle *h,
                        const struct mvf_dma_unmap_req *reqs, int32_t *status,
                        uint32_t n);

/* ---- statistics ---------------------------------------------------- */

int mvf_get_stats(struct mvf_handle *h, struct mvf_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* MACVFIO_MACVFIO_H */
