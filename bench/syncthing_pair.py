#!/usr/bin/env python3
"""Syncthing beside the agent: how long a file dropped into a watched folder takes to reach the
other side when a general-purpose sync tool, at a given filesystem-watcher delay, does the job.

Two Syncthing instances run on this machine with homes of their own in a scratch folder and talk
over 127.0.0.1 only. Instance A shares the folder `bench` send-only; instance B receives it
receive-only. The drops are the ones `target/release/bench` makes for the agent: files are
written into a staging folder on the same filesystem, synced, then renamed into A's folder in
one `rename(2)` (a batch as one folder); the clock starts just before the rename and stops when
every file is in B's folder under its name with its full size (Syncthing writes a temporary file
and renames it when done). Contents are checked by SHA-256 afterwards, off the clock.

Run through bench/syncthing_pair.sh, which puts it in a network namespace of its own when it can.
Settings (environment): DELAYS=10,1 REPS=5 SMALL_KIB=1024 NFILES=200 FILE_MIB=5 BATCH_REPS=3
BIG_MIB=1024 BIG_REPS=3 TIMEOUT_S=900 KEEP_SCRATCH=0. Only the standard library is used.
"""

import hashlib
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

MIB = 1 << 20
FOLDER = "bench"


def env_int(name, default):
    return int(os.environ.get(name, default))


SETTINGS = {
    "delays": [int(d) for d in os.environ.get("DELAYS", "10,1").split(",") if d.strip()],
    "reps": env_int("REPS", 5),
    "small_kib": env_int("SMALL_KIB", 1024),
    "nfiles": env_int("NFILES", 200),
    "file_mib": env_int("FILE_MIB", 5),
    "batch_reps": env_int("BATCH_REPS", 3),
    "big_mib": env_int("BIG_MIB", 1024),
    "big_reps": env_int("BIG_REPS", 3),
    "timeout": env_int("TIMEOUT_S", 900),
}


def say(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def unused_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_random(path, size):
    """Fresh random bytes for every file, so Syncthing cannot reuse blocks it has seen."""
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(4 * MIB, left))
            digest.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


def cpu_seconds(pid):
    """User + system time of a process, from /proc (fields 14 and 15 of stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Instance:
    """One Syncthing: its home, ports, API key and process."""

    def __init__(self, name, scratch):
        self.name = name
        self.home = os.path.join(scratch, f"home-{name}")
        self.folder = os.path.join(scratch, f"folder-{name}")
        self.gui_port = unused_port()
        self.sync_port = unused_port()
        self.api_key = secrets.token_urlsafe(24)
        self.proc = None
        os.makedirs(self.folder)
        out = subprocess.run(
            ["syncthing", "generate", f"--home={self.home}", "--no-default-folder"],
            capture_output=True, text=True, check=True,
        )
        self.device_id = next(
            line.split("Device ID:", 1)[1].strip()
            for line in (out.stdout + out.stderr).splitlines() if "Device ID:" in line
        )
        self.keep_to_loopback()

    def keep_to_loopback(self):
        """Before the first start: listen and serve on 127.0.0.1 only, and switch off everything
        that would reach another host (discovery, relays, NAT traversal, STUN, usage and crash
        reports, upgrades)."""
        path = os.path.join(self.home, "config.xml")
        tree = ET.parse(path)
        root = tree.getroot()
        gui = root.find("gui")
        gui.find("address").text = f"127.0.0.1:{self.gui_port}"
        gui.find("apikey").text = self.api_key
        options = root.find("options")
        wanted = {
            "listenAddress": f"tcp://127.0.0.1:{self.sync_port}",
            "globalAnnounceEnabled": "false",
            "localAnnounceEnabled": "false",
            "relaysEnabled": "false",
            "natEnabled": "false",
            "urAccepted": "-1",
            "autoUpgradeIntervalH": "0",
            "crashReportingEnabled": "false",
            "startBrowser": "false",
            "stunKeepaliveStartS": "0",
            "setLowPriority": "false",
        }
        for key, value in wanted.items():
            node = options.find(key)
            if node is None:
                node = ET.SubElement(options, key)
            node.text = value
        tree.write(path)

    def start(self, log_folder):
        env = dict(os.environ, STNORESTART="1", STNOUPGRADE="1", STMONITORED="yes", STNODEFAULTFOLDER="1")
        log = open(os.path.join(log_folder, f"syncthing-{self.name}.log"), "wb")
        self.proc = subprocess.Popen(
            ["syncthing", "serve", f"--home={self.home}", "--no-browser", "--no-restart", "--no-upgrade"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.rest("GET", "/rest/system/ping").get("ping") == "pong":
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if self.proc.poll() is not None:
                sys.exit(f"syncthing {self.name} exited at start; see its log in the scratch folder")
            time.sleep(0.2)
        sys.exit(f"syncthing {self.name} did not answer within 60 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def rest(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.gui_port}{path}", data=data, method=method,
            headers={"X-API-Key": self.api_key, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read()
        return json.loads(text) if text.strip() else {}

    def meet(self, other, folder_type, delay):
        self.rest("PUT", f"/rest/config/devices/{other.device_id}", {
            "deviceID": other.device_id,
            "name": other.name,
            "addresses": [f"tcp://127.0.0.1:{other.sync_port}"],
        })
        self.rest("PUT", f"/rest/config/folders/{FOLDER}", {
            "id": FOLDER,
            "label": FOLDER,
            "path": self.folder,
            "type": folder_type,
            "devices": [{"deviceID": self.device_id}, {"deviceID": other.device_id}],
            "fsWatcherEnabled": True,
            "fsWatcherDelayS": delay,
            "rescanIntervalS": 3600,
        })

    def idle(self):
        return self.rest("GET", f"/rest/db/status?folder={FOLDER}").get("state") == "idle"


class Pair:
    def __init__(self, scratch):
        self.scratch = scratch
        self.staging = os.path.join(scratch, "staging")
        os.makedirs(self.staging)
        self.a = Instance("A", scratch)
        self.b = Instance("B", scratch)

    def start(self):
        first = SETTINGS["delays"][0]
        for one in (self.a, self.b):
            one.start(self.scratch)
        self.a.meet(self.b, "sendonly", first)
        self.b.meet(self.a, "receiveonly", first)
        self.wait(lambda: self.a.rest("GET", "/rest/system/connections")["connections"]
                  .get(self.b.device_id, {}).get("connected"), "the two instances to connect")

    def stop(self):
        for one in (self.a, self.b):
            one.stop()

    def wait(self, ready, what, poll=0.1):
        deadline = time.monotonic() + SETTINGS["timeout"]
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(poll)
        sys.exit(f"timed out waiting for {what}")

    def set_delay(self, delay):
        for one in (self.a, self.b):
            one.rest("PATCH", f"/rest/config/folders/{FOLDER}", {"fsWatcherDelayS": delay})

    def settle(self, delay):
        """Empties both sides, waits until both are idle, then lets the watcher's timer run out
        (2.5 × its delay + 1 s), so every drop is measured from a quiet start."""
        for entry in os.listdir(self.a.folder):
            if entry.startswith(".st"):
                continue
            path = os.path.join(self.a.folder, entry)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        self.a.rest("POST", f"/rest/db/scan?folder={FOLDER}")
        self.wait(lambda: not [e for e in os.listdir(self.b.folder) if not e.startswith(".st")],
                  "B to apply the deletions")
        self.wait(lambda: self.a.idle() and self.b.idle(), "both instances to be idle")
        time.sleep(2.5 * delay + 1)

    def drop(self, name, files):
        """`files` maps paths relative to the staged item `name` to (size, sha256). Renames the
        item into A's folder and returns the seconds until all of it is in B's folder."""
        subprocess.run(["sync"], check=True)
        cpu = [cpu_seconds(one.proc.pid) for one in (self.a, self.b)]
        source = os.path.join(self.staging, name)
        t0 = time.monotonic()
        os.rename(source, os.path.join(self.a.folder, name))
        waiting = dict(files)
        poll = 0.005 if len(files) == 1 else 0.02
        deadline = t0 + SETTINGS["timeout"]
        while waiting:
            for rel, (size, _) in list(waiting.items()):
                try:
                    if os.stat(os.path.join(self.b.folder, rel)).st_size == size:
                        del waiting[rel]
                except FileNotFoundError:
                    pass
            if time.monotonic() > deadline:
                sys.exit(f"{len(waiting)} files of {name} never arrived")
            if waiting:
                time.sleep(poll)
        elapsed = time.monotonic() - t0
        for rel, (_, digest) in files.items():
            if sha256_of(os.path.join(self.b.folder, rel)) != digest:
                sys.exit(f"{rel} arrived with other content")
        self.wait(lambda: self.a.idle() and self.b.idle(), "both instances to be idle")
        spent = [cpu_seconds(one.proc.pid) - before for one, before in zip((self.a, self.b), cpu)]
        return elapsed, spent


def stage_file(pair, name, size):
    digest = write_random(os.path.join(pair.staging, name), size)
    return {name: (size, digest)}


def stage_batch(pair, name, count, size):
    folder = os.path.join(pair.staging, name)
    os.makedirs(folder)
    files = {}
    for i in range(count):
        rel = f"{name}/f{i:03d}.bin"
        files[rel] = (size, write_random(os.path.join(pair.staging, rel), size))
    return files


def sockets_leaving_loopback():
    """Remote addresses of TCP and UDP sockets in this network namespace that are neither
    loopback nor unset: there should be none."""
    found = set()
    for table in ("tcp", "udp", "tcp6", "udp6"):
        try:
            with open(f"/proc/net/{table}") as f:
                rows = f.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            remote = row.split()[2].split(":")[0]
            if set(remote) == {"0"}:
                continue
            if table.endswith("6"):
                loopback = remote == "00000000000000000000000001000000" or remote.endswith("0100007F")
            else:
                loopback = remote.endswith("7F")  # 127.x.x.x, stored little-endian
            if not loopback:
                found.add((table, remote))
    return sorted(found)


def main():
    if not shutil.which("syncthing"):
        sys.exit("syncthing is not installed: apt-get install syncthing")
    scratch = tempfile.mkdtemp(prefix="yingjian-syncthing-")
    pair = Pair(scratch)
    rows = []
    try:
        version = subprocess.run(["syncthing", "--version"], capture_output=True, text=True).stdout.strip()
        say(f"{version}; {os.environ.get('_BENCH_NETNS_NOTE', 'host network namespace')}")
        pair.start()
        s = SETTINGS
        for delay in s["delays"]:
            pair.set_delay(delay)
            say(f"fsWatcherDelayS={delay}")
            measures = [
                (f"{s['small_kib']} KiB renamed in → arrived", s["reps"],
                 lambda run: (f"one{delay}-{run}.bin", stage_file(pair, f"one{delay}-{run}.bin", s["small_kib"] << 10))),
                (f"{s['nfiles']} × {s['file_mib']} MiB dropped at once → all arrived", s["batch_reps"],
                 lambda run: (f"batch{delay}-{run}", stage_batch(pair, f"batch{delay}-{run}", s["nfiles"], s["file_mib"] * MIB))),
                (f"{s['big_mib']} MiB renamed in → arrived", s["big_reps"],
                 lambda run: (f"big{delay}-{run}.bin", stage_file(pair, f"big{delay}-{run}.bin", s["big_mib"] * MIB))),
            ]
            for label, runs, stage in measures:
                times, cpu_a, cpu_b = [], [], []
                for run in range(runs):
                    pair.settle(delay)
                    name, files = stage(run)
                    elapsed, (a, b) = pair.drop(name, files)
                    say(f"  {label}: {elapsed:.3f} s (CPU A {a:.2f} s, B {b:.2f} s)")
                    times.append(elapsed)
                    cpu_a.append(a)
                    cpu_b.append(b)
                rows.append((label, delay, times, statistics.median(cpu_a), statistics.median(cpu_b)))
        leaks = sockets_leaving_loopback()
    finally:
        pair.stop()
        if os.environ.get("KEEP_SCRATCH") == "1":
            say(f"scratch kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    print()
    header = ("measure", "fsWatcherDelayS", "min s", "median s", "max s", "runs", "CPU s A / B (median)")
    table = [header] + [
        (label, str(delay), f"{min(t):.3f}", f"{statistics.median(t):.3f}", f"{max(t):.3f}", str(len(t)),
         f"{a:.2f} / {b:.2f}")
        for label, delay, t, a, b in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print()
    print("sockets beyond loopback: " + (", ".join(f"{t} {r}" for t, r in leaks) if leaks else "none"))


if __name__ == "__main__":
    main()
