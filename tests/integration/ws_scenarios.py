#!/usr/bin/python3
"""Websocket scenarios against a running parleyd, for rooms_test.cpp.

Runs under Debian's python3 with python3-websockets (a client Parley did not write). Prints one
JSON document with what each client received; the C++ test asserts on it. Every wait is bounded.

usage: ws_scenarios.py SCENARIO PORT TOKEN
"""
import asyncio
import base64
import json
import os
import socket
import struct
import sys

import websockets

TIMEOUT = 5.0


async def drain(ws, seconds=0.5):
    """Everything the server sends within `seconds`, as parsed JSON (server pings skipped)."""
    got = []
    deadline = asyncio.get_event_loop().time() + seconds
    try:
        while True:
            left = deadline - asyncio.get_event_loop().time()
            if left <= 0:
                break
            event = json.loads(await asyncio.wait_for(ws.recv(), left))
            if event.get("type") != "ping":
                got.append(event)
    except (asyncio.TimeoutError, websockets.ConnectionClosed):
        pass
    return got


def url(port, token, **query):
    q = "&".join(f"{k}={v}" for k, v in {"token": token, **query}.items())
    return f"ws://127.0.0.1:{port}/ws/voice?{q}"


async def rooms(port, token):
    room = "0b6f0d5e-9a3c-4f5e-8d2a-1c2b3a4d5e6f"
    out = {}
    async with websockets.connect(url(port, token, room_id=room, participant="candidate")) as a, \
            websockets.connect(url(port, token, room_id=room, participant="interviewer")) as b, \
            websockets.connect(url(port, token, room_id="not-a-uuid")) as c:
        out["a_join"] = await drain(a)
        out["b_join"] = await drain(b)
        out["c_join"] = await drain(c)
        await b.send(json.dumps({"type": "interviewer_question",
                                 "text": "Tell me about your last project"}))
        out["a_question"] = await drain(a)
        out["b_question"] = await drain(b)
        out["c_question"] = await drain(c)
        await a.send(json.dumps({"type": "sync_state_request"}))
        out["a_sync"] = await drain(a)
        await b.send(json.dumps({"type": "interviewer_question",
                                 "text": "tell me about your LAST project"}))
        await b.send(json.dumps({"type": "interviewer_question", "text": "Too short"}))
        await b.send(json.dumps({"type": "set_question"}))
        out["b_refused"] = await drain(b)
        out["a_after_refusals"] = await drain(a, 0.3)
    # A member who comes back finds the room's state.
    async with websockets.connect(url(port, token, room_id=room, participant="candidate")) as d:
        out["d_rejoin"] = await drain(d)
    print(json.dumps(out))


def raw_connect(port, token, query="", rcvbuf=None):
    """A websocket handshake by hand, for clients that must misbehave."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:  # a small window, so that a client that never reads backs up quickly
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(TIMEOUT)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws/voice?token={token}{query} HTTP/1.1\r\nHost: x\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            raise RuntimeError("closed during handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(head.decode())
    return s


def masked(opcode, payload, fin=True):
    mask = os.urandom(4)
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_for(s, seconds):
    """Reads (and discards) what arrives within `seconds`."""
    s.settimeout(seconds)
    try:
        while s.recv(65536):
            pass
    except socket.timeout:
        pass


def wait_closed(s, seconds=TIMEOUT):
    """Reads until the server closes the connection; returns the close code it sent, if any."""
    s.settimeout(seconds)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    # Find a close frame (server frames are unmasked).
    i = 0
    while i + 2 <= len(data):
        op, n = data[i] & 0x0F, data[i + 1] & 0x7F
        i += 2
        if n == 126:
            n = struct.unpack("!H", data[i:i + 2])[0]
            i += 2
        elif n == 127:
            n = struct.unpack("!Q", data[i:i + 8])[0]
            i += 8
        if op == 0x8:
            return struct.unpack("!H", data[i:i + 2])[0] if n >= 2 else 1005
        i += n
    return None


async def reasons(port, token):
    """Ends one session for each disconnect reason that can arise without transcription."""
    codes = {}
    # client_disconnect: a clean close handshake from the client.
    async with websockets.connect(url(port, token)) as ws:
        await drain(ws, 0.2)
    # stop_command
    async with websockets.connect(url(port, token)) as ws:
        await drain(ws, 0.2)
        await ws.send(json.dumps({"type": "stop"}))
        await drain(ws, 1.0)
        codes["stop_command"] = ws.close_code
    # receive_audio_error: a protocol violation (an unmasked frame)...
    s = raw_connect(port, token)
    s.sendall(bytes([0x82, 0x02, 0x00, 0x00]))
    codes["protocol_violation"] = wait_closed(s)
    s.close()
    # ...and a reset in the middle of a frame, once the join events are read (so that the server
    # has nothing to write when the reset comes).
    s = raw_connect(port, token)
    read_for(s, 0.3)
    s.sendall(masked(0x2, b"\x00" * 1000)[:200])
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    # other: a message over ws.max_message_bytes.
    s = raw_connect(port, token)
    s.sendall(masked(0x1, b"x" * 5000))
    codes["too_big"] = wait_closed(s)
    s.close()
    # socket_closed: a client that never answers the server's pings.
    s = raw_connect(port, token)
    codes["idle"] = wait_closed(s, 10)
    s.close()
    print(json.dumps(codes))


async def flood(port, token):
    """One healthy member and many that never read, in one room, while the room is flooded."""
    room = "6f1d2c3b-4a59-4e8d-9c7b-a1b2c3d4e5f6"
    sleepers = [raw_connect(port, token, f"&room_id={room}", rcvbuf=4096)
                for _ in range(int(sys.argv[4]))]
    received = 0
    async with websockets.connect(url(port, token, room_id=room, participant="interviewer"),
                                  max_queue=None) as healthy:
        await drain(healthy, 0.3)
        # The healthy member reads as it goes: each question, then its broadcast, then the next.
        deadline = asyncio.get_event_loop().time() + 60
        for i in range(int(sys.argv[5])):
            if asyncio.get_event_loop().time() > deadline:
                break
            await healthy.send(json.dumps({"type": "set_question",
                                           "question": f"Question number {i} for the whole room"}))
            while True:
                try:
                    event = json.loads(await asyncio.wait_for(healthy.recv(), TIMEOUT))
                except asyncio.TimeoutError:
                    break
                if event.get("type") == "interviewer_question":
                    received += 1
                    break
    for s in sleepers:
        s.close()
    print(json.dumps({"received": received}))


SCENARIOS = {"rooms": rooms, "reasons": reasons, "flood": flood}

if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[1]](int(sys.argv[2]), sys.argv[3]))
