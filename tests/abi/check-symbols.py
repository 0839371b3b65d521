#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check that a Chronik library's three views of its ABI agree.

  check-symbols.py --name NAME --map FILE.map --lib LIBFILE [--nm NM]
                   HEADER [HEADER...]

The three views:
  map       global symbols of every version node of the linker version script
  headers   functions and variables declared with CHRONIK_<NAME>_API in the
            public headers
  exported  defined dynamic symbols of the built library (nm -D)

Fails (exit 1) listing every symbol that is in the map but not exported,
exported but not in the map, exported but not declared, declared but not in
the map, and any exported symbol that does not start with chronik_<name>_.
Exits 77 (skip) when LIBFILE is a static archive. Python stdlib only.
"""
import argparse
import re
import subprocess
import sys

SKIP = 77

C_KEYWORDS = {
    'auto', 'break', 'case', 'char', 'const', 'continue', 'default', 'do',
    'double', 'else', 'enum', 'extern', 'float', 'for', 'goto', 'if',
    'inline', 'int', 'long', 'register', 'restrict', 'return', 'short',
    'signed', 'sizeof', 'static', 'struct', 'switch', 'typedef', 'union',
    'unsigned', 'void', 'volatile', 'while', '_Bool', '_Complex',
    '_Noreturn', '_Alignas', '_Atomic', '_Thread_local', '__restrict',
    '__restrict__', '__inline', '__inline__', '__extension__', 'bool',
}


def strip_comments(text, line_comments=('//',)):
    """Remove /* */ comments and the given line comments, keeping string
    literals and line structure (so line numbers stay right)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append('\n' * text.count('\n', i, j) or ' ')
            i = j
        elif any(text.startswith(lc, i) for lc in line_comments):
            j = text.find('\n', i)
            i = n if j < 0 else j
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def strip_preprocessor(text):
    """Blank out preprocessor directives (with backslash continuations).
    Declarations inside #if blocks are kept: every branch is public API."""
    out = []
    cont = False
    for line in text.split('\n'):
        if cont or line.lstrip().startswith('#'):
            cont = line.rstrip().endswith('\\')
            out.append('')
        else:
            out.append(line)
    return '\n'.join(out)


# ---------------------------------------------------------------- map file

def parse_map(path):
    """Return ({symbol: node}, [errors]) for a GNU ld version script."""
    with open(path, encoding='utf-8') as f:
        text = strip_comments(f.read(), line_comments=('#', '//'))
    symbols, errors, nodes = {}, [], []
    pos = 0
    node_re = re.compile(r'\s*([A-Za-z_][\w.]*)?\s*\{', re.S)
    while True:
        m = node_re.match(text, pos)
        if not m:
            if text[pos:].strip():
                errors.append(f'{path}: cannot parse near: '
                              f'{text[pos:pos + 40].strip()!r}')
            break
        node = m.group(1) or '(anonymous)'
        end = text.find('}', m.end())
        if end < 0:
            errors.append(f'{path}: node {node} has no closing brace')
            break
        body = text[m.end():end]
        tail = re.match(r'\s*([A-Za-z_][\w.]*)?\s*;', text[end + 1:])
        if not tail:
            errors.append(f'{path}: node {node}: expected ";" after "}}"')
            break
        pos = end + 1 + tail.end()
        nodes.append(node)
        scope = 'global'
        for item in body.split(';'):
            item = item.strip()
            while True:
                sm = re.match(r'(global|local)\s*:\s*', item)
                if not sm:
                    break
                scope = sm.group(1)
                item = item[sm.end():].strip()
            if not item or scope == 'local':
                continue
            if re.search(r'[*?\[\]]|^extern\b', item):
                errors.append(f'{path}: node {node}: pattern or extern block '
                              f'"{item}" in global: list every symbol by name')
                continue
            if item in symbols:
                errors.append(f'{path}: {item} is listed twice '
                              f'({symbols[item]} and {node})')
            symbols[item] = node
    return symbols, nodes, errors


# ----------------------------------------------------------------- headers

def balanced_end(s, i):
    """Index just past the parenthesised group starting at s[i] == '('."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == '(':
            depth += 1
        elif s[j] == ')':
            depth -= 1
            if depth == 0:
                return j + 1
    return len(s)


def drop_macro_calls(decl):
    """Remove __attribute__((...)), __declspec(...) and upper-case macro
    invocations such as CHRONIK_DEPRECATED("x") from a declaration."""
    out, i = [], 0
    ident = re.compile(r'[A-Za-z_]\w*')
    while i < len(decl):
        m = ident.match(decl, i)
        if not m:
            out.append(decl[i])
            i += 1
            continue
        word = m.group(0)
        j = m.end()
        is_macro = (word in ('__attribute__', '__declspec', '__asm__',
                             'asm', '__asm', '_Alignas', 'alignas')
                    or re.fullmatch(r'[A-Z][A-Z0-9_]+', word) is not None)
        if is_macro:
            k = j
            while k < len(decl) and decl[k] in ' \t\n':
                k += 1
            i = balanced_end(decl, k) if k < len(decl) and decl[k] == '(' \
                else j
            out.append(' ')
            continue
        out.append(word)
        i = j
    return ''.join(out)


def declared_name(decl):
    """Name declared by one declaration (without the API macro)."""
    d = drop_macro_calls(decl)
    # Cut initialisers of variables.
    depth = 0
    for k, c in enumerate(d):
        if c in '([{':
            depth += 1
        elif c in ')]}':
            depth -= 1
        elif c == '=' and depth == 0:
            d = d[:k]
            break
    # A function: the first non-keyword identifier followed by '('.
    # Handles "T *f(args)", "T\nf(\n args)" and "void (*f(int))(void)".
    for m in re.finditer(r'([A-Za-z_]\w*)\s*\(', d):
        if m.group(1) not in C_KEYWORDS:
            return m.group(1), 'function'
    # A variable: the last identifier outside brackets.
    flat = re.sub(r'\[[^\]]*\]', ' ', d)
    ids = [w for w in re.findall(r'[A-Za-z_]\w*', flat)
           if w not in C_KEYWORDS]
    return (ids[-1], 'variable') if ids else (None, None)


def parse_headers(paths, macro):
    """Return ({name: 'file:line'}, [errors])."""
    found, errors = {}, []
    # CHRONIK_<LIB>_API, and CHRONIK_<LIB>_EXPERIMENTAL_API should the
    # experimental header use its own marker.
    exp = macro[:-len('_API')] + '_EXPERIMENTAL_API' \
        if macro.endswith('_API') else macro
    mre = re.compile(r'\b(?:%s|%s)\b' % (re.escape(macro), re.escape(exp)))
    for path in paths:
        with open(path, encoding='utf-8') as f:
            text = strip_preprocessor(strip_comments(f.read()))
        for m in mre.finditer(text):
            line = text.count('\n', 0, m.start()) + 1
            # The declaration runs to the first ';' or '{' outside parens.
            depth, end = 0, len(text)
            for k in range(m.end(), len(text)):
                c = text[k]
                if c == '(':
                    depth += 1
                elif c == ')':
                    depth -= 1
                elif c in ';{' and depth == 0:
                    end = k
                    break
            name, kind = declared_name(text[m.end():end])
            where = f'{path}:{line}'
            if not name:
                errors.append(f'{where}: cannot find the name declared '
                              f'after {macro}')
                continue
            if name in found:
                continue    # a repeated prototype is harmless
            found[name] = where
    return found, errors


# --------------------------------------------------------------------- nm

def exported_symbols(nm, lib, nodes):
    res = subprocess.run([nm, '-D', '--defined-only', lib],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    if res.returncode != 0:
        sys.exit(f'check-symbols: {nm} -D failed on {lib}:\n{res.stderr}')
    syms = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        kind, name = parts[-2], parts[-1]
        name = re.split(r'@', name, maxsplit=1)[0]
        # ld emits one absolute symbol per version node; those are not API.
        if kind == 'A' and name in nodes:
            continue
        syms[name] = kind
    return syms


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--name', required=True, help='library short name (wal)')
    ap.add_argument('--map', required=True)
    ap.add_argument('--lib', required=True, help='built library file')
    ap.add_argument('--nm', default='nm')
    ap.add_argument('--macro', help='API macro (default CHRONIK_<NAME>_API)')
    ap.add_argument('headers', nargs='+')
    a = ap.parse_args()
    macro = a.macro or f'CHRONIK_{a.name.upper()}_API'
    prefix = f'chronik_{a.name}_'

    if a.lib.endswith('.a'):
        print(f'SKIP: {a.lib} is a static archive (default_library=static);'
              ' there is no dynamic symbol table to check')
        return SKIP

    mapped, nodes, errors = parse_map(a.map)
    declared, herr = parse_headers(a.headers, macro)
    errors += herr
    exported = exported_symbols(a.nm, a.lib, set(nodes))

    def report(title, names, detail=lambda s: ''):
        if names:
            errors.append(title + ':')
            errors.extend(f'    {s}{detail(s)}' for s in sorted(names))

    m, d, e = set(mapped), set(declared), set(exported)
    report(f'in {a.map} but not exported by {a.lib} (no definition, or '
           'not marked ' + macro + ' in the .c file?)', m - e)
    report(f'exported by {a.lib} but not in the map', e - m)
    report(f'exported by {a.lib} but not declared with {macro} in a '
           'public header', e - d)
    report(f'declared with {macro} but not in {a.map}', d - m,
           lambda s: f'  ({declared[s]})')
    report(f'exported symbols outside the {prefix} namespace',
           {s for s in e if not s.startswith(prefix)},
           lambda s: f'  (nm type {exported[s]})')

    print(f'libchronik-{a.name}: {len(m)} in map ({", ".join(nodes)}), '
          f'{len(d)} declared in {len(a.headers)} headers, '
          f'{len(e)} exported')
    if errors:
        print('\n'.join(['FAIL: symbol lists disagree'] + errors))
        return 1
    print('OK: map, headers and nm -D agree')
    return 0


if __name__ == '__main__':
    sys.exit(main())
