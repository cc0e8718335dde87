#!/usr/bin/python3
"""A server that accepts TCP connections on 127.0.0.1:PORT and never answers:
a hung dependency (e.g. a Schema Registry that stopped responding), as
opposed to one that is down (connection refused).

usage: black_hole.py PORT
"""
import socket
import sys


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen(64)
    held = []
    while True:
        conn, _ = s.accept()
        held.append(conn)  # kept open, never read from or written to


if __name__ == "__main__":
    main()
