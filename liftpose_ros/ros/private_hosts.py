"""Two private network "hosts" on one machine, joined by a link of their own.

The across-host test and benchmark split the graph over two machines without a second machine
and without touching any real network: each "host" is a network namespace holding loopback and
one end of a veth pair; the pair carries private addresses that exist only inside those two
namespaces, and each host's default route points at the link, as a host's default route points
at its LAN. A packet can therefore go to the other namespace and nowhere else.

Each namespace lives as long as a holder process (`unshare -n -- cat`) whose stdin is a pipe
from this process: `close()` ends it, and so does this process's death (the pipe closes, `cat`
reads EOF), so the namespaces and their link vanish with the processes started inside them even
when a test fails or is killed. Needs `unshare`, `nsenter` and `ip` (util-linux, iproute2) and
the right to create network namespaces (root, as the test suite runs).

Commands run inside a host through `argv()`; `env()` adds the discovery settings of
config/across_hosts.env with the other host as static peer.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ACROSS_HOSTS_ENV = Path(__file__).resolve().parents[2] / "config" / "across_hosts.env"
# RFC 1918 addresses in a /30: exactly the two ends of the link
LINK_ADDRESSES = ("10.231.77.1", "10.231.77.2")
LINK_PREFIX = 30
LINK_NAMES = ("lp_host_a", "lp_host_b")
TOOLS = ("unshare", "nsenter", "ip")


class PrivateHostsError(RuntimeError):
    """The two namespaces could not be made (missing tools or privileges)."""


@dataclass
class Host:
    """One end: its name, its address on the link, the link's interface name and the pid whose
    network namespace it is."""

    name: str
    address: str
    interface: str
    holder: subprocess.Popen = field(repr=False)

    @property
    def pid(self) -> int:
        return self.holder.pid


def read_env_file(path: Path = ACROSS_HOSTS_ENV) -> dict[str, str]:
    """KEY=VALUE lines of a shell/systemd environment file (comments and blanks skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().strip('"')
    return values


class PrivateHosts:
    """Host A and host B, joined by one veth link. Use as a context manager."""

    def __init__(self) -> None:
        missing = [tool for tool in TOOLS if shutil.which(tool) is None]
        if missing:
            raise PrivateHostsError(f"missing tools {missing} (util-linux, iproute2)")
        self.hosts: list[Host] = []
        try:
            for name, address, interface in zip("ab", LINK_ADDRESSES, LINK_NAMES):
                self.hosts.append(Host(name, address, interface, self._holder()))
            self._wire()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ set-up
    @staticmethod
    def _holder() -> subprocess.Popen:
        """A process alone in a new network namespace, alive until its stdin closes."""
        holder = subprocess.Popen(["unshare", "-n", "--", "cat"], stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        own = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:  # unshare has switched once the link differs
            if holder.poll() is not None:
                raise PrivateHostsError("cannot create a network namespace: "
                                        f"{holder.stderr.read().decode().strip()}")
            try:
                if os.readlink(f"/proc/{holder.pid}/ns/net") != own:
                    return holder
            except OSError:
                pass
            time.sleep(0.01)
        holder.kill()
        raise PrivateHostsError("the namespace holder did not start within 5 s")

    def _wire(self) -> None:
        a, b = self.hosts
        self.run(a, "ip", "link", "add", a.interface, "type", "veth", "peer", "name",
                 b.interface, "netns", str(b.pid))
        for host in self.hosts:
            self.run(host, "ip", "link", "set", "lo", "up")
            self.run(host, "ip", "addr", "add", f"{host.address}/{LINK_PREFIX}",
                     "dev", host.interface)
            self.run(host, "ip", "link", "set", host.interface, "up")
            self.run(host, "ip", "route", "add", "default", "dev", host.interface)

    def run(self, host: Host, *command: str) -> str:
        """Run a short command inside `host`; its stdout, or PrivateHostsError."""
        done = subprocess.run(self.argv(host, list(command)), capture_output=True, text=True,
                              timeout=30)
        if done.returncode != 0:
            raise PrivateHostsError(f"{' '.join(command)} in host {host.name}: "
                                    f"{done.stderr.strip()}")
        return done.stdout

    # ------------------------------------------------------------------ use
    @property
    def a(self) -> Host:
        return self.hosts[0]

    @property
    def b(self) -> Host:
        return self.hosts[1]

    def peer(self, host: Host) -> Host:
        return self.b if host is self.a else self.a

    @staticmethod
    def argv(host: Host, argv: list[str]) -> list[str]:
        """The command line that runs `argv` inside `host`'s network namespace."""
        return ["nsenter", "-t", str(host.pid), "-n", "--", *argv]

    def env(self, host: Host, base: dict[str, str], domain_id: int,
            shared_memory: bool = False) -> dict[str, str]:
        """`base` + the shipped across-host settings, the other host as static peer.
        Both namespaces share one kernel and one /dev/shm, where two real hosts share nothing:
        with shared_memory=False the process talks UDPv4 only, and since a Fast DDS writer
        uses shared memory only with readers that offer it, giving it to the processes of one
        host alone keeps every exchange between the hosts on the link."""
        env = dict(base, **read_env_file())
        env.update(ROS_DOMAIN_ID=str(domain_id), ROS_STATIC_PEERS=self.peer(host).address)
        if shared_memory:
            env.pop("FASTDDS_BUILTIN_TRANSPORTS", None)
        else:
            env["FASTDDS_BUILTIN_TRANSPORTS"] = "UDPv4"
            env.pop("FASTDDS_DEFAULT_PROFILES_FILE", None)
        return env

    def link_bytes(self) -> int:
        """Bytes that have crossed the link so far, both directions (host A's counters)."""
        for line in Path(f"/proc/{self.a.pid}/net/dev").read_text().splitlines()[2:]:
            name, _, counters = line.partition(":")
            if name.strip() == self.a.interface:
                fields = counters.split()
                return int(fields[0]) + int(fields[8])  # rx bytes + tx bytes
        raise PrivateHostsError(f"interface {self.a.interface} not found in host a")

    def alive(self) -> bool:
        """Whether any namespace holder still runs."""
        return any(host.holder.poll() is None for host in self.hosts)

    def close(self) -> None:
        """End the holders; the namespaces and the link go with the last process inside."""
        for host in self.hosts:
            if host.holder.poll() is None:
                host.holder.stdin.close()
                try:
                    host.holder.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    host.holder.kill()
                    host.holder.wait()
            if host.holder.stderr:
                host.holder.stderr.close()

    def __enter__(self) -> PrivateHosts:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
