/* Test-only Darwin header (see ../README.md): interest type names. */
#ifndef MVF_TEST_IOKIT_IOKITKEYS_H
#define MVF_TEST_IOKIT_IOKITKEYS_H

#define kIOGeneralInterest "IOGeneralInterest"
#define kIOBusyInterest    "IOBusyInterest"

#endif
