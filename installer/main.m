/* SPDX-License-Identifier: MIT */
/*
 * macvfio-installer: the host app that carries the macvfio driver
 * extension (Contents/Library/SystemExtensions/org.macvfio.driver.dext)
 * and asks macOS to activate, deactivate or report it.
 *
 *   macvfio-installer activate [--no-wait]
 *   macvfio-installer deactivate
 *   macvfio-installer status
 *
 * The app must live in /Applications (unless `systemextensionsctl
 * developer on`) and be signed with installer.entitlements
 * (com.apple.developer.system-extension.install).
 *
 * Exit codes:
 *   0  done: activated and enabled / deactivated / (status) enabled
 *   1  the request failed (the message says why and what to do)
 *   2  usage error
 *   3  waiting for the user's approval in System Settings (activate
 *      --no-wait, or status)
 *   4  done after a reboot
 *   5  (status) not installed, or being uninstalled
 *
 * The system extension framework calls the delegate on the main queue;
 * each outcome prints one line and exits.  Compile-checked on Linux
 * against test stub headers (tests/darwin/check-macos.sh); never run.
 */
#import <Foundation/Foundation.h>
#import <SystemExtensions/SystemExtensions.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEXT_ID "org.macvfio.driver"

enum {
    EXIT_DONE = 0,
    EXIT_FAILED = 1,
    EXIT_USAGE = 2,
    EXIT_NEEDS_APPROVAL = 3,
    EXIT_AFTER_REBOOT = 4,
    EXIT_NOT_INSTALLED = 5,
};

typedef enum { CMD_ACTIVATE, CMD_DEACTIVATE, CMD_STATUS } command_t;

static const char *approval_hint =
    "approve it in System Settings > General > Login Items & Extensions > "
    "Driver Extensions (older macOS: Privacy & Security)";

/* What each OSSystemExtensionErrorCode means for this app, and the fix. */
static const char *explain(NSInteger code)
{
    switch (code) {
    case OSSystemExtensionErrorMissingEntitlement:
        return "missing entitlement: this app must be signed with "
               "com.apple.developer.system-extension.install "
               "(installer.entitlements), and the dext with its DriverKit "
               "entitlements (dext/build-macos.sh does both)";
    case OSSystemExtensionErrorUnsupportedParentBundleLocation:
        return "the app is not in /Applications: move it there (or run "
               "'systemextensionsctl developer on', which needs SIP off); a "
               "quarantine attribute gives this error too: "
               "xattr -dr com.apple.quarantine /Applications/macvfio.app";
    case OSSystemExtensionErrorExtensionNotFound:
        return "no " DEXT_ID ".dext in Contents/Library/SystemExtensions of "
               "this app: assemble the bundle with dext/build-macos.sh";
    case OSSystemExtensionErrorExtensionMissingIdentifier:
        return "the dext's Info.plist has no CFBundleIdentifier";
    case OSSystemExtensionErrorDuplicateExtensionIdentifer:
        return "two extensions in this app carry the identifier " DEXT_ID;
    case OSSystemExtensionErrorUnknownExtensionCategory:
        return "the dext's Info.plist does not declare a driver extension "
               "(CFBundlePackageType DEXT)";
    case OSSystemExtensionErrorCodeSignatureInvalid:
        return "code signature invalid: sign the dext first, then the app "
               "(codesign --verify --deep --strict macvfio.app to see why); "
               "ad-hoc signatures load only with SIP off";
    case OSSystemExtensionErrorValidationFailed:
        return "the dext failed validation: its Info.plist, or entitlements "
               "that its provisioning profile does not grant";
    case OSSystemExtensionErrorForbiddenBySystemPolicy:
        return "forbidden by system policy: with SIP on, only a dext signed "
               "with Apple-granted DriverKit entitlements loads (development "
               "builds need SIP off: csrutil disable in Recovery), or a "
               "management profile forbids it";
    case OSSystemExtensionErrorRequestCanceled:
        return "the request was cancelled";
    case OSSystemExtensionErrorRequestSuperseded:
        return "a newer request for the same extension replaced this one";
    case OSSystemExtensionErrorAuthorizationRequired:
        return "the user must authorise this: run it from a logged-in "
               "session and approve the prompt";
    case OSSystemExtensionErrorUnknown:
    default:
        return "unknown failure of the system extension framework; see "
               "log show --last 5m --predicate 'process == \"sysextd\"'";
    }
}

static const char *utf8(NSString *s)
{
    const char *p = s ? s.UTF8String : NULL;

    return p ? p : "?";
}

@interface Installer : NSObject <OSSystemExtensionRequestDelegate>
@property command_t command;
@property BOOL wait;
@end

@implementation Installer

- (OSSystemExtensionReplacementAction)request:(OSSystemExtensionRequest *)request
                  actionForReplacingExtension:(OSSystemExtensionProperties *)existing
                                withExtension:(OSSystemExtensionProperties *)ext
{
    printf("replacing %s %s (%s) with %s (%s)\n", DEXT_ID,
           utf8(existing.bundleShortVersion), utf8(existing.bundleVersion),
           utf8(ext.bundleShortVersion), utf8(ext.bundleVersion));
    return OSSystemExtensionReplacementActionReplace;
}

- (void)requestNeedsUserApproval:(OSSystemExtensionRequest *)request
{
    printf("%s needs your approval: %s\n", DEXT_ID, approval_hint);
    if (!self.wait)
        exit(EXIT_NEEDS_APPROVAL);
    printf("waiting (the request completes once approved; Ctrl-C to stop "
           "waiting, the request stays pending)\n");
    fflush(stdout);
}

- (void)request:(OSSystemExtensionRequest *)request
    didFinishWithResult:(OSSystemExtensionRequestResult)result
{
    const char *what = self.command == CMD_ACTIVATE ? "activated"
                                                    : "deactivated";

    if (result == OSSystemExtensionRequestWillCompleteAfterReboot) {
        printf("%s will be %s after a reboot\n", DEXT_ID, what);
        exit(EXIT_AFTER_REBOOT);
    }
    printf("%s %s\n", DEXT_ID, what);
    exit(EXIT_DONE);
}

- (void)request:(OSSystemExtensionRequest *)request didFailWithError:(NSError *)error
{
    const char *what = self.command == CMD_ACTIVATE     ? "activating"
                       : self.command == CMD_DEACTIVATE ? "deactivating"
                                                        : "querying";

    if ([error.domain isEqualToString:OSSystemExtensionErrorDomain])
        fprintf(stderr, "macvfio-installer: %s %s failed (code %ld): %s\n",
                what, DEXT_ID, (long)error.code, explain(error.code));
    else
        fprintf(stderr, "macvfio-installer: %s %s failed: %s (%s %ld)\n",
                what, DEXT_ID, utf8(error.localizedDescription),
                utf8(error.domain), (long)error.code);
    exit(EXIT_FAILED);
}

/* status: one line per installed version of the dext. */
- (void)request:(OSSystemExtensionRequest *)request
    foundProperties:(NSArray<OSSystemExtensionProperties *> *)properties
{
    int code = EXIT_NOT_INSTALLED;

    if (properties.count == 0)
        printf("%s: not installed\n", DEXT_ID);
    for (NSUInteger i = 0; i < properties.count; i++) {
        OSSystemExtensionProperties *p = [properties objectAtIndex:i];
        const char *state = p.uninstalling           ? "being uninstalled"
                            : p.awaitingUserApproval ? "waiting for approval"
                            : p.enabled              ? "enabled"
                                                     : "installed, disabled";
        printf("%s %s (%s): %s, %s\n", utf8(p.bundleIdentifier),
               utf8(p.bundleShortVersion), utf8(p.bundleVersion), state,
               utf8(p.URL.path));
        if (p.enabled && !p.uninstalling)
            code = EXIT_DONE;
        else if (p.awaitingUserApproval && code != EXIT_DONE)
            code = EXIT_NEEDS_APPROVAL;
    }
    if (code == EXIT_NEEDS_APPROVAL)
        printf("%s\n", approval_hint);
    exit(code);
}

@end

static void usage(FILE *f)
{
    fprintf(f,
        "usage: macvfio-installer activate [--no-wait] | deactivate | status\n"
        "\n"
        "  activate     install or update the macvfio driver extension\n"
        "               (" DEXT_ID ") carried by this app; waits for your\n"
        "               approval in System Settings unless --no-wait\n"
        "  deactivate   remove it\n"
        "  status       whether it is installed, approved and enabled\n"
        "\n"
        "exit: 0 done, 1 failed, 2 usage, 3 needs approval, 4 after reboot,\n"
        "      5 not installed\n");
}

int main(int argc, char **argv)
{
    Installer *installer = [Installer new];
    NSString *ident = [NSString stringWithUTF8String:DEXT_ID];
    dispatch_queue_t queue = dispatch_get_main_queue();
    OSSystemExtensionRequest *request;

    installer.wait = YES;
    if (argc < 2 || argc > 3) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout);
        return EXIT_DONE;
    }
    if (!strcmp(argv[1], "activate")) {
        installer.command = CMD_ACTIVATE;
        if (argc == 3 && !strcmp(argv[2], "--no-wait"))
            installer.wait = NO;
        else if (argc == 3) {
            usage(stderr);
            return EXIT_USAGE;
        }
    } else if (!strcmp(argv[1], "deactivate") && argc == 2) {
        installer.command = CMD_DEACTIVATE;
    } else if (!strcmp(argv[1], "status") && argc == 2) {
        installer.command = CMD_STATUS;
    } else {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!ident)
        return EXIT_FAILED;

    switch (installer.command) {
    case CMD_ACTIVATE:
        request = [OSSystemExtensionRequest activationRequestForExtension:ident
                                                                    queue:queue];
        break;
    case CMD_DEACTIVATE:
        request = [OSSystemExtensionRequest deactivationRequestForExtension:ident
                                                                      queue:queue];
        break;
    default:
        request = [OSSystemExtensionRequest propertiesRequestForExtension:ident
                                                                    queue:queue];
        break;
    }
    /* The manager keeps a weak reference: installer lives until exit. */
    request.delegate = installer;
    [OSSystemExtensionManager.sharedManager submitRequest:request];
    dispatch_main();
}
