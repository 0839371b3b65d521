#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Run a kafkajs integration test under node.

  run_kafkajs.py TEST.js CHRONIK_SERVER

kafkajs comes from tests/integration/node_modules, which
`scripts/setup.sh test` fills with `npm install` (package.json, no lock
file). Without node or kafkajs the test is skipped (exit 77) with the
reason, except under CI (CI set and not "false"/"0"), where setup.sh
must have installed both, so a missing one is a failure (exit 1).
"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def missing(why):
    ci = os.environ.get('CI', '').lower() not in ('', '0', 'false', 'no')
    if ci:
        print('not ok - %s (CI is set: scripts/setup.sh test installs it, '
              'so this is a failure)' % why, flush=True)
        sys.exit(1)
    print('# SKIP %s' % why, flush=True)
    sys.exit(77)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    node = shutil.which('node') or shutil.which('nodejs')
    if not node:
        missing('node is not installed (scripts/setup.sh test installs '
                'nodejs and npm)')
    if not os.path.isfile(os.path.join(HERE, 'node_modules', 'kafkajs',
                                       'package.json')):
        how = ('run scripts/setup.sh test, or npm install --no-package-lock'
               ' in tests/integration' if shutil.which('npm') else
               'npm is not installed either (scripts/setup.sh test)')
        missing('kafkajs is not installed in %s/node_modules (%s)'
                % (HERE, how))
    script = os.path.abspath(sys.argv[1])
    sys.stdout.flush()
    os.execv(node, [node, script, sys.argv[2]])


if __name__ == '__main__':
    sys.exit(main())
