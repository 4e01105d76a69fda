#!/usr/bin/env python3
"""Sample backend (stdlib only): /health reports the dependency settings it
received and whether it can reach them; /db opens a TCP connection to the
database port. An ERROR line can be requested for log tests."""
import argparse
import json
import os
import socket
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def reach(port):
    if not port:
        return None
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=2):
            return True
    except OSError:
        return False


def redis_ping(port):
    if not port:
        return None
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=2) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def migrated():
    """Whether `envctl migrate` ran on this worktree's database (asks psql;
    None without a database)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return None
    try:
        out = subprocess.run(
            ["psql", url, "-X", "-tAc", "SELECT count(*) FROM schema_migrations"],
            capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() not in ("", "0")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health" and os.environ.get("SAMPLE_FAIL_HEALTH"):
            # A broken app: it listens, but every health check fails.
            self.send_response(500)
            self.end_headers()
            return
        if self.path == "/health":
            body = {
                "pid": os.getpid(),
                "ok": True,
                "port": self.server.server_address[1],
                "DATABASE_URL": os.environ.get("DATABASE_URL"),
                "DB_PORT": os.environ.get("DB_PORT"),
                "REDIS_URL": os.environ.get("REDIS_URL"),
                "REDIS_PORT": os.environ.get("REDIS_PORT"),
                "APP_DB_URL": os.environ.get("APP_DB_URL"),
                "db_reachable": reach(os.environ.get("DB_PORT")),
                "redis_pong": redis_ping(os.environ.get("REDIS_PORT")),
            }
        elif self.path == "/migrated":
            body = {"migrated": migrated()}
        elif self.path == "/db":
            body = {"db_reachable": reach(os.environ.get("DB_PORT"))}
        elif self.path == "/traceback":
            import traceback
            try:
                raise ValueError("bad DATABASE_URL")
            except ValueError:
                traceback.print_exc(file=sys.stdout)
                sys.stdout.flush()
            body = {"logged": True}
        elif self.path == "/error":
            print("ERROR something went wrong in the backend", flush=True)
            body = {"logged": True}
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        print("backend: " + fmt % args, flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    if os.environ.get("SAMPLE_SPAWN_SLEEPER"):
        # A stray grandchild, for the teardown tests.
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    if os.environ.get("SAMPLE_SLOW_START"):
        # An app that takes a while to boot (migrations, imports).
        import time
        print("backend booting", flush=True)
        time.sleep(float(os.environ["SAMPLE_SLOW_START"]))
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"backend listening on {args.port}", flush=True)
    if os.environ.get("SAMPLE_EXIT_AFTER_LISTEN"):
        sys.exit("fatal: the app crashed right after binding its port")
    if os.environ.get("SAMPLE_DIE_AFTER"):
        # A service that crashes a while after it became healthy.
        import threading
        delay = float(os.environ["SAMPLE_DIE_AFTER"])
        threading.Timer(delay, lambda: (print("fatal: crashing now", flush=True), os._exit(3))).start()
    if os.environ.get("SAMPLE_PREFORK"):
        # Like gunicorn: the master binds, a forked worker serves.
        pid = os.fork()
        if pid == 0:
            srv.serve_forever()
            return
        print(f"backend master {os.getpid()} forked worker {pid}", flush=True)
        os.waitpid(pid, 0)
        return
    srv.serve_forever()


if __name__ == "__main__":
    main()
