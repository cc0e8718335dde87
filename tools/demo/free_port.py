#!/usr/bin/python3
"""Print a loopback TCP port that nobody is bound to right now.

The port is drawn at random from below the kernel's ephemeral range
(/proc/sys/net/ipv4/ip_local_port_range). Asking the kernel for port 0 would
hand out an ephemeral port, and between this check and the server's own bind
any outgoing connection on the machine (a Kafka client, say) can take that
same port; ports below the range are never handed to outgoing connections.
"""
import random
import socket


def main():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    lo, hi = (10000, low) if low > 12000 else (low, 65535)
    rnd = random.SystemRandom()
    for _ in range(500):
        port = rnd.randrange(lo, hi)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        print(port)
        return
    raise SystemExit("free_port: no free port found")


if __name__ == "__main__":
    main()
