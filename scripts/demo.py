#!/usr/bin/python3
"""make demo: a real carbon-cache restarted under load, with and without -spool-dir, drawn as demo-carbon-restart.png.

For each run: Debian's carbon-cache (1 s retention), the published gateway in front of it, and a sender posting
1000 series a second to /ingest as a polymur-proxy would. carbon-cache is stopped at 20 s and started again at 35 s.
After the run, whisper-fetch reads every series back, and the plot shows how many of the 1000 points of each
second carbon stored. Graphite's own renderer (graphite-web) needs a configured Django site behind a WSGI server;
matplotlib draws the same whisper data instead.
"""
import gzip, os, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, 'artifacts', 'publish', 'polymur-gateway')
SERIES, SECONDS, DOWN_AT, UP_AT = 1000, 60, 20, 35


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(('127.0.0.1', port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f'demo: nothing listened on {port}')


def carbon(root, port):
    os.makedirs(f'{root}/conf', exist_ok=True)
    with open(f'{root}/conf/carbon.conf', 'w') as f:
        f.write(f"""[cache]
STORAGE_DIR = {root}/storage/
LOCAL_DATA_DIR = {root}/storage/whisper/
CONF_DIR = {root}/conf/
LOG_DIR = {root}/log/
PID_DIR = {root}/
DATABASE = whisper
ENABLE_TAGS = False
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = {port}
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = {free_port()}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = {free_port()}
""")
    with open(f'{root}/conf/storage-schemas.conf', 'w') as f:
        f.write('[default]\npattern = .*\nretentions = 1s:10m\n')
    process = subprocess.Popen(['carbon-cache', f'--config={root}/conf/carbon.conf', '--nodaemon', 'start'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return process


def run(spool):
    work = tempfile.mkdtemp(prefix='pgw-demo-')
    line_port, http_port, stat_port = free_port(), free_port(), free_port()
    cache = carbon(f'{work}/carbon', line_port)
    args = [BINARY, '-dev-mode', '-listen-addr', '127.0.0.1', '-listen-http-port', str(http_port),
            '-stat-addr', f'127.0.0.1:{stat_port}', '-api-addr', '127.0.0.1:0', '-destinations', f'127.0.0.1:{line_port}']
    if spool:
        os.makedirs(f'{work}/spool')
        args += ['-spool-dir', f'{work}/spool']
    gateway = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(f'{work}/gateway.log', 'w'))
    wait_port(http_port)
    start = int(time.time()) + 1
    refused = 0
    for second in range(SECONDS):
        ts = start + second
        while time.time() < ts:
            time.sleep(0.01)
        if second == DOWN_AT:
            cache.send_signal(signal.SIGTERM)
            cache.wait()
        if second == UP_AT:
            cache = carbon(f'{work}/carbon', line_port)
        body = gzip.compress(''.join(f'demo.s{i:04d} {second} {ts}\n' for i in range(SERIES)).encode())
        request = urllib.request.Request(f'http://127.0.0.1:{http_port}/ingest', data=body, headers={'X-Polymur-Key': '123'})
        try:
            urllib.request.urlopen(request, timeout=5).read()
        except Exception:
            refused += 1
    time.sleep(8)  # replay and carbon's own write-back
    gateway.send_signal(signal.SIGTERM)
    gateway.wait()
    time.sleep(2)
    cache.send_signal(signal.SIGTERM)
    cache.wait()
    stored = [0] * SECONDS
    for i in range(SERIES):
        path = f'{work}/carbon/storage/whisper/demo/s{i:04d}.wsp'
        if not os.path.exists(path):
            continue
        out = subprocess.run(['whisper-fetch', '--from', str(start - 1), '--until', str(start + SECONDS), path],
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            t, value = line.split()
            if value != 'None' and 0 <= int(t) - start < SECONDS:
                stored[int(t) - start] += 1
    dropped = next((l for l in open(f'{work}/gateway.log') if 'Stopped:' in l), '').strip()
    shutil.rmtree(work)
    return stored, refused, dropped


def main():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    if not os.path.exists(BINARY):
        sys.exit(f'demo: {BINARY} is missing (make publish)')
    results = {}
    for spool in (False, True):
        stored, refused, stopped = run(spool)
        label = 'with -spool-dir' if spool else 'without a spool'
        missing = SERIES * SECONDS - sum(stored)
        results[label] = stored
        print(f'{label}: {sum(stored)} of {SERIES * SECONDS} points stored, {missing} missing; '
              f'{refused} requests not answered 200; gateway: {stopped.split("Stopped: ", 1)[-1]}')
    fig, axes = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
    for ax, (label, stored) in zip(axes, results.items()):
        ax.axvspan(DOWN_AT, UP_AT, color='0.9', label='carbon-cache stopped')
        ax.step(range(SECONDS), stored, where='mid', color='tab:blue' if 'spool-dir' in label else 'tab:red', label='points stored that second')
        ax.set_ylim(0, SERIES * 1.1)
        ax.set_ylabel('points of 1000')
        missing = SERIES * SECONDS - sum(stored)
        ax.set_title(f'{label}: {missing} of {SERIES * SECONDS} points missing', fontsize=10)
        ax.legend(loc='lower left', fontsize=8)
    axes[1].set_xlabel('seconds (1000 series, one point a second each, through polymur-gateway into carbon-cache)')
    fig.suptitle('A carbon-cache restart under load, read back with whisper-fetch', fontsize=11)
    fig.tight_layout()
    out = os.path.join(ROOT, 'demo-carbon-restart.png')
    fig.savefig(out, dpi=90)
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
