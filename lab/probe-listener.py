"""A TCP listener for the lab's NetworkPolicy probes: accepts on ADDRESS at each PORT and answers
"reached <port>" to every connection, so a probe tells a real connection from a refused or dropped one.
Runs inside the lab's "outside world" network namespace (lab/node.sh), or in a probe pod.
    python3 probe-listener.py ADDRESS PORT [PORT ...]
"""
import selectors
import socket
import sys


def main() -> None:
    address, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
    sel = selectors.DefaultSelector()
    for port in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address, port))
        s.listen(64)
        sel.register(s, selectors.EVENT_READ, port)
    print(f"listening on {address} ports {ports}", flush=True)
    while True:
        for key, _ in sel.select():
            conn, _ = key.fileobj.accept()
            try:
                conn.sendall(f"reached {key.data}\n".encode())
            except OSError:
                pass
            finally:
                conn.close()


if __name__ == "__main__":
    main()
