#!/usr/bin/env python3
"""Assemble expected.jsonl from raw `terraform console` outputs (called by regen.sh).

Usage: regen.py CORPUS RESDIR [VERSION_FILE] > expected.jsonl

RESDIR holds, for each corpus line number N, N.jsonencode.{out,err,rc} and
N.type.{out,err,rc}. Values are kept as the exact JSON text Terraform's
jsonencode produced (validated, never re-serialised), so big numbers keep all digits.
"""
import json
import os
import re
import sys


def go_unquote(s):
    """Decode a Go strconv.Quote literal (what `terraform console` prints for strings)."""
    if len(s) < 2 or s[0] != '"' or s[-1] != '"':
        raise ValueError("not a quoted string: %r" % s[:80])
    body = s[1:-1]
    out = bytearray()
    simple = {'a': 7, 'b': 8, 'f': 12, 'n': 10, 'r': 13, 't': 9, 'v': 11,
              '\\': 92, '"': 34, "'": 39}
    i = 0
    while i < len(body):
        c = body[i]
        if c != '\\':
            out += c.encode('utf-8')
            i += 1
            continue
        e = body[i + 1]
        if e in simple:
            out.append(simple[e])
            i += 2
        elif e == 'x':
            out.append(int(body[i + 2:i + 4], 16))
            i += 4
        elif e == 'u':
            out += chr(int(body[i + 2:i + 6], 16)).encode('utf-8', 'surrogatepass')
            i += 6
        elif e == 'U':
            out += chr(int(body[i + 2:i + 10], 16)).encode('utf-8')
            i += 10
        elif e in '01234567':
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
        else:
            raise ValueError("unknown escape \\%s" % e)
    return out.decode('utf-8')


def console_string(text):
    """Turn console output for a string value into the Python string."""
    text = text.rstrip('\n')
    if text.startswith('<<'):
        # Multi-line strings are printed as a heredoc: <<EOT\n...\nEOT
        lines = text.split('\n')
        marker = lines[0][2:].lstrip('-~')
        if lines[-1].strip() != marker:
            raise ValueError("unterminated heredoc")
        return '\n'.join(lines[1:-1]) + '\n'
    return go_unquote(text)


def collapse_type(text):
    """`object({\n    a: number,\n})` -> `object({a: number})`."""
    one = ' '.join(line.strip() for line in text.strip().split('\n'))
    one = re.sub(r',\s*([\]\)\}])', r'\1', one)
    one = re.sub(r'([\[\(\{])\s+', r'\1', one)
    one = re.sub(r'\s+([\]\)\}])', r'\1', one)
    return one


def parse_error(err):
    """Return (summary, detail) of the first `Error:` diagnostic in stderr."""
    lines = [l.lstrip('│╷╵ ').rstrip() if l.startswith(('│', '╷', '╵')) else l.rstrip()
             for l in err.split('\n')]
    for i, line in enumerate(lines):
        if line.startswith('Error: '):
            summary = line[len('Error: '):].strip()
            # Paragraphs after the summary: skip the "on <console-input> ..." block.
            paras, cur = [], []
            for l in lines[i + 1:]:
                if l.startswith(('Error: ', 'Warning: ')):
                    break
                if l.strip() == '':
                    if cur:
                        paras.append(cur)
                        cur = []
                else:
                    cur.append(l.strip())
            if cur:
                paras.append(cur)
            paras = [p for p in paras if not p[0].startswith('on <console-input>')]
            detail = ' '.join(' '.join(p) for p in paras)
            # Panics inside Terraform functions carry a Go stack trace with
            # run-specific addresses: keep only the message, so output is stable.
            if 'panic in function implementation' in detail:
                detail = re.split(r'\s+goroutine \d+ \[', detail)[0]
            return summary, detail
    tail = err.strip().split('\n')
    return (tail[0] if tail and tail[0] else 'terraform console failed without diagnostics'), ''


def read(resdir, n, kind, ext):
    path = os.path.join(resdir, '%d.%s.%s' % (n, kind, ext))
    try:
        with open(path, encoding='utf-8', errors='surrogateescape') as f:
            return f.read()
    except FileNotFoundError:
        return None


def record(expr, resdir, n):
    rec = {'expr': expr}
    type_str = None
    t_rc = read(resdir, n, 'type', 'rc')
    t_out = read(resdir, n, 'type', 'out')
    if t_rc is not None and t_rc.strip() == '0' and t_out and t_out.strip():
        type_str = collapse_type(t_out)

    j_rc = read(resdir, n, 'jsonencode', 'rc')
    j_out = read(resdir, n, 'jsonencode', 'out') or ''
    j_err = read(resdir, n, 'jsonencode', 'err') or ''
    if j_rc is None:
        rec.update(ok=False, error='regen: no result (terraform did not run)')
        return rec, None
    if j_rc.strip() == '0' and j_out.strip() == '(known after apply)':
        # Terraform produced an unknown value (e.g. format("%s", null)), not a result.
        rec.update(ok=False, error='result is unknown (known after apply)',
                   detail='terraform console printed (known after apply) for jsonencode(EXPR); '
                          'Terraform returns an unknown value here instead of a value or an error')
        if type_str is not None:
            rec['type'] = type_str
        return rec, None
    if j_rc.strip() == '0' and j_out.strip():
        try:
            raw = console_string(j_out)
            json.loads(raw)  # validate only; keep Terraform's exact text
        except Exception as ex:  # noqa: BLE001
            rec.update(ok=False, error='regen: unparseable console output: %s' % ex,
                       detail=j_out.strip()[:500])
            return rec, None
        rec['ok'] = True
        rec['type'] = type_str
        return rec, raw
    rc = j_rc.strip()
    if rc == '124':
        summary, detail = 'regen: terraform console timed out', ''
    else:
        summary, detail = parse_error(j_err)
    rec.update(ok=False, error=summary)
    if detail:
        rec['detail'] = detail
    if type_str is not None:
        rec['type'] = type_str
    return rec, None


def dump(rec, raw_value):
    """Serialise with keys in a fixed order, splicing the raw JSON value in verbatim."""
    parts = ['"expr": ' + json.dumps(rec['expr'], ensure_ascii=False),
             '"ok": ' + ('true' if rec['ok'] else 'false')]
    if rec['ok']:
        parts.append('"value": ' + raw_value)
        parts.append('"type": ' + json.dumps(rec['type'], ensure_ascii=False))
    else:
        parts.append('"error": ' + json.dumps(rec['error'], ensure_ascii=False))
        if 'detail' in rec:
            parts.append('"detail": ' + json.dumps(rec['detail'], ensure_ascii=False))
        if rec.get('type') is not None:
            parts.append('"type": ' + json.dumps(rec['type'], ensure_ascii=False))
    line = '{' + ', '.join(parts) + '}'
    json.loads(line)  # sanity: still valid JSON
    return line


def main():
    corpus, resdir = sys.argv[1], sys.argv[2]
    with open(corpus, encoding='utf-8', newline='') as f:
        lines = f.read().split('\n')
    n_ok = n_err = 0
    out = sys.stdout
    for idx, line in enumerate(lines, start=1):
        expr = line.rstrip('\r')
        if expr.strip() == '' or expr.lstrip().startswith('#'):
            continue
        rec, raw = record(expr, resdir, idx)
        if rec['ok']:
            n_ok += 1
        else:
            n_err += 1
        out.write(dump(rec, raw) + '\n')
    print('regen.py: %d ok, %d errors' % (n_ok, n_err), file=sys.stderr)


if __name__ == '__main__':
    main()
