"""A small SMTP server for the tests that can be told to refuse, hang or stall mid-message.

Threads on a private port; it keeps each accepted message's Message-ID. Modes:
- "ok": a plain SMTP server (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT);
- "refused": the port is closed (connections are refused);
- "hung": connections are accepted and never greeted (a wedged server);
- "stalls": greets and takes the envelope, then never acknowledges the message's data,
  so the client times out not knowing whether it was accepted (it was not).
"""

from __future__ import annotations

import re
import socket
import threading


class SMTPServer:
    def __init__(self):
        self.port = 0
        self.mode = "ok"
        self.message_ids: list[str] = []
        self.connections = 0
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self._open_sockets: list[socket.socket] = []
        self.listen()

    def listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def set_mode(self, mode: str) -> None:
        if mode == "refused" and self._listener is not None:
            # shutdown() first: close() alone leaves a socket that a thread is accepting
            # on listening (Linux keeps it open for that thread).
            self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        elif mode != "refused" and self._listener is None:
            self.listen()
        self.mode = mode

    def close(self) -> None:
        self.set_mode("refused")
        for sock in self._open_sockets:
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._open_sockets.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        with sock:
            if self.mode == "hung":
                sock.recv(1)  # holds the connection until the client gives up
                return
            file = sock.makefile("rb")

            def reply(line: str) -> None:
                sock.sendall(line.encode() + b"\r\n")

            try:
                reply("220 test SMTP")
                while line := file.readline():
                    verb = line.decode(errors="replace").strip().split(" ")[0].upper()
                    if verb in ("EHLO", "HELO"):
                        reply("250 test")
                    elif verb == "DATA":
                        reply("354 go on")
                        data = b""
                        while (chunk := file.readline()) not in (b".\r\n", b""):
                            data += chunk
                        if self.mode == "stalls":
                            sock.recv(1)
                            return
                        found = re.search(rb"^Message-ID: (\S+)", data, re.M | re.I)
                        with self._lock:
                            self.message_ids.append(found.group(1).decode() if found else "")
                        reply("250 queued")
                    elif verb == "QUIT":
                        reply("221 bye")
                        return
                    else:
                        reply("250 ok")
            except OSError:
                return
