/* Test-only Darwin header (see ../README.md): the few Foundation classes
 * the installer uses (NSObject, NSString, NSError, NSArray, NSURL), for
 * Objective-C with ARC.  On arm64 Apple platforms BOOL is bool. */
#ifndef MVF_TEST_FOUNDATION_H
#define MVF_TEST_FOUNDATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dispatch/dispatch.h>

#define NS_ASSUME_NONNULL_BEGIN _Pragma("clang assume_nonnull begin")
#define NS_ASSUME_NONNULL_END   _Pragma("clang assume_nonnull end")
#define API_AVAILABLE(...)
#define API_UNAVAILABLE(...)
#define NS_ENUM(type, name) enum name : type name; enum name : type
#define NS_ERROR_ENUM(domain, name) NS_ENUM(NSInteger, name)

typedef bool BOOL;
#define YES true
#define NO false
typedef long NSInteger;
typedef unsigned long NSUInteger;
typedef struct objc_class *Class;

NS_ASSUME_NONNULL_BEGIN

@protocol NSObject
- (BOOL)isEqual:(nullable id)object;
@end

__attribute__((objc_root_class))
@interface NSObject <NSObject> {
    Class isa;
}
+ (instancetype)alloc;
+ (instancetype)new;
- (instancetype)init;
@end

@interface NSString : NSObject
+ (nullable instancetype)stringWithUTF8String:(const char *)bytes;
@property (nullable, readonly) const char *UTF8String;
- (BOOL)isEqualToString:(NSString *)other;
@end

typedef NSString *NSErrorDomain;

@interface NSError : NSObject
@property (readonly, copy) NSErrorDomain domain;
@property (readonly) NSInteger code;
@property (readonly, copy) NSString *localizedDescription;
@end

@interface NSArray<__covariant ObjectType> : NSObject
@property (readonly) NSUInteger count;
- (ObjectType)objectAtIndex:(NSUInteger)index;
@end

@interface NSURL : NSObject
@property (nullable, readonly, copy) NSString *path;
@end

NS_ASSUME_NONNULL_END

#endif
