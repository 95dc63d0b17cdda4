/* Test-only Darwin header (see ../README.md): OSSystemExtensionRequest,
 * its delegate, the properties of an installed extension and the error
 * codes, with the names and values the SystemExtensions framework
 * publishes (macOS 10.15; properties requests macOS 12). */
#ifndef MVF_TEST_SYSTEMEXTENSIONS_H
#define MVF_TEST_SYSTEMEXTENSIONS_H

#import <Foundation/Foundation.h>

NS_ASSUME_NONNULL_BEGIN

extern NSErrorDomain const OSSystemExtensionErrorDomain;

typedef NS_ERROR_ENUM(OSSystemExtensionErrorDomain, OSSystemExtensionErrorCode) {
    OSSystemExtensionErrorUnknown = 1,
    OSSystemExtensionErrorMissingEntitlement = 2,
    OSSystemExtensionErrorUnsupportedParentBundleLocation = 3,
    OSSystemExtensionErrorExtensionNotFound = 4,
    OSSystemExtensionErrorExtensionMissingIdentifier = 5,
    OSSystemExtensionErrorDuplicateExtensionIdentifer = 6,
    OSSystemExtensionErrorUnknownExtensionCategory = 7,
    OSSystemExtensionErrorCodeSignatureInvalid = 8,
    OSSystemExtensionErrorValidationFailed = 9,
    OSSystemExtensionErrorForbiddenBySystemPolicy = 10,
    OSSystemExtensionErrorRequestCanceled = 11,
    OSSystemExtensionErrorRequestSuperseded = 12,
    OSSystemExtensionErrorAuthorizationRequired = 13,
};

typedef NS_ENUM(NSInteger, OSSystemExtensionReplacementAction) {
    OSSystemExtensionReplacementActionCancel = 0,
    OSSystemExtensionReplacementActionReplace = 1,
};

typedef NS_ENUM(NSInteger, OSSystemExtensionRequestResult) {
    OSSystemExtensionRequestCompleted = 0,
    OSSystemExtensionRequestWillCompleteAfterReboot = 1,
};

@interface OSSystemExtensionProperties : NSObject
@property (strong, readonly) NSURL *URL;
@property (strong, readonly) NSString *bundleIdentifier;
@property (strong, readonly) NSString *bundleVersion;
@property (strong, readonly) NSString *bundleShortVersion;
@property (readonly, getter=isEnabled) BOOL enabled;
@property (readonly, getter=isAwaitingUserApproval) BOOL awaitingUserApproval;
@property (readonly, getter=isUninstalling) BOOL uninstalling;
@end

@class OSSystemExtensionRequest;

@protocol OSSystemExtensionRequestDelegate <NSObject>
@required
- (OSSystemExtensionReplacementAction)request:(OSSystemExtensionRequest *)request
                  actionForReplacingExtension:(OSSystemExtensionProperties *)existing
                                withExtension:(OSSystemExtensionProperties *)ext;
- (void)requestNeedsUserApproval:(OSSystemExtensionRequest *)request;
- (void)request:(OSSystemExtensionRequest *)request
    didFinishWithResult:(OSSystemExtensionRequestResult)result;
- (void)request:(OSSystemExtensionRequest *)request didFailWithError:(NSError *)error;
@optional
- (void)request:(OSSystemExtensionRequest *)request
    foundProperties:(NSArray<OSSystemExtensionProperties *> *)properties;
@end

@interface OSSystemExtensionRequest : NSObject
+ (instancetype)activationRequestForExtension:(NSString *)identifier
                                        queue:(dispatch_queue_t)queue;
+ (instancetype)deactivationRequestForExtension:(NSString *)identifier
                                          queue:(dispatch_queue_t)queue;
+ (instancetype)propertiesRequestForExtension:(NSString *)identifier
                                        queue:(dispatch_queue_t)queue;
@property (weak, nonatomic) id<OSSystemExtensionRequestDelegate> delegate;
@property (readonly, copy) NSString *identifier;
@end

@interface OSSystemExtensionManager : NSObject
@property (class, readonly) OSSystemExtensionManager *sharedManager;
- (void)submitRequest:(OSSystemExtensionRequest *)request;
@end

NS_ASSUME_NONNULL_END

#endif
