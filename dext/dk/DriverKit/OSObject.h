/* SPDX-License-Identifier: MIT */
/*
 * OSObject and the dispatch machinery in the shape iig generates:
 * every non-LOCALONLY method is a non-virtual wrapper that packs its
 * arguments into an IORPC and sends it to `supermethod` (when given,
 * e.g. SUPERDISPATCH) or to the object's Dispatch; each class's
 * _Dispatch switches on the message id to its M_Impl.
 */
#ifndef _MVF_DK_OSOBJECT_H
#define _MVF_DK_OSOBJECT_H
#include <DriverKit/IOTypes.h>

#ifndef NULL
#define NULL nullptr
#endif

/* iig qualifiers: annotations for iig, nothing for the compiler. */
#define KERNEL
#define LOCAL
#define LOCALONLY
#define REMOTE
#define REPLY
#define TARGET
#define TYPE(p)
#define EXTENDS(cls)
#define QUEUENAME(name)
#define NATIVE
#define LOCALHOST

/* One method invocation: its id and its argument block (a *_Msg struct
 * of pointers/values, fields a0..aN in declaration order). */
struct IORPC {
    uint64_t msgid;
    void *message;
};

class OSObject;
class OSMetaClass;
typedef kern_return_t (*OSDispatchMethod)(OSObject *self, const IORPC rpc);

#define DEFN(classname, name) name##_Impl(classname##_##name##_Args)
#define IMPL(classname, name) classname::DEFN(classname, name)
#define SUPERDISPATCH ((OSDispatchMethod)&super::_Dispatch)

class OSMetaClassBase {
public:
    virtual void retain() const = 0;
    virtual void release() const = 0;
    virtual bool isEqualTo(const OSMetaClassBase *other) const;
    virtual ~OSMetaClassBase() {}
};

/* A class's run-time identity: its name and its superclass. */
class OSMetaClass {
public:
    const char *name;
    const OSMetaClass *superClass;
    OSObject *(*alloc)(void);  /* NULL for abstract classes */
    /* Makes the class known by name (ForName); true. */
    static bool Register(OSMetaClass *meta);
    /* The registered class named `name`, or NULL (the double matches by it). */
    static const OSMetaClass *ForName(const char *name);
    /* meta is `of` or a subclass of it. */
    static bool IsKindOf(const OSMetaClass *meta, const OSMetaClass *of);
};

class OSObject : public OSMetaClassBase {
public:
    virtual bool init() LOCALONLY;
    virtual void free() LOCALONLY;
    virtual void retain() const override LOCALONLY;
    virtual void release() const override LOCALONLY;
    virtual kern_return_t Dispatch(const IORPC rpc);
    static kern_return_t _Dispatch(OSObject *self, const IORPC rpc);
    static OSMetaClass *sGetMetaClass();
    virtual const OSMetaClass *getMetaClass() const;

protected:
    OSObject();
    virtual ~OSObject();

private:
    mutable int32_t retainCount_;
};

/* OSDynamicCast(Type, object): object as Type*, or NULL. */
#define OSDynamicCast(type, inst) \
    ((type *)OSMetaClassDynamicCast((inst), type::sGetMetaClass()))
inline OSObject *OSMetaClassDynamicCast(const OSObject *o, const OSMetaClass *to)
{
    return (o && OSMetaClass::IsKindOf(o->getMetaClass(), to)) ? const_cast<OSObject *>(o)
                                                              : nullptr;
}

#define OSSafeReleaseNULL(o) \
    do {                     \
        if (o)               \
            (o)->release();  \
        (o) = nullptr;       \
    } while (0)
#endif
