# SPDX-License-Identifier: Apache-2.0
"""Start the real chronik-server for integration tests (stdlib only).

    with Server(binary) as s:          # temp data dir, 127.0.0.1, port 0
        s.bootstrap                    # "127.0.0.1:PORT"
        s.kill9(); s.start()           # same data dir, new ports

The server's stderr goes to <tmp>/server.log; readiness is the log line
"kafka listening on 127.0.0.1:PORT" plus /ready answering 200. Every
wait is bounded; stop() sends SIGTERM and then SIGKILL by PID.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

results = []


def check(name, cond, detail=''):
    """TAP-style line; failures are remembered for finish()."""
    print(('ok - ' if cond else 'not ok - ') + name, flush=True)
    if not cond:
        results.append(name)
        if detail:
            print('# ' + str(detail).replace('\n', '\n# '), flush=True)
    return cond


def finish():
    if results:
        print('# FAILED: ' + ', '.join(results), flush=True)
        sys.exit(1)
    print('# all passed', flush=True)
    sys.exit(0)


def skip(why):
    print('# SKIP ' + why, flush=True)
    sys.exit(77)


class Server:
    def __init__(self, binary, toml='', data_dir=None, env=None,
                 kafka_port=0):
        self.binary = os.path.abspath(binary)
        self.tmp = tempfile.mkdtemp(prefix='chronik-it-')
        self.data_dir = data_dir or os.path.join(self.tmp, 'data')
        self.toml = toml
        self.env = env or {}
        self.proc = None
        self.port = None
        self.http_port = None
        self.log_path = os.path.join(self.tmp, 'server.log')
        self.starts = 0
        # A fixed port lets clients reconnect across restarts.
        self.kafka_port = kafka_port

    @property
    def bootstrap(self):
        return '127.0.0.1:%d' % self.port

    def start(self, timeout=30):
        cfg = os.path.join(self.tmp, 'chronik.toml')
        with open(cfg, 'w') as f:
            f.write('data_dir = "%s"\nhttp_port = 0\n' % self.data_dir)
            f.write(self.toml + '\n')
            f.write('[bind]\nkafka = "127.0.0.1:%d"\n' % self.kafka_port)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('CHRONIK_')}
        env.update(self.env)
        self.starts += 1
        log = open(self.log_path, 'a')
        log.write('=== start %d\n' % self.starts)
        log.flush()
        start_at = log.tell()
        self.proc = subprocess.Popen([self.binary, 'start', '--config', cfg],
                                     stdout=log, stderr=log, env=env)
        log.close()
        deadline = time.time() + timeout
        self.port = self.http_port = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('server exited with %s:\n%s' %
                                   (self.proc.returncode, self.log_tail()))
            with open(self.log_path) as f:
                f.seek(start_at)
                text = f.read()
            m = re.search(r'kafka listening on 127\.0\.0\.1:(\d+)', text)
            h = re.search(r'HTTP listening on \S+ port (\d+)', text)
            if m and h:
                self.port = int(m.group(1))
                self.http_port = int(h.group(1))
                if self.http_get('/ready')[0] == 200:
                    return self
            time.sleep(0.05)
        raise RuntimeError('server not ready in %ss:\n%s' %
                           (timeout, self.log_tail()))

    def http_get(self, path):
        try:
            with urllib.request.urlopen('http://127.0.0.1:%d%s' % (
                    self.http_port, path), timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, ''
        except OSError:
            return 0, ''

    def metric(self, name, labels=None):
        """Sum of the series of a metric whose labels include `labels`."""
        _, text = self.http_get('/metrics')
        total = 0.0
        for line in text.splitlines():
            if not line.startswith(name):
                continue
            m = re.match(r'^(\w+)(\{[^}]*\})? (\S+)$', line)
            if not m or m.group(1) != name:
                continue
            lab = m.group(2) or ''
            if labels and not all('%s="%s"' % kv in lab
                                  for kv in labels.items()):
                continue
            total += float(m.group(3))
        return total

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20):
        """SIGTERM (graceful), SIGKILL if it does not exit in time."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def log_tail(self, n=40):
        try:
            with open(self.log_path) as f:
                return ''.join(f.readlines()[-n:])
        except OSError:
            return ''

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is not None:
            print('# server log:\n# ' +
                  self.log_tail().replace('\n', '\n# '), flush=True)
        self.stop()
        if exc[0] is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return False
