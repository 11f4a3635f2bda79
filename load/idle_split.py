#!/usr/bin/env python3
"""Splits the server's memory per idle WebSocket connection by what the connection did.

Usage: idle_split.py PORT SERVER_PID N MODE, against a freshly started kato-server whose
KATO_JWT_SECRET is the test secret below and with KATO_DEV_ECHO=true. MODE: `tcp` (accepted,
nothing sent), `http` (one keep-alive GET /health/live), `echo` (bare
/dev/echo upgrade, nothing exchanged), `echoframe` (one 60-byte frame echoed), `auth`
(authenticated /v2/ws upgrade, no frame), `ping` (authenticated, one `ping`), `hello`
(authenticated, `hello` creating a session). Prints the server's RSS growth per connection.
Loopback only; a measurement aid for README "Benchmarks", not a test.
"""
import socket, base64, os, sys, time, json, hmac, hashlib, struct
port=int(sys.argv[1]); pid=int(sys.argv[2]); n=int(sys.argv[3]); mode=sys.argv[4]
secret=b"0123456789abcdef0123456789abcdef"  # the server's KATO_JWT_SECRET
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def token(sub):
    h=b64(json.dumps({"alg":"HS256","typ":"JWT"}).encode()); p=b64(json.dumps({"sub":sub,"exp":int(time.time())+3600}).encode())
    sig=b64(hmac.new(secret,f"{h}.{p}".encode(),hashlib.sha256).digest()); return f"{h}.{p}.{sig}"
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1])*1024
def frame(text):
    data=text.encode(); mask=os.urandom(4); hdr=bytes([0x81])
    if len(data)<126: hdr+=bytes([0x80|len(data)])
    else: hdr+=bytes([0x80|126])+struct.pack(">H",len(data))
    return hdr+mask+bytes(b^mask[i%4] for i,b in enumerate(data))
socks=[]
before=rss()
for i in range(n):
    s=socket.create_connection(("127.0.0.1", port))  # loopback only
    key=base64.b64encode(os.urandom(16)).decode()
    path="/dev/echo" if mode=="echo" else "/v2/ws"
    auth="" if mode=="echo" else f"Authorization: Bearer {token('u%d'%i)}\r\n"
    if mode == "http":
        s.send(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"); s.recv(4096); socks.append(s); continue
    if mode == "tcp":
        socks.append(s); continue
    s.send(f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{auth}\r\n".encode())
    r=s.recv(4096)
    if mode in ("hello","ping","echoframe"):
        msg={"hello":json.dumps({"type":"hello","id":1,"node_id":"n"}),"ping":json.dumps({"type":"ping","id":1}),"echoframe":"x"*60}[mode]
        s.send(frame(msg)); s.recv(65536)
    socks.append(s)
time.sleep(3)
after=rss()
print(mode, "per conn", (after-before)//n, "bytes")
