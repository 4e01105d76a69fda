#!/usr/bin/env python3
"""Sample frontend (stdlib only): serves a page and reports the backend URL
it was given."""
import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        backend = os.environ.get("VITE_BACKEND_URL")
        if self.path == "/health":
            data = json.dumps({"ok": True, "VITE_BACKEND_URL": backend}).encode()
            ctype = "application/json"
        else:
            data = f"<html><body>backend: {backend}</body></html>".encode()
            ctype = "text/html"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        print("frontend: " + fmt % args, flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"frontend listening on {args.port}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
