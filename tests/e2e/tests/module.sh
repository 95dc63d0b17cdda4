#!/bin/sh
# The out-of-tree module built by test-boot.sh (modules/e2e_hello, shipped with
# build-guest.sh --module) was autoloaded by init, with nvme-core before it.
. /lib/e2e.sh

module_loaded e2e_hello || fail "e2e_hello is not loaded (autoload: $(tr '\n' ' ' < /etc/macvfio/autoload))"
module_loaded nvme_core || fail "nvme_core (a dependency of e2e_hello) is not loaded"
msg=$(dmesg | grep 'e2e_hello: loaded') || fail "no 'e2e_hello: loaded' in dmesg"
log "$msg"
log "from $(modinfo -F filename e2e_hello), vermagic $(modinfo -F vermagic e2e_hello)"
exit 0
