#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Run the real chronik-server binary with a controlled environment and
check the command line, exit codes and `start --print-config` (the
precedence flags > environment > file > defaults, end to end)."""
import os
import re
import subprocess
import sys
import tempfile
import tomllib

BIN = os.path.abspath(sys.argv[1])
failures = []


def run(args, env=None, cwd=None):
    base = {k: v for k, v in os.environ.items()
            if k.endswith('SAN_OPTIONS')}  # keep sanitizer settings only
    base.update(env or {})
    p = subprocess.run([BIN] + args, env=base, cwd=cwd, capture_output=True,
                       text=True, timeout=20)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=''):
    print(('ok - ' if cond else 'not ok - ') + name)
    if not cond:
        failures.append(name)
        if detail:
            print('# ' + detail.replace('\n', '\n# '))


def source_of(text, section, key):
    """The '# source' comment of key in section of a print-config dump."""
    cur = ''
    for line in text.splitlines():
        m = re.match(r'^\[(\w+)\]', line)
        if m:
            cur = m.group(1)
            continue
        m = re.match(r'^(?:# )?"?([\w.]+)"? = (.*)  # (.*)$', line)
        if m and cur == section and m.group(1) == key:
            return m.group(2), m.group(3)
    return None, None


rc, out, err = run(['--help'])
check('--help exits 0 with usage', rc == 0 and 'Usage: chronik-server' in out)
rc, out, err = run(['start', '--help'])
check('start --help lists the flags', rc == 0 and all(
    f in out for f in ['--advertise', '--bind', '--data-dir', '--config',
                       '--node-id', '--wal-profile', '--http-port',
                       '--log-level', '--print-config']), out)
rc, out, err = run(['version'])
check('version', rc == 0 and re.fullmatch(r'chronik-server \d+\.\d+\.\d+\n',
                                          out) is not None, out)
rc, out, err = run([])
check('no command: usage, exit 2', rc == 2 and 'missing command' in err
      and 'Usage:' in err, err)
rc, out, err = run(['start', '--bogus'])
check('unknown flag: error + start usage, exit 2',
      rc == 2 and "unknown option '--bogus'" in err
      and 'Usage: chronik-server start' in err, err)
rc, out, err = run(['start', '--data-dir', '/proc/chronik-none/data',
                   '--bind', '127.0.0.1:0', '--http-port', '0'])
check('start with an unusable data dir: error, exit 1',
      rc == 1 and 'cannot create /proc/chronik-none/data' in err, err)

with tempfile.TemporaryDirectory() as tmp:
    cfg = os.path.join(tmp, 'cluster.toml')
    with open(cfg, 'w') as f:
        f.write('data_dir = "/file"\nwal_profile = "low"\n'
                'http_port = 7001\nlog_level = "debug"\n'
                '"num.partitions" = 4\n[bind]\nkafka = "127.0.0.1:0"\n')
    env = {'CHRONIK_DATA_DIR': '/env', 'CHRONIK_WAL_PROFILE': 'high',
           'CHRONIK_ADMIN_API_KEY': 'top-secret'}
    rc, out, err = run(['start', '--config', cfg, '--data-dir', '/flag',
                        '--print-config'], env)
    check('print-config exits 0', rc == 0, err)
    doc = tomllib.loads(out) if rc == 0 else {}
    check('flag beats env and file', doc.get('data_dir') == '/flag' and
          source_of(out, '', 'data_dir')[1] == '--data-dir', out)
    check('env beats file', doc.get('wal_profile') == 'high' and
          source_of(out, '', 'wal_profile')[1] ==
          'environment CHRONIK_WAL_PROFILE', out)
    check('file beats default', doc.get('http_port') == 7001 and
          doc.get('num.partitions') == 4 and
          source_of(out, '', 'http_port')[1] == cfg + ':3:1', out)
    check('defaults fill the rest', doc.get('node_id') == 1 and
          doc.get('socket.request.max.bytes') == 104857600 and
          doc.get('connections.max.idle.ms') == 600000 and
          doc.get('auto.create.topics.enable') is True and
          source_of(out, '', 'node_id')[1] == 'default', out)
    check('advertise derived from a specific bind host',
          source_of(out, 'advertise', 'kafka') ==
          ('"127.0.0.1:0"', 'derived from bind.kafka'), out)
    check('admin key never printed', 'top-secret' not in out)

    # The dump is a config file that gives the same settings back.
    again = os.path.join(tmp, 'again.toml')
    with open(again, 'w') as f:
        f.write(out)
    rc2, out2, err2 = run(['start', '--config', again, '--print-config'])
    doc2 = tomllib.loads(out2) if rc2 == 0 else None
    check('print-config output loads back to the same settings',
          doc2 == doc, err2)

    with open(cfg, 'w') as f:
        f.write('node_id = 1\n\n[bind]\n  kafak = "a:1"\n')
    rc, out, err = run(['start', '--config', cfg, '--print-config'])
    check('unknown key: file:line:column, exit 2', rc == 2 and err ==
          'chronik-server: %s:4:3: unknown key \'bind.kafak\' '
          '(did you mean \'bind.kafka\'?)\n' % cfg, err)
    with open(cfg, 'w') as f:
        f.write('node_id 1\n')
    rc, out, err = run(['start', '--config', cfg])
    check('TOML syntax error: file:line:column, exit 2', rc == 2 and
          "%s:1:9: expected '=' after key 'node_id'" % cfg in err, err)

rc, out, err = run(['start', '--print-config'],
                   {'CHRONIK_ADVERTISED_ADDR': '0.0.0.0:9092'})
check('advertising 0.0.0.0 is refused', rc == 2 and err ==
      'chronik-server: environment CHRONIK_ADVERTISED_ADDR: clients '
      'cannot connect to 0.0.0.0; set --advertise or '
      'CHRONIK_ADVERTISED_ADDR to a reachable host:port\n', err)
rc, out, err = run(['start', '--print-config', '--advertise', 'b.example:1'],
                   {'CHRONIK_ADVERTISE': '0.0.0.0:9092',
                    'CHRONIK_DATADIR': '/typo'})
check('flag overrides a bad env value; unknown CHRONIK_ var warned',
      rc == 0 and re.search(r'WARN  \[config\] ignoring unknown environment '
                            r'variable CHRONIK_DATADIR', err) is not None,
      err)
rc, out, err = run(['start', '--print-config', '--log-level', 'error'],
                   {'CHRONIK_DATADIR': '/typo'})
check('log level from config filters warnings', rc == 0 and err == '', err)

sys.exit(1 if failures else 0)
