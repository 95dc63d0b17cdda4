#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mini_iig: our .iig subset -> X.h + X.iig.cpp (test-only, never used on a Mac).

Usage: mini_iig.py --def X.iig --header OUT/X.h --impl OUT/X.iig.cpp

What it understands (anything else is refused with file:line and a reason,
never dropped):
  - preprocessor lines and forward declarations (`struct X;`, `class X;`)
    outside the class pass through; `#include <Dir/Name.iig>` becomes
    `#include <Dir/Name.h>`;
  - one `class X : public Base { ... };` whose members are
      `public:` / `protected:`,
      `virtual R M(args) override;` for a base method whose dispatch
          message we know (OVERRIDES below): becomes `M_Impl(X_M_Args)`,
          reached through X::_Dispatch, implemented with IMPL(X, M);
      `virtual R M(args) override;` for a LOCALONLY base virtual
          (init, free, ExternalMethod): kept as a real virtual;
      `R M(args) LOCALONLY;`: kept as a plain member;
      `virtual void M(args) TYPE(Cls::Method);` for a known TYPE: a
          non-virtual wrapper with a trailing `OSDispatchMethod supermethod`,
          `M_Impl`, and `CreateActionM(size_t, OSAction **)`.
Generated shape (as Apple's iig): X_M_ID / X_M_Args per method, X_Methods,
X_VirtualMethods, `union { struct X_IVars *ivars; struct X_LocalIVars *lvars; }`,
`sGetMetaClass`, `using super = Base`; the .iig.cpp has Dispatch/_Dispatch
(switch on the message id, else Base::_Dispatch), the wrappers,
CreateActionM and the metaclass (registered by name for the double).

Meson (the dext's meson.build, per .iig file):
    gen = custom_target('MacvfioDriver_iig',
        input : 'MacvfioDriver.iig',
        output : ['MacvfioDriver.h', 'MacvfioDriver.iig.cpp'],
        command : [python3, mini_iig, '--def', '@INPUT@',
                   '--header', '@OUTPUT0@', '--impl', '@OUTPUT1@'])
  with `mini_iig` = files('tools/mini_iig.py') from tests/dkdouble/meson.build
  (variable `dk_mini_iig`), gen[1] a source, and the build dir of gen as an
  include dir (the header is included as "MacvfioDriver.h").
"""
import argparse
import hashlib
import re
import sys

# Base methods a subclass overrides through _Dispatch: name -> (base class,
# return type, parameter types).  Their Msg structs (fields a0..aN) and
# Args macros live in dext/dk.
OVERRIDES = {
    'Start': ('IOService', 'kern_return_t', ['IOService *']),
    'Stop': ('IOService', 'kern_return_t', ['IOService *']),
    'NewUserClient': ('IOService', 'kern_return_t', ['uint32_t', 'IOUserClient **']),
    'CopyClientMemoryForType': ('IOUserClient', 'kern_return_t',
                                ['uint64_t', 'uint64_t *', 'IOMemoryDescriptor **']),
}
# LOCALONLY virtuals of the bases: overridden as plain C++ virtuals.
LOCAL_VIRTUALS = {'init', 'free', 'ExternalMethod'}
# Method types an OSAction may carry: TYPE(...) -> (return, parameter types).
TYPES = {
    'IOInterruptDispatchSource::InterruptOccurred':
        ('void', ['OSAction *', 'uint64_t', 'uint64_t']),
}


class IigError(Exception):
    pass


def norm_type(t):
    t = re.sub(r'\s+', ' ', t.strip())
    t = re.sub(r'\s*\*', ' *', t)
    return t.replace('* *', '**').replace(' **', ' **')


def split_params(text, where):
    text = text.strip()
    if text in ('', 'void'):
        return []
    out = []
    for p in text.split(','):
        p = p.strip()
        if '=' in p:
            raise IigError(f'{where}: default arguments are not supported: {p!r}')
        m = re.match(r'^(.*?)([A-Za-z_][A-Za-z0-9_]*)$', p)
        if not m or not m.group(1).strip():
            raise IigError(f'{where}: cannot parse parameter {p!r}')
        out.append((norm_type(m.group(1)), m.group(2)))
    return out


def msgid(cls, name):
    # Our own ids (Apple's hash is not public): stable per class and method.
    h = hashlib.sha256(f'{cls}::{name}'.encode()).hexdigest()[:16]
    return f'0x{h}ULL'


DECL = re.compile(
    r'^(?P<virtual>virtual\s+)?(?P<ret>[A-Za-z_][A-Za-z0-9_ ]*?[\s\*]+)'
    r'(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\((?P<params>[^()]*)\)\s*'
    r'(?P<quals>.*?)\s*$', re.S)


def parse_member(text, where):
    m = DECL.match(text)
    if not m:
        raise IigError(f'{where}: not a method declaration this tool understands: {text!r}')
    quals = m.group('quals')
    return {
        'virtual': bool(m.group('virtual')),
        'ret': norm_type(m.group('ret')),
        'name': m.group('name'),
        'params': split_params(m.group('params'), where),
        'params_text': m.group('params').strip(),
        'quals': quals,
        'text': text,
        'where': where,
    }


def strip_comments(src):
    # Keep line numbers: replace comments by as many newlines.
    def repl(m):
        return '\n' * m.group(0).count('\n')
    return re.sub(r'/\*.*?\*/|//[^\n]*', repl, src, flags=re.S)


def parse(path, src):
    text = strip_comments(src)
    lines = text.split('\n')
    pre, post = [], []
    cls = None
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        where = f'{path}:{i + 1}'
        if cls is None and line.startswith('class ') and not line.endswith(';'):
            m = re.match(r'^class\s+(\w+)\s*:\s*public\s+(\w+)\s*(\{)?\s*$', line)
            if not m:
                raise IigError(f'{where}: class declaration not understood: {line!r}')
            cls = {'name': m.group(1), 'base': m.group(2), 'members': []}
            if not m.group(3):
                i += 1
                if i >= len(lines) or lines[i].strip() != '{':
                    raise IigError(f'{where}: expected "{{" after class {m.group(1)}')
            i += 1
            buf, start = '', i
            while True:
                if i >= len(lines):
                    raise IigError(f'{path}: class {cls["name"]} not closed')
                ln = lines[i].strip()
                if not buf and ln == '};':
                    break
                if not buf and ln in ('public:', 'protected:'):
                    i += 1
                    continue
                if not buf and ln == 'private:':
                    raise IigError(f'{path}:{i + 1}: private: members are not supported')
                if ln:
                    if not buf:
                        start = i
                    buf += ' ' + ln
                    if buf.endswith(';'):
                        cls['members'].append(parse_member(buf.strip()[:-1], f'{path}:{start + 1}'))
                        buf = ''
                i += 1
            i += 1
            continue
        target = pre if cls is None else post
        if not line:
            target.append('')
        elif line.startswith('#include'):
            m = re.match(r'^#include\s+<([\w/]+)\.iig>$', line)
            target.append(f'#include <{m.group(1)}.h>' if m else line)
        elif line.startswith('#'):
            target.append(line)
        elif re.match(r'^(struct|class)\s+\w+\s*;$', line):
            target.append(line)
        else:
            raise IigError(f'{where}: not understood outside the class: {line!r}')
        i += 1
    if cls is None:
        raise IigError(f'{path}: no class declaration found')
    return pre, cls, post


def classify(cls):
    for m in cls['members']:
        q, name, where = m['quals'], m['name'], m['where']
        types = [t for t, _ in m['params']]
        tm = re.match(r'^TYPE\(\s*([\w:]+)\s*\)$', q)
        if q == 'override' and m['virtual'] and name in OVERRIDES:
            base, ret, ptypes = OVERRIDES[name]
            if ret != m['ret'] or [norm_type(t) for t in ptypes] != types:
                raise IigError(f'{where}: {name} does not match {base}::{name}'
                               f'({", ".join(ptypes)}) -> {ret}')
            m['kind'], m['base'] = 'override', base
        elif q == 'override' and m['virtual'] and name in LOCAL_VIRTUALS:
            m['kind'] = 'local_virtual'
        elif q == 'LOCALONLY' and not m['virtual']:
            m['kind'] = 'local'
        elif tm and m['virtual']:
            t = tm.group(1)
            if t not in TYPES:
                raise IigError(f'{where}: unknown TYPE({t})')
            ret, ptypes = TYPES[t]
            if ret != m['ret'] or [norm_type(x) for x in ptypes] != types:
                raise IigError(f'{where}: {name} does not have the signature of {t}')
            m['kind'], m['type'] = 'typed', t
        else:
            raise IigError(f'{where}: method {name} ({q or "no qualifier"}) is not in '
                           f'the subset this tool supports')


def gen_header(pre, cls, post, src_name):
    X, B = cls['name'], cls['base']
    o = [f'/* Generated by tools/mini_iig.py from {src_name}: do not edit. */']
    o += pre
    o.append('')
    o.append('#include <DriverKit/OSAction.h>')
    o.append('')
    for m in cls['members']:
        n = m['name']
        if m['kind'] == 'override':
            o.append(f'#define {X}_{n}_ID {m["base"]}_{n}_ID')
            o.append(f'#define {X}_{n}_Args {m["base"]}_{n}_Args')
        elif m['kind'] == 'typed':
            t = m['type'].replace('::', '_')
            o.append(f'#define {X}_{n}_ID {msgid(X, n)}')
            o.append(f'#define {X}_{n}_Args {t}_Args')
    o.append('')
    meth = ['public:',
            'virtual kern_return_t Dispatch(const IORPC rpc) override;',
            f'static kern_return_t _Dispatch({X} *self, const IORPC rpc);']
    for m in cls['members']:
        n = m['name']
        if m['kind'] == 'typed':
            sep = ', ' if m['params'] else ''
            meth.append(f'{m["ret"]} {n}({m["params_text"]}{sep}OSDispatchMethod supermethod = NULL);')
            meth.append(f'kern_return_t CreateAction{n}(size_t referenceSize, OSAction **action);')
        elif m['kind'] == 'local':
            meth.append(f'{m["text"]};')
    meth.append('protected:')
    for m in cls['members']:
        if m['kind'] in ('override', 'typed'):
            meth.append(f'{m["ret"]} {m["name"]}_Impl({X}_{m["name"]}_Args);')
    meth.append('public:')
    o.append(f'#define {X}_Methods \\\n    ' + ' \\\n    '.join(meth))
    o.append('')
    virt = ['public:'] + [f'{m["text"]};' for m in cls['members'] if m['kind'] == 'local_virtual']
    o.append(f'#define {X}_VirtualMethods \\\n    ' + ' \\\n    '.join(virt))
    o.append('')
    o.append(f'struct {X}_IVars;')
    o.append(f'struct {X}_LocalIVars;')
    o.append(f'extern OSMetaClass g{X}MetaClass;')
    o.append('')
    o.append(f'class {X} : public {B} {{')
    o.append('public:')
    o.append(f'    union {{ struct {X}_IVars *ivars; struct {X}_LocalIVars *lvars; }};')
    o.append(f'    using super = {B};')
    o.append('    static OSMetaClass *sGetMetaClass();')
    o.append('    virtual const OSMetaClass *getMetaClass() const override;')
    o.append(f'    {X}_Methods')
    o.append(f'    {X}_VirtualMethods')
    o.append('};')
    o += post
    return '\n'.join(o) + '\n'


def gen_impl(cls, header_name, src_name):
    X, B = cls['name'], cls['base']
    o = [f'/* Generated by tools/mini_iig.py from {src_name}: do not edit. */',
         f'#include "{header_name}"', '',
         f'static OSObject *{X}_Alloc(void) {{ return new {X}; }}',
         f'OSMetaClass g{X}MetaClass = {{ "{X}", {B}::sGetMetaClass(), {X}_Alloc }};',
         f'static const bool g{X}Registered = OSMetaClass::Register(&g{X}MetaClass);',
         '',
         f'OSMetaClass *{X}::sGetMetaClass() {{ return &g{X}MetaClass; }}',
         f'const OSMetaClass *{X}::getMetaClass() const {{ (void)g{X}Registered; return &g{X}MetaClass; }}',
         f'kern_return_t {X}::Dispatch(const IORPC rpc) {{ return _Dispatch(this, rpc); }}',
         '',
         f'kern_return_t {X}::_Dispatch({X} *self, const IORPC rpc)',
         '{',
         '    switch (rpc.msgid) {']
    for m in cls['members']:
        n = m['name']
        if m['kind'] == 'override':
            msg = f'{m["base"]}_{n}_Msg'
        elif m['kind'] == 'typed':
            msg = m['type'].replace('::', '_') + '_Msg'
        else:
            continue
        args = ', '.join(f'msg->a{i}' for i in range(len(m['params'])))
        o.append(f'    case {X}_{n}_ID: {{')
        o.append(f'        {msg} *msg = static_cast<{msg} *>(rpc.message);')
        if m['ret'] == 'void':
            o.append(f'        self->{n}_Impl({args});')
            o.append('        return kIOReturnSuccess;')
        else:
            o.append(f'        return self->{n}_Impl({args});')
        o.append('    }')
    o += ['    default:', f'        return {B}::_Dispatch(self, rpc);', '    }', '}', '']
    for m in cls['members']:
        if m['kind'] != 'typed':
            continue
        n = m['name']
        t = m['type'].replace('::', '_')
        sep = ', ' if m['params'] else ''
        o.append(f'{m["ret"]} {X}::{n}({m["params_text"]}{sep}OSDispatchMethod supermethod)')
        o.append('{')
        o.append(f'    {t}_Msg msg = {{ {", ".join(p for _, p in m["params"])} }};')
        o.append(f'    IORPC rpc = {{ {X}_{n}_ID, &msg }};')
        o.append('    if (supermethod)')
        o.append('        (void)supermethod(this, rpc);')
        o.append('    else')
        o.append('        (void)Dispatch(rpc);')
        o.append('}')
        o.append('')
        o.append(f'kern_return_t {X}::CreateAction{n}(size_t referenceSize, OSAction **action)')
        o.append('{')
        o.append(f'    return OSAction::Create(this, {X}_{n}_ID, {t}_ID, referenceSize, action);')
        o.append('}')
        o.append('')
    return '\n'.join(o)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--def', dest='defn', required=True)
    ap.add_argument('--header', required=True)
    ap.add_argument('--impl', required=True)
    a = ap.parse_args(argv)
    try:
        with open(a.defn, encoding='utf-8') as f:
            src = f.read()
        pre, cls, post = parse(a.defn, src)
        classify(cls)
    except IigError as e:
        print(f'mini_iig: {e}', file=sys.stderr)
        return 1
    src_name = a.defn.rsplit('/', 1)[-1]
    header_name = a.header.rsplit('/', 1)[-1]
    with open(a.header, 'w', encoding='utf-8') as f:
        f.write(gen_header(pre, cls, post, src_name))
    with open(a.impl, 'w', encoding='utf-8') as f:
        f.write(gen_impl(cls, header_name, src_name))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
